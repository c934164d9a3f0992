"""One `run` per database wherever it starts: two config folders on one database (on PostgreSQL that
could as well be two machines), the second `run` refused naming the first's pid and host, and
`status` from the other folder saying that `run` is running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import BASE_CONFIG, SQLITE_URL

NOW = {"CAMPAIGN_MONITOR_NOW": "2022-09-01T09:00:00+07:00"}  # before the campaign: no job is due


def folder(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    (root / "config.toml").write_text(BASE_CONFIG.format(language="en", url=url), encoding="utf-8")
    return root / "config.toml"


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        env={**os.environ, **NOW},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_run_from_another_folder_is_refused_and_status_sees_the_first(
    tmp_path: Path, database: str
) -> None:
    # Two folders, one database: an absolute SQLite path, or the same PostgreSQL database.
    url = f"sqlite:///{tmp_path / 'shared' / 'monitor.db'}" if database == SQLITE_URL else database
    first_config, second_config = folder(tmp_path / "office", url), folder(tmp_path / "server", url)
    first = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(first_config), "run"],
        env={**os.environ, **NOW},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            status = cli(second_config, "status")
            if "which is running" in status.stdout or time.monotonic() > deadline or first.poll() is not None:
                break
            time.sleep(0.3)
        holder = f"{first.pid} on {socket.gethostname()}"
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"which is running (pid {holder}" in status.stdout

        second = cli(second_config, "run")
        assert second.returncode == 1
        assert f"(pid {holder}" in second.stderr and " holds " in second.stderr, second.stderr
        assert "Traceback" not in second.stderr and second.stderr.strip().count("\n") == 0
        once = cli(second_config, "run", "--once")
        assert once.returncode == 1 and f"(pid {holder}" in once.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        output = first.communicate(timeout=60)[0]
    assert first.returncode == 0, output
    after = cli(second_config, "status")
    assert "which is not running" in after.stdout
    assert cli(second_config, "run", "--once").returncode == 0  # free again
