"""One `run` process per database.

SQLite: an exclusive flock on a file beside the database. PostgreSQL: a session advisory lock in the
database itself, so it holds whatever folder or machine a second `run` starts from; the holder's pid
and host are written beside it (the `settings` row `run.holder`) for the message and for `status`.
The kernel drops a flock when its process dies, and PostgreSQL drops a session lock when its
connection ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import socket
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from monitor.config import Config
from monitor.db import LOCK_RUN, database_url, where
from monitor.errors import AlreadyRunning

HOLDER_KEY = "run.holder"


def holder_text() -> str:
    """How a message names this process: `4242 on web-1`."""
    return f"{os.getpid()} on {socket.gethostname()}"


def run_lock(config: Config) -> RunLock | DatabaseRunLock:
    """The lock `run` (and `collect`, `run --once`) hold for the database of `config`."""
    if database_url(config.storage.url).get_backend_name() == "postgresql":
        return DatabaseRunLock(config.storage.url)
    return RunLock(lock_path(config))


def lock_path(config: Config) -> Path:
    """`<database>.lock` for SQLite files; for server databases a file named after the URL's hash."""
    url = make_url(config.storage.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".lock")
    digest = hashlib.sha256(config.storage.url.encode()).hexdigest()[:12]
    return config.base_dir / f".campaign-monitor-{digest}.lock"


class HeldLock(ABC):
    """What both run locks share: `with lock:` acquires it (AlreadyRunning when another process
    holds it) and releases it at the end of the block, whatever ends the block."""

    @abstractmethod
    def acquire(self) -> None: ...

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class RunLock(HeldLock):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another `campaign-monitor run` (pid {holder}) holds {self.path}; "
                "stop it first, or run this one against another database",
                pid=holder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder_text()}\n".encode(), 0)
        self._fd = fd

    def holder(self) -> str | None:
        """The pid of the process holding the lock, or None when it is free (checked, not taken)."""
        if not self.path.exists():
            return None
        try:
            self.acquire()
        except AlreadyRunning as exc:
            return exc.pid
        self.release()
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class DatabaseRunLock(HeldLock):
    """The run lock as a PostgreSQL session advisory lock, held on a connection of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def _connect(self) -> Connection:
        from monitor.db import open_engine

        if self._engine is None:
            self._engine = open_engine(self.url)
        return self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @staticmethod
    def _recorded_holder(conn: Connection) -> str:
        query = "SELECT value FROM settings WHERE key = %(k)s"
        value = conn.exec_driver_sql(query, {"k": HOLDER_KEY}).scalar()
        return str(value) if value else "unknown"

    def acquire(self) -> None:
        conn = self._connect()
        try:
            if not conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_RUN})").scalar():
                holder = self._recorded_holder(conn)
                raise AlreadyRunning(
                    f"another `campaign-monitor run` (pid {holder}) holds the run lock of {where(self.url)}; "
                    "stop it first, or run this one against another database",
                    pid=holder,
                )
            since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            conn.exec_driver_sql(
                "INSERT INTO settings (key, value) VALUES (%(k)s, %(v)s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"k": HOLDER_KEY, "v": f"{holder_text()}, since {since}"},
            )
        except BaseException:
            conn.close()
            self._close()
            raise
        self._conn = conn

    def holder(self) -> str | None:
        """Who holds the lock (`pid on host, since ...`), or None: read from pg_locks, never taken."""
        conn = self._connect()
        try:
            held = conn.exec_driver_sql(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid = %(high)s AND objid = %(low)s AND objsubid = 1",
                _key_parts(LOCK_RUN),
            ).first()
            return self._recorded_holder(conn) if held else None
        finally:
            conn.close()
            self._close()

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("DELETE FROM settings WHERE key = %(k)s", {"k": HOLDER_KEY})
                self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_RUN})")
            finally:
                self._conn.close()
                self._conn = None
                self._close()


def _key_parts(key: int) -> dict[str, Any]:
    """A bigint advisory key as pg_locks shows it: high 32 bits in classid, low 32 bits in objid."""
    return {"high": key >> 32, "low": key & 0xFFFFFFFF}
