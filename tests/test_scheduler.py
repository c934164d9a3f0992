"""`campaign-monitor run`: jobs from config, the inbox, catch-up, the lock, a clean stop."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.config import load_config
from monitor.db import open_engine
from monitor.errors import AlreadyRunning
from monitor.inbox import Inbox
from monitor.lock import RunLock, lock_path
from monitor.models import CollectionRun, ImportedFile, Post, VoteReminder
from monitor.scheduler import (
    JOB_ALERTS,
    JOB_DIGEST,
    JOB_DIGEST_RETRY,
    JOB_INBOX,
    JOB_REMINDER,
    JOB_REMINDER_RETRY,
    JOB_REPORT,
    RETRY_MINUTES,
    Jobs,
    Runner,
    build_scheduler,
    job_statuses,
)

EXPORT = Path(__file__).parent / "data" / "scheduler" / "crowdtangle_two_posts.csv"
WIB = dt.timezone(dt.timedelta(hours=7))


def calendar_at(config, *args: int) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(dt.datetime(*args, tzinfo=WIB)))  # type: ignore[misc]


def job_runs(engine, name: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(CollectionRun.status)
                .where(CollectionRun.source == f"job:{name}")
                .order_by(CollectionRun.id)
            ).scalars()
        )


def test_jobs_come_from_config(write_config) -> None:
    cfg = load_config(
        write_config(
            '[reminders]\nat = "06:45"\n[reports]\ndaily_at = "22:00"\n[sources.inbox]\nevery_minutes = 2\n'
            "[sources.twitter]\nenabled = true\nevery_minutes = 15\n"
            '[digest]\nat = "07:40"\n'
        )
    )
    engine = open_engine(cfg.storage.url)
    scheduler = build_scheduler(cfg, Jobs(cfg, engine, CampaignCalendar(cfg.campaign)))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        JOB_INBOX,
        "collect-twitter",
        JOB_REMINDER,
        JOB_REMINDER_RETRY,
        JOB_REPORT,
        JOB_DIGEST,
        JOB_DIGEST_RETRY,
        JOB_ALERTS,
    }
    digest = jobs[JOB_DIGEST]
    assert "hour='7'" in str(digest.trigger) and "minute='40'" in str(digest.trigger)
    assert jobs[JOB_DIGEST_RETRY].trigger.interval == dt.timedelta(minutes=RETRY_MINUTES)
    assert jobs[JOB_ALERTS].trigger.interval == dt.timedelta(minutes=RETRY_MINUTES)
    assert jobs[JOB_REMINDER_RETRY].trigger.interval == dt.timedelta(minutes=RETRY_MINUTES)
    assert str(scheduler.timezone) == "Asia/Jakarta"
    inbox = jobs[JOB_INBOX]
    assert isinstance(inbox.trigger, IntervalTrigger) and inbox.trigger.interval == dt.timedelta(minutes=2)
    assert jobs["collect-twitter"].trigger.interval == dt.timedelta(minutes=15)
    reminder = jobs[JOB_REMINDER]
    assert isinstance(reminder.trigger, CronTrigger) and str(reminder.trigger.timezone) == "Asia/Jakarta"
    assert "hour='6'" in str(reminder.trigger) and "minute='45'" in str(reminder.trigger)
    assert jobs[JOB_REPORT].executor == "charts" and "hour='22'" in str(jobs[JOB_REPORT].trigger)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
    engine.dispose()


def test_a_failing_job_is_recorded_and_does_not_raise(config, engine, calendar) -> None:
    jobs = Jobs(config, engine, calendar)

    def boom() -> str:
        raise RuntimeError("disk full")

    assert jobs.run_job("inbox", boom) == "failed"
    with Session(engine) as session:
        run = session.scalars(select(CollectionRun).where(CollectionRun.source == "job:inbox")).one()
    assert run.status == "failed" and "disk full" in (run.error or "")
    assert jobs.wait_idle(0.1)


def test_inbox_imports_once_and_waits_for_writers(config, engine) -> None:
    inbox_dir = config.sources.inbox.path
    inbox_dir.mkdir(parents=True)
    now = [time.time()]
    inbox = Inbox(config, engine, settle_seconds=60, clock=lambda: now[0])
    partial = inbox_dir / "export.csv"
    partial.write_bytes(EXPORT.read_bytes()[:900])
    first = inbox.run_pass()
    assert first.waiting == [partial] and not first.imported  # new and fresh: wait
    now[0] += 120
    partial.write_bytes(EXPORT.read_bytes())
    assert inbox.run_pass().waiting == [partial]  # grew since the last pass: still being written
    now[0] = time.time() + 120
    done = inbox.run_pass()  # unchanged since the last pass, and quiet for the settle time: take it
    assert [p.name for p in done.imported] == ["export.csv"] and done.clean
    assert (inbox_dir / "processed" / "export.csv").exists() and not partial.exists()
    # The same content under another name is recognised by its hash and not imported again.
    shutil.copyfile(EXPORT, inbox_dir / "copy.csv")
    now[0] = time.time() + 120
    again = inbox.run_pass()
    assert [p.name for p in again.imported] == ["copy.csv"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(ImportedFile)).scalar() == 1


def test_inbox_moves_an_unknown_file_to_failed_with_the_reason(config, engine) -> None:
    inbox_dir = config.sources.inbox.path
    inbox_dir.mkdir(parents=True)
    (inbox_dir / "notes.csv").write_text("Nama,Alamat\nBudi,Mayangan\n", encoding="utf-8")
    result = Inbox(config, engine, settle_seconds=0).run_pass()
    assert not result.clean and [p.name for p in result.failed] == ["notes.csv"]
    why = (inbox_dir / "failed" / "notes.csv.why.txt").read_text()
    assert "notes.csv" in why or "format" in why.lower()


def test_catch_up_sends_todays_reminder_once_and_never_a_past_day(config, engine) -> None:
    before_seven = calendar_at(config, 2022, 10, 3, 6, 59)
    assert Jobs(config, engine, before_seven).catch_up() == [] or not job_runs(engine, JOB_REMINDER)
    after_seven = calendar_at(config, 2022, 10, 3, 9, 30)
    Jobs(config, engine, after_seven).catch_up()
    Jobs(config, engine, after_seven).catch_up()  # a restart: nothing is sent twice
    with engine.connect() as conn:
        rows = conn.execute(select(VoteReminder.local_date, VoteReminder.status)).all()
    by_day = {day: status for day, status in rows}
    assert by_day[dt.date(2022, 10, 3)] == "sent"
    assert sum(1 for _, status in rows if status == "sent") == 1
    # Days 1-14 (19 Sep - 2 Oct) passed without a reminder: recorded as missed, not sent late.
    assert all(by_day[dt.date(2022, 9, 19) + dt.timedelta(days=i)] == "missed" for i in range(14))


def test_catch_up_builds_yesterdays_missing_report(config, engine) -> None:
    cal = calendar_at(config, 2022, 10, 3, 6, 0)
    Jobs(config, engine, cal).catch_up()
    assert (config.reports.out_dir / "2022-10-02" / "index.html").exists()
    assert not (config.reports.out_dir / "2022-10-03").exists()  # today's is due at 23:30
    assert (config.reports.out_dir / "latest" / "index.html").exists()
    assert job_runs(engine, JOB_REPORT) == ["ok"]
    Jobs(config, engine, cal).catch_up()
    assert job_runs(engine, JOB_REPORT) == ["ok"]  # present now: not built again


def test_second_instance_is_refused(config) -> None:
    with RunLock(lock_path(config)), pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"):
        RunLock(lock_path(config)).acquire()
    RunLock(lock_path(config)).acquire()  # released: free again


def test_run_once_refused_while_another_run_holds_the_lock(config_path, config) -> None:
    with RunLock(lock_path(config)):
        result = CliRunner().invoke(main, ["--config", str(config_path), "run", "--once"])
    assert result.exit_code == 1 and "holds" in result.output and "Traceback" not in result.output


def test_run_once_imports_the_inbox(write_config) -> None:
    config_path = write_config("[sources.inbox]\nsettle_seconds = 0\n")
    config = load_config(config_path)
    engine = open_engine(config.storage.url)
    config.sources.inbox.path.mkdir(parents=True)
    target = config.sources.inbox.path / "ct.csv"
    shutil.copyfile(EXPORT, target)
    old = time.time() - 3600
    os.utime(target, (old, old))
    env = {"CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    result = CliRunner().invoke(main, ["--config", str(config_path), "run", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert (config.sources.inbox.path / "processed" / "ct.csv").exists()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar() == 2
    statuses = {s.job: s for s in job_statuses(config, engine, calendar_at(config, 2022, 11, 5, 8, 0))}
    assert statuses[JOB_INBOX].last_status == "ok"
    assert statuses[JOB_REMINDER].next_run is None  # the campaign is over


def test_sigterm_lets_the_running_job_finish(config, engine, monkeypatch: pytest.MonkeyPatch) -> None:
    started, finished = threading.Event(), threading.Event()

    def slow_pass(self: Inbox, should_stop=None):  # type: ignore[no-untyped-def]
        started.set()
        time.sleep(1.0)
        finished.set()
        from monitor.inbox import InboxPass

        return InboxPass()

    monkeypatch.setattr(Inbox, "run_pass", slow_pass)
    runner = Runner(config, engine, calendar_at(config, 2022, 11, 5, 8, 0))

    def stop_when_busy() -> None:
        started.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_busy, daemon=True).start()
    assert runner.run() == 0
    assert finished.is_set()
    assert job_runs(engine, JOB_INBOX) == ["ok"]


def test_run_as_a_real_process(write_config, tmp_path: Path) -> None:
    path = write_config("[sources.inbox]\nevery_minutes = 0.02\nsettle_seconds = 0.5\n")  # a pass every 1.2 s
    cfg = load_config(path)
    env = {**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(path), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        processed = cfg.sources.inbox.path / "processed" / "drop.csv"
        deadline = time.time() + 30
        while not cfg.sources.inbox.path.is_dir() and time.time() < deadline:
            time.sleep(0.1)
        staging = tmp_path / "drop.csv"
        shutil.copyfile(EXPORT, staging)
        staging.rename(cfg.sources.inbox.path / "drop.csv")
        while not processed.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert processed.exists(), "the export was not picked up"
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), "run", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1 and f"pid {proc.pid}" in second.stderr
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "drop.csv imported" in output
    engine = open_engine(cfg.storage.url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar() == 2
    engine.dispose()


def test_status_shows_each_job_with_its_last_and_next_run(config_path, config, engine) -> None:
    jobs = Jobs(config, engine, calendar_at(config, 2022, 10, 5, 8, 0))
    jobs.run_job(JOB_INBOX, lambda: "partial")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-10-05T08:00:00+07:00"}
    result = CliRunner().invoke(main, ["--config", str(config_path), "status"], env=env)
    assert result.exit_code == 0, result.output
    assert "day 17 of 43, 26 days left" in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "partial; next: " in lines["inbox"] and "when `run` starts" not in lines["inbox"]
    assert "next: 2022-10-06 07:00" in lines["reminder"]  # today's 07:00 has passed
    assert "next: 2022-10-05 23:30" in lines["daily-report"]


def test_run_once_also_logs_to_the_configured_file(write_config) -> None:
    path = write_config('[logging]\nfile = "logs/monitor.log"\n')
    env = {"CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    result = CliRunner().invoke(main, ["--config", str(path), "run", "--once"], env=env)
    assert result.exit_code == 0, result.output
    text = (path.parent / "logs" / "monitor.log").read_text(encoding="utf-8")
    assert "job inbox: ok" in text and "monitor.scheduler" in text


def test_a_failed_reminder_is_retried_the_same_day_and_then_missed(write_config, httpserver) -> None:
    path = write_config('[reminders]\nchannels = ["webhook"]\n[reminders.webhook]\nurl_env = "TEST_HOOK"\n')
    cfg = load_config(path)
    engine = open_engine(cfg.storage.url)
    os.environ["TEST_HOOK"] = httpserver.url_for("/hook")
    try:
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("down", status=500)
        morning = Jobs(cfg, engine, calendar_at(cfg, 2022, 10, 3, 7, 0))
        assert morning.reminder() == "failed"
        assert morning.reminder_due()
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
        later = Jobs(cfg, engine, calendar_at(cfg, 2022, 10, 3, 7, 15))
        assert later.reminder_retry() == "ok" and not later.reminder_due()
        assert later.reminder_retry() == "skipped"  # sent: nothing more to do today
        # A failure that lasts all day is not sent the next day: it is recorded as missed.
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("down", status=500)
        assert Jobs(cfg, engine, calendar_at(cfg, 2022, 10, 4, 7, 0)).reminder() == "failed"
        Jobs(cfg, engine, calendar_at(cfg, 2022, 10, 5, 0, 15)).reminder_retry()
        with engine.connect() as conn:
            rows = dict(conn.execute(select(VoteReminder.local_date, VoteReminder.status)).all())
        assert rows[dt.date(2022, 10, 3)] == "sent" and rows[dt.date(2022, 10, 4)] == "missed"
    finally:
        del os.environ["TEST_HOOK"]
        engine.dispose()


def test_run_once_polls_an_api_only_when_its_interval_has_passed(write_config) -> None:
    cfg = load_config(write_config("[sources.twitter]\nenabled = true\nevery_minutes = 30\n"))
    engine = open_engine(cfg.storage.url)
    jobs = Jobs(cfg, engine, calendar_at(cfg, 2022, 10, 3, 7, 0))
    assert jobs.collect_due("twitter")
    jobs.run_job("collect-twitter", lambda: "ok")
    assert not jobs.collect_due("twitter")  # polled just now: cron's next */5 run leaves it alone
    engine.dispose()


def test_a_stop_request_ends_catch_up_between_steps(config, engine) -> None:
    asked = []
    jobs = Jobs(config, engine, calendar_at(config, 2022, 10, 3, 23, 45), should_stop=lambda: bool(asked))
    asked.append(True)
    assert jobs.catch_up() == []  # reminder and both reports were due, none started
    assert not (config.reports.out_dir / "2022-10-02").exists()


def test_runs_left_running_by_a_dead_run_are_marked_interrupted(config, engine) -> None:
    from monitor.store import start_run

    start_run(engine, "job:inbox", None)  # a `run` killed mid-job leaves this behind
    start_run(engine, "crowdtangle-facebook", "x.csv")  # an `ingest` of another process: not ours
    calendar = calendar_at(config, 2022, 11, 5, 8, 0)
    assert (
        CliRunner()
        .invoke(
            main,
            ["--config", str(config.path), "run", "--once"],
            env={"CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"},
        )
        .exit_code
        == 0
    )
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(select(CollectionRun.id, CollectionRun.status).order_by(CollectionRun.id)).all()
        )
    assert statuses[1] == "interrupted" and statuses[2] == "running"
    assert job_statuses(config, engine, calendar)


def test_collect_waits_for_no_one_while_run_holds_the_lock(config_path, config) -> None:
    with RunLock(lock_path(config)):
        result = CliRunner().invoke(main, ["--config", str(config_path), "collect", "--source", "inbox"])
    assert result.exit_code == 1 and "holds" in result.output
