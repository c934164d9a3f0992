"""One `run` process per database: an exclusive flock on a file beside the database.

The kernel drops a flock when its process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import make_url

from monitor.config import Config
from monitor.errors import AlreadyRunning


def lock_path(config: Config) -> Path:
    """`<database>.lock` for SQLite files; for server databases a file named after the URL's hash."""
    url = make_url(config.storage.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".lock")
    digest = hashlib.sha256(config.storage.url.encode()).hexdigest()[:12]
    return config.base_dir / f".campaign-monitor-{digest}.lock"


class RunLock:
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
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
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

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
