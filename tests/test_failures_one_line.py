"""Every failure is one line with a fix and the documented exit status (issue 10, part 4).

Real processes and real files. A full disk is made with a file-size limit (RLIMIT_FSIZE, SIGXFSZ
ignored) on the child process: the kernel then refuses writes past the limit exactly where a full disk
would (EFBIG instead of ENOSPC), without mounting anything. A read-only database is a real SQLite
connection opened read-only (mode=ro), which root cannot write either.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hardening_helpers import ct_export, scalar

from monitor.cli import main
from monitor.config import load_config
from monitor.db import open_engine
from monitor.errors import ConfigError


def cli(config_path: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["--config", str(config_path), *args], env=env)


def one_line(result, *words: str) -> str:
    """The error output is one line (no traceback) that contains `words`."""
    output = result.output.strip()
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def run_limited(args: list[str], limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-10-10T08:00:00+07:00", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


# ---------------------------------------------------------------------------------------------------------
# storage.url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("this is not a url", ["[storage] url", "not a database URL"]),
        ("mysql://user@localhost/campaign", ["not installed", "pip install 'mysqlclient'"]),
        ("nosuchdb://x/y", ["unknown kind of database"]),
    ],
)
def test_storage_urls_that_cannot_work(write_config, url: str, words: list[str]) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('url = "sqlite:///data/monitor.db"', f'url = "{url}"'))
    result = cli(path, "status")
    assert result.exit_code == 2
    one_line(result, *words)


def test_storage_url_pointing_at_a_folder_or_a_non_database_file(write_config, tmp_path: Path) -> None:
    path = write_config()
    (tmp_path / "data" / "monitor.db").mkdir(parents=True)
    result = cli(path, "status")
    assert result.exit_code == 2
    one_line(result, "is a folder, not a database file")
    (tmp_path / "data" / "monitor.db").rmdir()
    (tmp_path / "data" / "monitor.db").write_text("name,group\nBudi,KIM\n" * 50)
    result = cli(path, "status")
    assert result.exit_code == 2
    one_line(result, "is not a SQLite database")
    assert (tmp_path / "data" / "monitor.db").read_text().startswith("name,group")  # left intact


def test_a_read_only_database_is_one_line_and_keeps_its_data(write_config, tmp_path: Path) -> None:
    path = write_config()
    config = load_config(path)
    engine = open_engine(config.storage.url)
    ct_export(tmp_path / "first.csv", 3)
    assert cli(path, "ingest", str(tmp_path / "first.csv")).exit_code == 0
    engine.dispose()
    db = tmp_path / "data" / "monitor.db"
    ro = path.read_text().replace(
        'url = "sqlite:///data/monitor.db"', f'url = "sqlite:///file:{db}?mode=ro&uri=true"'
    )
    path.write_text(ro)
    ct_export(tmp_path / "second.csv", 3, first=10)
    result = cli(path, "ingest", str(tmp_path / "second.csv"))
    assert result.exit_code == 1
    one_line(result, "read-only")
    check = open_engine(f"sqlite:///{db}")
    assert scalar(check, "select count(*) from posts") == 3
    check.dispose()


def test_a_full_disk_during_an_import_is_one_line_and_loses_nothing_committed(write_config, tmp_path) -> None:
    path = write_config()
    ct_export(tmp_path / "small.csv", 3)
    assert cli(path, "ingest", str(tmp_path / "small.csv")).exit_code == 0
    ct_export(tmp_path / "big.csv", 6000, first=100)
    db = tmp_path / "data" / "monitor.db"
    limit = db.stat().st_size + 64 * 1024
    proc = run_limited(["--config", str(path), "ingest", str(tmp_path / "big.csv")], limit, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ("full" in errors[0] or "disk" in errors[0]), proc.stderr
    engine = open_engine(f"sqlite:///{db}")
    assert scalar(engine, "select count(*) from posts") >= 3  # what was committed before is there
    assert scalar(engine, "select count(*) from collection_runs where status = 'running'") in (0, 1)
    engine.dispose()


def test_a_full_disk_while_writing_the_report_is_one_line(write_config, tmp_path) -> None:
    path = write_config()
    ct_export(tmp_path / "small.csv", 3)
    assert cli(path, "ingest", str(tmp_path / "small.csv")).exit_code == 0
    proc = run_limited(["--config", str(path), "report", "--out", str(tmp_path / "rep")], 4096, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the disk is full" in errors[0], proc.stderr


# ---------------------------------------------------------------------------------------------------------
# Paths that are files where folders belong, and the reverse


def test_report_out_under_a_file(config_path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-10-10T08:00:00+07:00"}
    result = cli(config_path, "report", "--out", str(tmp_path / "afile" / "rep"), env=env)
    assert result.exit_code == 1
    one_line(result, "afile", "a file stands where a folder is needed")


def test_out_dir_and_inbox_being_files(write_config, tmp_path: Path) -> None:
    path = write_config('[reports]\nout_dir = "out"\n[sources.inbox]\npath = "inbox"\n')
    (tmp_path / "out").write_text("x")
    (tmp_path / "inbox").write_text("x")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-10-10T08:00:00+07:00"}
    result = cli(path, "report", env=env)
    assert result.exit_code in (1, 2)
    one_line(result, "out")
    result = cli(path, "collect", "--source", "inbox")
    assert result.exit_code == 2
    one_line(result, "[sources.inbox] path", "is a file, not a folder")


def test_config_env_naming_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status"], env={"CAMPAIGN_MONITOR_CONFIG": str(tmp_path)})
    assert result.exit_code == 2
    one_line(result, "is a folder, not a config file")


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1900-01-01"])
def test_an_out_of_range_now(config_path, now: str) -> None:
    result = cli(config_path, "status", env={"CAMPAIGN_MONITOR_NOW": now})
    assert result.exit_code == 2
    one_line(result, "CAMPAIGN_MONITOR_NOW", "out of range")


def test_an_unwritable_log_file(write_config, tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    path = write_config('[logging]\nfile = "logs"\n')  # a folder
    env = {"CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    result = cli(path, "run", "--once", env=env)
    assert result.exit_code == 2
    one_line(result, "[logging] file", "cannot be opened for writing")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, the always-full device")
def test_a_log_file_on_a_full_disk_says_so_once(write_config) -> None:
    path = write_config('[logging]\nfile = "/dev/full"\n')
    env = {**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "run", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr and "--- Logging error ---" not in proc.stderr
    assert proc.stderr.count("cannot write the log file /dev/full") == 1


# ---------------------------------------------------------------------------------------------------------
# Bounded config values


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[sources.inbox]\nevery_minutes = inf\n", "every_minutes"),
        ("[sources.inbox]\nevery_minutes = nan\n", "every_minutes"),
        ("[sources.inbox]\nevery_minutes = 1e300\n", "every_minutes"),
        ("[sources.inbox]\nevery_minutes = 0.0001\n", "every_minutes"),
        ("[sources.inbox]\nsettle_seconds = -1\n", "settle_seconds"),
        ("[sources.twitter]\nevery_minutes = 9223372036854775807\n", "every_minutes"),
        ("[sources.twitter]\nmax_wait_seconds = 100000000\n", "max_wait_seconds"),
        ("[sources.facebook]\nevery_minutes = 0\n", "every_minutes"),
        ('[reminders]\ntemplate = "Day {day:999999999}"\n', "template"),
        ('[reminders]\ntemplate = "Day {day:>.999999999}"\n', "template"),
    ],
)
def test_config_values_are_bounded(write_config, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write_config(extra))
    assert key in str(err.value) and len(str(err.value)) < 300


def _chattr(flag: str, path: Path) -> bool:
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def test_a_read_only_database_folder_is_one_line(write_config, tmp_path: Path) -> None:
    """The folder made immutable (chattr +i, which binds root too): no journal can be created in it."""
    path = write_config()
    ct_export(tmp_path / "first.csv", 3)
    first = run_limited(["--config", str(path), "ingest", str(tmp_path / "first.csv")], 2**40, tmp_path)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "data"
    for name in ("monitor.db-wal", "monitor.db-shm"):
        (folder / name).unlink(missing_ok=True)
    if not _chattr("+i", folder):
        pytest.skip("chattr +i is not supported here (needs ext4/xfs and CAP_LINUX_IMMUTABLE)")
    try:
        ct_export(tmp_path / "second.csv", 3, first=10)
        # In a child process: SQLite keeps per-process state about a file it failed to open.
        proc = run_limited(["--config", str(path), "ingest", str(tmp_path / "second.csv")], 2**40, tmp_path)
        assert proc.returncode == 1, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "database" in errors[0]
    finally:
        _chattr("-i", folder)
    check = open_engine(f"sqlite:///{folder / 'monitor.db'}")
    assert scalar(check, "select count(*) from posts") == 3
    check.dispose()


def test_a_full_disk_during_remind_is_one_line_and_sends_nothing_unrecorded(write_config, tmp_path) -> None:
    path = write_config()
    ct_export(tmp_path / "small.csv", 3)
    first = run_limited(["--config", str(path), "ingest", str(tmp_path / "small.csv")], 2**40, tmp_path)
    assert first.returncode == 0, first.stderr
    proc = run_limited(["--config", str(path), "remind"], 1024, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr and "disk" in errors[0], proc.stderr
    again = run_limited(["--config", str(path), "remind"], 2**40, tmp_path)
    assert again.returncode == 0 and "log: sent" in again.stdout, again.stdout + again.stderr
