"""The SQLAlchemy engine: SQLite tuned for one writer and many readers (DESIGN 6).

WAL lets the report read while an import writes; busy_timeout makes a second writer wait instead of
failing; BEGIN IMMEDIATE takes the write lock at the start of a transaction, so two writers never
deadlock upgrading from a read lock. Any other SQLAlchemy URL works unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from monitor.models import Base

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024  # page cache per connection: big imports keep their indexes in memory


def open_engine(url: str, create: bool = True) -> Engine:
    """An engine for `url`; creates the SQLite folder and the schema when missing."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000} if is_sqlite else {})
    if is_sqlite:
        _tune_sqlite(engine)
    if create:
        from monitor.schema_patch import add_missing_columns

        Base.metadata.create_all(engine)
        add_missing_columns(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (pysqlite recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers (reports) pass execution_options(readonly=True) and do not take the write lock.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")


def readonly(engine: Engine) -> Engine:
    """The same engine, beginning deferred transactions: for queries that only read."""
    return engine.execution_options(readonly=True)


def check_time_zone(engine: Engine, path: Path, time_zone: str) -> None:
    """Posts keep the local day they were given at import: refuse a database whose days were
    computed in another zone than campaign.timezone (a silent mix would shift whole days)."""
    from sqlalchemy import insert, select

    from monitor.errors import ConfigError
    from monitor.models import Setting

    with engine.begin() as conn:
        stored = conn.execute(select(Setting.value).where(Setting.key == "campaign.timezone")).scalar()
        if stored is None:
            conn.execute(insert(Setting).values(key="campaign.timezone", value=time_zone))
        elif stored != time_zone:
            raise ConfigError(
                path,
                "campaign.timezone",
                f"is {time_zone!r} but the database's local days were computed in {stored!r}",
                "set it back, or point [storage] url at a new database and import the exports again",
            )
