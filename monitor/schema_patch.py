"""Columns added to existing tables after a database was first created (create_all adds tables only).

Until the schema goes through Alembic revisions, a database made by an earlier release gains the new
nullable columns here, once, at open. Each entry is (table, column, SQL type); adding one is safe for
old rows (NULL) and for code that does not know it.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

NEW_COLUMNS = (("vote_reminders", "planned_at", "TIMESTAMP"),)


def add_missing_columns(engine: Engine) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each NEW_COLUMNS entry the database lacks; returns what it added."""
    added: list[str] = []
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    for table, column, sql_type in NEW_COLUMNS:
        if table not in tables:
            continue
        if column in {c["name"] for c in inspector.get_columns(table)}:
            continue
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
        added.append(f"{table}.{column}")
    return added
