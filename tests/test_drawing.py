"""reports.drawing: the report's files drawn in worker processes, in order, and waited for."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reports import drawing
from reports.drawing import ChartJob, Drawing


def slow_write(path: Path, seconds: float) -> Path:
    """A job (module-level, so a worker process can run it): waits, then writes its file."""
    time.sleep(seconds)
    path.write_text(f"drawn by {path.name}", encoding="utf-8")
    return path


@pytest.fixture
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(drawing.WORKERS_ENV, "2")


def test_paths_come_back_in_the_jobs_order(tmp_path: Path, two_workers: None) -> None:
    # The first job is the slowest: it still comes first.
    jobs = [ChartJob(slow_write, (tmp_path / f"{i}.txt", seconds)) for i, seconds in enumerate([0.4, 0, 0.1])]
    assert Drawing(jobs).paths() == [tmp_path / "0.txt", tmp_path / "1.txt", tmp_path / "2.txt"]
    assert (tmp_path / "0.txt").read_text(encoding="utf-8") == "drawn by 0.txt"


def test_a_drawing_goes_on_while_the_caller_works_and_wait_leaves_no_job_running(
    tmp_path: Path, two_workers: None
) -> None:
    slow, quick = tmp_path / "slow.txt", tmp_path / "quick.txt"
    pending = Drawing([ChartJob(slow_write, (slow, 1.0)), ChartJob(slow_write, (quick, 0))])
    assert not slow.exists()  # handed to a worker, not drawn here first
    pending.wait()  # what a failed build does before its folder is removed
    # Each job either ran to its end or was cancelled before it started: nothing is written later.
    seen = {path: path.exists() for path in (slow, quick)}
    time.sleep(1.5)
    assert {path: path.exists() for path in (slow, quick)} == seen


def test_one_worker_draws_in_this_process_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(drawing.WORKERS_ENV, "1")
    target = tmp_path / "inline.txt"
    pending = Drawing([ChartJob(slow_write, (target, 0))])
    assert target.exists()  # already drawn, before anyone asks
    assert pending.paths() == [target]


def test_an_error_in_a_job_is_raised_by_paths(tmp_path: Path, two_workers: None) -> None:
    jobs = [
        ChartJob(slow_write, (tmp_path / "missing" / "x.txt", 0)),
        ChartJob(slow_write, (tmp_path / "y", 0)),
    ]
    pending = Drawing(jobs)
    with pytest.raises(FileNotFoundError):
        pending.paths()


def write_niceness(path: Path) -> Path:
    path.write_text(str(os.nice(0)), encoding="utf-8")
    return path


def test_workers_draw_at_a_lower_priority_than_the_queries(tmp_path: Path, two_workers: None) -> None:
    # The report's queries are its critical path: on a small machine they keep their core.
    (drawn,) = Drawing([ChartJob(write_niceness, (tmp_path / "nice.txt",))]).paths()
    assert int(drawn.read_text(encoding="utf-8")) >= os.nice(0) + min(
        drawing.DRAWING_NICENESS, 19 - os.nice(0)
    )
