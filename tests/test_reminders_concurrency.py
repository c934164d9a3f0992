"""Exactly once across processes: `remind` started several times at the same moment against one
SQLite file and one webhook server delivers once per channel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from monitor.config import load_config
from monitor.db import open_engine
from monitor.reminders import reminders_t

HOOK_PATH = "/hooks/concurrency/sEcReT"


@pytest.mark.parametrize("processes", [2, 4])
def test_simultaneous_remind_processes_deliver_once(
    write_config: Callable[..., Path], httpserver: HTTPServer, tmp_path: Path, processes: int
) -> None:
    path = write_config('[reminders]\nchannels = ["log", "webhook"]\n')
    # Create the schema first, as `init`/an earlier run would; the race is about the reminder rows.
    config = load_config(path)
    open_engine(config.storage.url).dispose()

    def slow_ok(request: Request) -> Response:
        time.sleep(0.5)  # keep the delivery in flight while the other processes try to claim it
        return Response("ok")

    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(slow_ok)
    env = {
        **os.environ,
        "CAMPAIGN_MONITOR_NOW": "2022-10-01T07:00:00+07:00",
        "CAMPAIGN_MONITOR_WEBHOOK_URL": httpserver.url_for(HOOK_PATH),
    }
    command = [sys.executable, "-m", "monitor", "--config", str(path), "remind"]
    procs = [
        subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    outputs = [proc.communicate(timeout=90) for proc in procs]

    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    assert len(httpserver.log) == 1  # one webhook delivery, however many processes raced
    for channel in ("log", "webhook"):
        says_sent = [out for out, _ in outputs if f"  {channel}: sent" in out]
        assert len(says_sent) == 1, outputs
    # The others said why they did not send: already sent, or another process was sending it.
    for out, _ in outputs:
        for line in out.splitlines():
            if line.startswith("  webhook:"):
                assert line.split(": ", 1)[1].startswith(
                    ("sent", "already sent", "another process is sending it right now")
                ), line

    engine = open_engine(config.storage.url)
    with engine.connect() as conn:
        rows = conn.execute(select(reminders_t).order_by(reminders_t.c.channel)).all()
    engine.dispose()
    assert [(r.channel, r.status, r.attempts) for r in rows] == [("log", "sent", 1), ("webhook", "sent", 1)]

    # And a later run sends nothing more.
    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "webhook: already sent" in again.stdout
    assert len(httpserver.log) == 1
