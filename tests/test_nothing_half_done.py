"""Nothing is left half-done (issue 10, part 5): runs of killed processes, report leftovers, reminder
rows left `sending`, a database lock after a delivery, and the webhook URL in every spelling.

Real processes killed with SIGKILL, real SQLite files, and a threaded HTTP server on 127.0.0.1 whose
handlers can hang or lock the database at the moment a POST arrives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hardening_helpers import ct_export, scalar
from sqlalchemy.engine import Engine

import monitor.db
import monitor.reminders
from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.channels import DeliveryFailed, Outgoing, deliver_webhook
from monitor.cli import main
from monitor.config import load_config
from monitor.db import open_engine
from monitor.reminders import send_reminders
from monitor.store import start_run
from reports.build import build_daily_report, build_report

WIB = dt.timezone(dt.timedelta(hours=7))
TODAY = dt.date(2022, 10, 3)


def child(code: str, cwd: Path) -> subprocess.Popen[str]:
    """A Python process running `code` (after importing the project); prints 'ready' when it is. It
    leads a process group of its own, so that `kill9` also ends what it started (the report's drawing
    processes), which would otherwise outlive the test."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line


def kill9(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process, as the OOM killer or `kill -9` would; then its orphans (its group)."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------------
# Runs


# Run owners are flocks beside a SQLite file (monitor/run_owners.py); on PostgreSQL `run` sweeps at start.
@pytest.mark.sqlite_only
def test_a_run_of_a_killed_process_is_marked_interrupted_by_the_next_import(
    config_path, config, tmp_path
) -> None:
    proc = child(
        f"""
        import time
        from monitor.config import load_config
        from monitor.db import open_engine
        from monitor.store import start_run
        config = load_config({str(config_path)!r})
        start_run(open_engine(config.storage.url), "crowdtangle-facebook", "big.csv")
        print("ready", flush=True)
        time.sleep(120)
        """,
        tmp_path,
    )
    try:
        wait_ready(proc)
        engine = open_engine(config.storage.url)
        # While its process lives, the run is left alone by other writers.
        start_run(engine, "other", None)
        assert scalar(engine, "select status from collection_runs where target = 'big.csv'") == "running"
    finally:
        kill9(proc)
    ct_export(tmp_path / "next.csv", 2)
    result = CliRunner().invoke(main, ["--config", str(config_path), "ingest", str(tmp_path / "next.csv")])
    assert result.exit_code == 0, result.output
    assert scalar(engine, "select status from collection_runs where target = 'big.csv'") == "interrupted"
    status = CliRunner().invoke(
        main,
        ["--config", str(config_path), "status"],
        env={"CAMPAIGN_MONITOR_NOW": "2022-10-03T09:00:00+07:00"},
    )
    assert status.exit_code == 0
    engine.dispose()


def test_a_killed_daily_report_leaves_nothing_the_next_build_does_not_clean(config, tmp_path) -> None:
    ct_export(tmp_path / "posts.csv", 3)
    engine = open_engine(config.storage.url)
    from monitor.ingest import ingest_file

    ingest_file(config, engine, tmp_path / "posts.csv")
    proc = child(
        f"""
        import datetime as dt, time
        import reports.build
        from monitor.campaign import CampaignCalendar, fixed_clock
        from monitor.config import load_config
        from monitor.db import open_engine

        def hang(*args, **kwargs):
            print("ready", flush=True)
            time.sleep(120)

        reports.build.write_index = hang
        config = load_config({str(config.path)!r})
        wib = dt.timezone(dt.timedelta(hours=7))
        at = dt.datetime(2022, 10, 3, 23, 30, tzinfo=wib)
        calendar = CampaignCalendar(config.campaign, fixed_clock(at))
        engine = open_engine(config.storage.url)
        reports.build.build_daily_report(config, engine, calendar, dt.date(2022, 10, 3))
        """,
        tmp_path,
    )
    out = config.reports.out_dir
    try:
        wait_ready(proc)
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".staging-")]
        assert leftovers, "the killed build had a staging folder"
    finally:
        kill9(proc)
    mine = out / f".staging-2022-10-03-p{os.getpid()}-0123abcd"  # a live build's folder stays
    mine.mkdir()
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 3, 23, 30, tzinfo=WIB)))
    result = build_daily_report(config, engine, calendar, TODAY)
    names = {p.name for p in out.iterdir()}
    assert not any(n in names for n in leftovers)
    assert mine.name in names
    assert (out / "latest" / "index.html").exists() and result.index.exists()
    # A report written straight into a folder cleans the temporary files a killed build left there.
    rep = tmp_path / "rep"
    rep.mkdir()
    dead = child("import os; print(os.getpid(), flush=True)", tmp_path)
    dead_pid = dead.communicate()[0].strip()
    (rep / f".daily.csv.p{dead_pid}.abcd1234.tmp").write_text("half")
    build_report(config, engine, rep, None, TODAY, calendar)
    assert not list(rep.glob("*.tmp")) and (rep / "daily.csv").exists()
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------
# Reminders


