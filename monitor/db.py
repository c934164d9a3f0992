"""The SQLAlchemy engine for the two supported databases (DESIGN 6): SQLite and PostgreSQL.

SQLite is tuned for one writer and many readers: WAL lets the report read while an import writes;
busy_timeout makes a second writer wait instead of failing; BEGIN IMMEDIATE takes the write lock at the
start of a transaction, so two writers never deadlock upgrading from a read lock. On PostgreSQL a
writing transaction takes a transaction-level advisory lock instead (`write_lock`), so concurrent
imports give the sequential result there too. Any other backend is refused at start with one line.

`open_engine` also brings an empty database to the current schema and refuses an outdated one
(monitor/schema.py, Alembic); connection problems (refused, wrong password, missing database,
missing driver) become one-line `DatabaseError`s.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from monitor.errors import DatabaseError

# Alembic (monitor/schema.py) says what it runs at INFO; our commands say what they did themselves.
logging.getLogger("alembic").setLevel(logging.WARNING)

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024  # page cache per connection: big imports keep their indexes in memory
CONNECT_TIMEOUT_S = 10

# Advisory lock keys (PostgreSQL): one 64-bit number per purpose, the same in every process.
LOCK_SCHEMA = 0x63616D7001  # creating or upgrading the schema, writing the settings row
LOCK_WRITE = 0x63616D7002  # one writing transaction at a time (as SQLite's BEGIN IMMEDIATE)
LOCK_RUN = 0x63616D7003  # one `campaign-monitor run` per database (session lock, monitor/lock.py)

SUPPORTED_HINT = "use sqlite:///data/monitor.db or postgresql://USER@HOST/DATABASE (see docs/deployment.md)"


def database_url(url: str) -> URL:
    """The parsed URL of a supported database, with the driver this project installs for it:
    `postgresql://` means psycopg 3 on every SQLAlchemy version. Anything else is refused."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise DatabaseError(f"[storage] url {url!r} is not a database URL ({SUPPORTED_HINT})") from None
    backend, driver = parsed.get_backend_name(), parsed.drivername.partition("+")[2]
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend == "postgresql" and driver in ("", "psycopg"):
        if importlib.util.find_spec("psycopg") is None:
            raise DatabaseError(
                "PostgreSQL needs its driver: pip install 'campaign-monitor[postgresql]' (psycopg 3)"
            )
        return parsed.set(drivername="postgresql+psycopg")
    raise DatabaseError(
        f"[storage] url: {parsed.drivername} is not supported: SQLite and PostgreSQL (psycopg 3) are "
        f"({SUPPORTED_HINT})"
    )


def open_engine(url: str, create: bool = True) -> Engine:
    """An engine for `url`. With `create`, an empty database gets the current schema and an outdated
    one is refused (`campaign-monitor db upgrade` brings it up); without it nothing is checked."""
    parsed = database_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    # A plain file path gets its folder; a "file:...?uri=true" URI is SQLite's to resolve (making
    # its folder here would leave a "file:" folder in the working directory).
    path = parsed.database if is_sqlite else None
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = (
        {"timeout": BUSY_TIMEOUT_MS / 1000} if is_sqlite else {"connect_timeout": CONNECT_TIMEOUT_S}
    )
    engine = create_engine(parsed, connect_args=connect_args)
    if is_sqlite:
        _tune_sqlite(engine)
    else:
        _tune_postgresql(engine)
    if create:
        from monitor.schema import ensure_schema

        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
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


def _tune_postgresql(engine: Engine) -> None:
    from psycopg.types.numeric import NumericLoader

    class WholeNumbers(NumericLoader):
        """sum() of bigint counts is numeric on PostgreSQL: a whole number comes back as an int (as
        on SQLite), so the report's numbers and formats are the same on both."""

        def load(self, data: Any) -> Any:
            raw = bytes(data)
            if raw.lstrip(b"-").isdigit():
                return int(raw)
            return super().load(data)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.adapters.register_loader("numeric", WholeNumbers)


