"""The PostgreSQL bulk path of store.upsert_posts (DESIGN 7): one batch is a few statements, not a
statement per row.

    COPY the batch into a temporary table (dropped at commit)
    SELECT what is stored of those posts (one join: the old metrics decide new/updated/unchanged)
    INSERT INTO posts SELECT ... FROM the batch ON CONFLICT (platform, post_key) DO UPDATE ... RETURNING id
    COPY tags into a second temporary table, INSERT ... SELECT ... ON CONFLICT DO NOTHING
    COPY metric snapshots straight into metric_snapshots

The ON CONFLICT rule (`upsert_set`) is the one store.py gives the SQLite path too, so a change of the
rule (e.g. which observation wins) is made once, there. The temporary table is ANALYZEd before the
join, and `refresh_statistics` ANALYZEs the tables after a large import, so the key lookups use the
indexes from the first batch on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

BATCH_TABLE = "campaign_monitor_batch"
TAGS_TABLE = "campaign_monitor_batch_tags"
Key = tuple[str, str]


def _raw(conn: Connection) -> Any:
    """The psycopg connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with _raw(conn).cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def upsert_posts(
    conn: Connection,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    upsert_set: str,
    metrics: Sequence[str],
) -> tuple[dict[Key, tuple[int, tuple[int | None, ...], int | None, Any]], dict[Key, int]]:
    """Upsert `rows` (values in `columns` order, naive UTC times) into posts. Returns what was stored
    before, (platform, post_key) -> (id, metrics, last_run_id, observed_at as naive UTC), and the id of
    every post of the batch."""
    names = ", ".join(columns)
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {BATCH_TABLE} ON COMMIT DROP AS SELECT {names} FROM posts WITH NO DATA"
    )
    _copy(conn, BATCH_TABLE, columns, rows)
    conn.exec_driver_sql(f"ANALYZE {BATCH_TABLE}")
    old_metrics = ", ".join(f"p.{m}" for m in metrics)
    stored: dict[Key, tuple[int, tuple[int | None, ...], int | None, Any]] = {}
    for platform, key, post_id, last_run_id, observed_at, *values in conn.exec_driver_sql(
        f"SELECT b.platform, b.post_key, p.id, p.last_run_id, coalesce(p.observed_at, p.last_seen_at),"
        f" {old_metrics} FROM {BATCH_TABLE} b"
        " JOIN posts p ON p.platform = b.platform AND p.post_key = b.post_key"
    ):
        stored[(platform, key)] = (post_id, tuple(values), last_run_id, observed_at)
    ids = {
        (platform, key): post_id
        for platform, key, post_id in conn.exec_driver_sql(
            f"INSERT INTO posts ({names}) SELECT {names} FROM {BATCH_TABLE} {upsert_set}"
            " RETURNING platform, post_key, id"
        )
    }
    return stored, ids


def add_tags(conn: Connection, tag_rows: Sequence[tuple[int, str]]) -> None:
    if not tag_rows:
        return
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {TAGS_TABLE} ON COMMIT DROP AS SELECT post_id, tag FROM post_hashtags"
        " WITH NO DATA"
    )
    _copy(conn, TAGS_TABLE, ("post_id", "tag"), tag_rows)
    conn.exec_driver_sql(
        f"INSERT INTO post_hashtags (post_id, tag) SELECT post_id, tag FROM {TAGS_TABLE}"
        " ON CONFLICT DO NOTHING"
    )


def add_snapshots(conn: Connection, columns: Sequence[str], snapshot_rows: Sequence[Sequence[Any]]) -> None:
    if snapshot_rows:
        _copy(conn, "metric_snapshots", columns, snapshot_rows)


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE the tables an import fills, so the planner knows their size (PostgreSQL's autovacuum
    would, but only later: a big first import otherwise plans its lookups for an empty table)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE posts, post_hashtags, metric_snapshots")