class Hook:
    """A webhook receiver on 127.0.0.1: counts POSTs; `on_post` runs before it answers."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.on_post: Callable[[], None] = lambda: None
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                hook.posts.append(self.path)
                hook.on_post()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/T000/B000/s3cr3t") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def hook_config(write_config, hook: Hook, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", hook.url())
    return load_config(write_config('[reminders]\nchannels = ["webhook"]\n'))


def calendar_of(config) -> CampaignCalendar:  # type: ignore[no-untyped-def]
    return CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 3, 7, 5, tzinfo=WIB)))


def test_a_row_left_sending_by_a_killed_remind_is_settled_by_the_next_remind(
    write_config, hook: Hook, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    config = hook_config(write_config, hook, monkeypatch)
    arrived = threading.Event()
    hold = threading.Event()

    def hang() -> None:  # the first POST arrives, and the sender is killed before the answer
        arrived.set()
        hold.wait(30)

    hook.on_post = hang
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config.path), "remind"],
        env={**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-10-03T07:05:00+07:00"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # kill9 ends its group
    )
    try:
        assert arrived.wait(60), "the remind process never posted"
    finally:
        kill9(proc)
        hook.on_post = lambda: None
        hold.set()
    engine = open_engine(config.storage.url)
    assert scalar(engine, "select status from vote_reminders") == "sending"
    # The next remind of the day, minutes later (well inside the lease): the dead claim is settled.
    [delivery] = send_reminders(config, engine, calendar_of(config), TODAY)
    assert delivery.status == "sent"
    assert scalar(engine, "select status from vote_reminders") == "sent"
    assert len(hook.posts) == 2  # the first may have arrived; the receiver can drop it by its id
    engine.dispose()


def write_locker(engine: Engine) -> Any:
    """Another connection holding the write lock on the reminders (SQLite: the whole database;
    PostgreSQL: the table) until it rolls back."""
    if engine.dialect.name == "sqlite":
        locker = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")
        return locker
    import psycopg

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    locker = psycopg.connect(dsn, autocommit=True)
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE vote_reminders IN EXCLUSIVE MODE")
    return locker


def test_a_database_lock_after_a_successful_post_is_waited_for_never_resent(
    write_config, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.db, "BUSY_TIMEOUT_MS", 100)  # a writer gives up after 0.1 s
    config = hook_config(write_config, hook, monkeypatch)
    engine = open_engine(config.storage.url)
    released = threading.Event()

    def lock_the_database_for(seconds: float) -> Callable[[], None]:
        def on_post() -> None:
            locker = write_locker(engine)

            def release() -> None:
                time.sleep(seconds)
                locker.execute("ROLLBACK")
                locker.close()
                released.set()

            threading.Thread(target=release, daemon=True).start()

        return on_post

    hook.on_post = lock_the_database_for(1.0)
    [delivery] = send_reminders(config, engine, calendar_of(config), TODAY)
    assert delivery.status == "sent" and len(hook.posts) == 1
    assert scalar(engine, "select status from vote_reminders") == "sent"
    [again] = send_reminders(config, engine, calendar_of(config), TODAY)
    assert again.status == "already_sent" and len(hook.posts) == 1

    # Locked longer than the record is retried: the fact is kept and recorded by the next remind.
    day = TODAY + dt.timedelta(days=1)
    monkeypatch.setattr(monitor.reminders, "RECORD_RETRY_SECONDS", 0.3)
    released.clear()
    hook.on_post = lock_the_database_for(2.0)
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 4, 7, 5, tzinfo=WIB)))
    [delivery] = send_reminders(config, engine, calendar, day)
    assert delivery.status == "sent" and len(hook.posts) == 2
    assert released.wait(10)
    [again] = send_reminders(config, engine, calendar, day)
    assert again.status == "already_sent" and len(hook.posts) == 2
    engine.dispose()


def test_the_webhook_url_is_redacted_in_every_spelling(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # A closed port: urllib3's error quotes the path as requests normalised it (%7E -> ~, space -> %20).
    with socket_closed_port() as port:
        url = f"http://127.0.0.1:{port}/hooks/T000/B000/s3cr3t%7Ekey value"
        monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", url)
        from monitor.config import RemindersConfig, WebhookConfig

        cfg = RemindersConfig(channels=("webhook",), webhook=WebhookConfig())
        import requests

        with pytest.raises(DeliveryFailed) as err:
            deliver_webhook(Outgoing(TODAY, 15, "vote"), cfg, requests.Session())
    message = str(err.value)
    for secret in ("s3cr3t", "%7Ekey", "~key", "key%20value", "key value", "T000/B000"):
        assert secret not in message, message
    assert "***" in message


class socket_closed_port:
    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        pass
