"""Which process owns each `running` row of collection_runs, so a dead one can be told from a live one.

A process that starts a run takes an exclusive flock on `<database>.runs/<run id>.lock` and keeps it
until the run finishes. The kernel drops a flock when its process dies (also on `kill -9`), so the
next command that writes (`start_run`: an import, a collect pass, a job of `run`) can try each lock:
one it can take belonged to a process that is gone, and its run is marked `interrupted`. `status`
therefore never shows a dead run as `running` for ever, also for teams that never use `run`.

Only SQLite files have a folder to keep the locks in; runs in a server database (PostgreSQL) are
left to `run`'s own start-up sweep of its jobs (docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Engine, Table, update

log = logging.getLogger(__name__)

_held: dict[tuple[str, int], int] = {}  # (folder, run id) -> the open, locked descriptor


def owners_folder(engine: Engine) -> Path | None:
    """`<database>.runs/` beside a SQLite file; None for other databases and in-memory SQLite."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database + ".runs")


def hold(engine: Engine, run_id: int) -> None:
    """Mark this process as the owner of `run_id` until `release` (or its death)."""
    folder = owners_folder(engine)
    if folder is None:
        return
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / f"{run_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only folder: the run still works, it just cannot be swept
        log.debug("run %d: no owner lock (%s)", run_id, exc)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[(str(folder), run_id)] = fd


def release(engine: Engine, run_id: int) -> None:
    """The run finished: drop its lock file."""
    folder = owners_folder(engine)
    if folder is None:
        return
    fd = _held.pop((str(folder), run_id), None)
    if fd is None:
        return
    with contextlib.suppress(OSError):
        (folder / f"{run_id}.lock").unlink()
    os.close(fd)


def sweep(engine: Engine, runs: Table, now: dt.datetime) -> int:
    """Mark `interrupted` the running runs whose owner process is gone; returns how many."""
    folder = owners_folder(engine)
    if folder is None or not folder.is_dir():
        return 0
    dead: list[int] = []
    for lock in folder.glob("*.lock"):
        try:
            run_id = int(lock.stem)
        except ValueError:
            continue
        if (str(folder), run_id) in _held:
            continue  # ours, still running
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live process holds it
        else:
            dead.append(run_id)
            with contextlib.suppress(OSError):
                lock.unlink()
        finally:
            os.close(fd)
    if not dead:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(runs)
            .where(runs.c.id.in_(dead), runs.c.status == "running")
            .values(status="interrupted", finished_at=now, error="the process died before the run finished")
        )
    count = int(result.rowcount or 0)
    if count:
        log.info("%d run(s) of a process that died were marked interrupted", count)
    return count
