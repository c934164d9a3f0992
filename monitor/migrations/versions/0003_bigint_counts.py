"""metric counts as bigint on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Counts up to 10^12 are valid (the import's bound), beyond PostgreSQL's integer. SQLite's INTEGER is
64-bit already, so nothing changes there (and its tables are not copied).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("likes", "comments", "shares", "views")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("posts", "metric_snapshots"):
        for column in COUNTS:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("posts", "metric_snapshots"):
        for column in COUNTS:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
