"""Draw the report's files in parallel processes: each chart (and the PDF, and the workbook) is one
job, a module-level function and its arguments (small aggregated frames), run by a pool of worker
processes that is started once and kept for the life of the process (the scheduler builds a report
every day; a benchmark builds several). The workers come from a fork server that has already
imported matplotlib and pandas and loaded the fonts, so a job starts drawing at once.

CAMPAIGN_MONITOR_REPORT_WORKERS=1 draws everything in this process (also the fallback on a machine
with one core, or where processes cannot be started).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
WORKERS_ENV = "CAMPAIGN_MONITOR_REPORT_WORKERS"
PRELOAD = ["reports.warmup"]
DRAWING_NICENESS = 10
_pool: Executor | None = None
_pool_size = 0


@dataclass(frozen=True)
class ChartJob:
    """One file to draw: `draw(*args)` returns the path it wrote. `draw` must be a module-level
    function and `args` picklable (they travel to a worker process)."""

    draw: Callable[..., Path]
    args: tuple[Any, ...]


def workers_wanted() -> int:
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    return max(1, min(os.cpu_count() or 1, 4))


def _executor(size: int) -> Executor:
    global _pool, _pool_size
    if _pool is None or _pool_size < size:
        if _pool is not None:
            _pool.shutdown(wait=True)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _pool = ProcessPoolExecutor(
            max_workers=size, mp_context=context, initializer=_lower_priority, initargs=(DRAWING_NICENESS,)
        )
        _pool_size = size
    return _pool


def _lower_priority(niceness: int) -> None:
    # The report's queries are its critical path (each chart waits for its numbers): the workers
    # draw at a lower priority, so on a small machine the database keeps a whole core.
    with contextlib.suppress(OSError):  # not allowed here: draw at the same priority
        os.nice(niceness)


def shutdown() -> None:
    """Stop the worker processes (also done at exit)."""
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_size = None, 0


atexit.register(shutdown)


class Drawing:
    """Jobs handed to the worker processes (or drawn at once, in this process): `paths()` waits for
    them, so the report can go on with its queries while the charts are drawn. A report starts one
    Drawing for each group of files as soon as their numbers are in; all share one pool."""

    def __init__(self, jobs: Sequence[ChartJob]) -> None:
        self._futures: list[Future[Path]] = []
        self._paths: list[Path] = []
        size = workers_wanted()
        if size > 1:
            try:
                pool = _executor(size)
                self._futures = [pool.submit(job.draw, *job.args) for job in jobs]
                return
            except (OSError, RuntimeError) as exc:  # no processes here (a sandbox, a broken pool)
                log.warning("drawing the report in one process (%s)", exc)
                shutdown()
                self._futures = []
        self._paths = [job.draw(*job.args) for job in jobs]

    def wait(self) -> None:
        """Wait until no job is running any more, whatever their outcome (for a build that failed)."""
        for future in self._futures:
            future.cancel()
        wait(self._futures)

    def paths(self) -> list[Path]:
        """The jobs' paths in the jobs' order. An error in a job is raised here."""
        return [future.result() for future in self._futures] if self._futures else self._paths