def readonly(engine: Engine) -> Engine:
    """The same engine, beginning deferred transactions: for queries that only read."""
    return engine.execution_options(readonly=True)


def is_postgresql(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "postgresql"


def write_lock(conn: Connection, key: int = LOCK_WRITE) -> None:
    """Serialise this transaction with the other writers holding `key` (PostgreSQL; SQLite already
    did at BEGIN IMMEDIATE). Released at commit or rollback."""
    if is_postgresql(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")


def where(url: str | URL) -> str:
    """The database as a message names it: the URL without its password."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


_CONNECTION_PROBLEMS = (
    (re.compile(r"connection refused|could not connect|no such file or directory.*socket", re.I | re.S),
     "the server refused the connection: check that PostgreSQL runs and the host and port in the URL"),
    (re.compile(r"password authentication failed|no password supplied|authentication failed", re.I),
     "the server refused the user or password: check them in the URL (or ~/.pgpass)"),
    (re.compile(r'database "[^"]*" does not exist', re.I),
     "the database does not exist: create it first (createdb, see docs/deployment.md)"),
    (re.compile(r"role \"[^\"]*\" does not exist", re.I),
     "the user does not exist on the server: create the role first (see docs/deployment.md)"),
    (re.compile(r"could not translate host name|name or service not known|nodename nor servname", re.I),
     "the host name does not resolve: check the host in the URL"),
    (re.compile(r"timeout expired|timed out", re.I),
     "the server did not answer in time: check the host, the port and the firewall"),
)  # fmt: skip


# SQLITE_CORRUPT: a file cut short (a full disk, a copy made while `run` wrote) or overwritten.
_DAMAGED_FILE = re.compile(r"database disk image is malformed", re.I)


def connection_error(error: exc.DBAPIError, url: str | URL) -> DatabaseError | None:
    """A one-line DatabaseError for a failure to reach the database or a damaged SQLite file, or None
    for other errors."""
    text = str(error.orig) if error.orig is not None else str(error)
    if isinstance(error, exc.DatabaseError) and _DAMAGED_FILE.search(text):
        return DatabaseError(
            f"the database {where(url)} is damaged ({text.strip()}): put back the last copy of the file "
            "(see docs/deployment.md), or save what is left into a new file with "
            "`sqlite3 OLD.db .recover | sqlite3 NEW.db` and point [storage] url at it"
        )
    if not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return None
    for pattern, advice in _CONNECTION_PROBLEMS:
        if pattern.search(text):
            return DatabaseError(f"cannot open the database {where(url)}: {advice}")
    if isinstance(error, exc.OperationalError) and getattr(error, "connection_invalidated", False):
        first = text.strip().splitlines()[0] if text.strip() else "connection lost"
        return DatabaseError(f"lost the database {where(url)}: {first}")
    return None


def check_time_zone(engine: Engine, path: Path, time_zone: str) -> None:
    """Posts keep the local day they were given at import: refuse a database whose days were
    computed in another zone than campaign.timezone (a silent mix would shift whole days).
    Safe when several processes start on an empty database at once: the first row written wins."""
    from sqlalchemy import select

    from monitor.errors import ConfigError
    from monitor.models import Setting
    from monitor.store import upsert_into

    with engine.begin() as conn:
        stored = conn.execute(select(Setting.value).where(Setting.key == "campaign.timezone")).scalar()
        if stored is None:
            conn.execute(
                upsert_into(conn, Setting.__table__)  # type: ignore[arg-type]
                .values(key="campaign.timezone", value=time_zone)
                .on_conflict_do_nothing()
            )
            stored = conn.execute(select(Setting.value).where(Setting.key == "campaign.timezone")).scalar()
    if stored != time_zone:
        raise ConfigError(
            path,
            "campaign.timezone",
            f"is {time_zone!r} but the database's local days were computed in {stored!r}",
            "set it back, or point [storage] url at a new database and import the exports again",
        )
