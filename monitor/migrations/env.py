"""Alembic environment: runs on the connection monitor/schema.py hands over (config.attributes), or,
for `alembic` itself, on the URL given with `-x url=...` or $CAMPAIGN_MONITOR_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from monitor.models import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from monitor.db import open_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "CAMPAIGN_MONITOR_DATABASE_URL", ""
    )
    if not url:
        raise SystemExit(
            "give the database: alembic -x url=sqlite:///path.db ... (or CAMPAIGN_MONITOR_DATABASE_URL)"
        )
    engine = open_engine(url, create=False)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
