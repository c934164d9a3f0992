"""Alembic environment: runs on the connection that monitor/schema.py or `python -m monitor.migrations`
hands over in config.attributes (inside their transaction and lock)."""

from __future__ import annotations

from alembic import context

from monitor.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit(
        "run migrations with `campaign-monitor db upgrade`, and make revisions with "
        '`python -m monitor.migrations revision "what changed"` (see monitor/migrations/README.md)'
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
