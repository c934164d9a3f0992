"""The inbox takes a file only once it is complete, and one bad entry blocks nothing (issue 10, part 2).

Real files, a real slow writer thread, real links, folders and FIFOs in tmp_path. The settle time is
injected (a fraction of a second) so nothing waits tens of seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest
from hardening_helpers import ct_export, ct_lines, scalar

import monitor.ingest
from monitor.config import Config
from monitor.inbox import Inbox, is_temporary_name

SETTLE = 0.3


def inbox_dir(config: Config) -> Path:
    folder = config.sources.inbox.path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_writer_that_pauses_longer_than_the_settle_time_loses_nothing(config, engine) -> None:
    """An in-place writer (SMB/Explorer style: one open file, written in bursts with a long pause) whose
    first half is taken and moved to processed/: the rest it writes into the moved file is imported too."""
    folder = inbox_dir(config)
    header, rows = ct_lines(40)
    target = folder / "slow.csv"
    done = threading.Event()

    def writer() -> None:
        with target.open("w", encoding="utf-8") as f:
            f.write(header + "\n" + "\n".join(rows[:20]) + "\n")
            f.flush()
            time.sleep(SETTLE * 4)  # a pause far longer than the settle time
            f.write("\n".join(rows[20:]) + "\n")
            f.flush()
        done.set()

    thread = threading.Thread(target=writer)
    inbox = Inbox(config, engine, settle_seconds=SETTLE)
    thread.start()
    passes = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            passes.append(inbox.run_pass())
            if done.is_set() and scalar(engine, "select count(*) from posts") == 40:
                break
            time.sleep(0.05)
    finally:
        thread.join()
    assert any(p.imported for p in passes), "the first half was taken after the settle time"
    assert any(p.reimported for p in passes), "the rest written after the move was imported again"
    assert scalar(engine, "select count(*) from posts") == 40
    assert (folder / "processed" / "slow.csv").read_text(encoding="utf-8").count("\n") == 41


def test_a_fresh_file_waits_even_when_its_mtime_is_old(config, engine) -> None:
    """Copiers that keep the original modification time cannot fake completeness: ctime counts too."""
    folder = inbox_dir(config)
    path = ct_export(folder / "copied.csv", 3)
    old = time.time() - 86400
    os.utime(path, (old, old))  # as Explorer or `cp -p` would leave it; this sets ctime to now
    inbox = Inbox(config, engine, settle_seconds=30)
    result = inbox.run_pass()
    assert result.waiting == [path] and not result.imported
    later = Inbox(config, engine, settle_seconds=30, clock=lambda: time.time() + 60)
    assert [p.name for p in later.run_pass().imported] == ["copied.csv"]


def test_a_file_that_changes_while_it_is_read_stays_and_is_read_again(
    config, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = inbox_dir(config)
    path = ct_export(folder / "growing.csv", 5)
    real_ingest = monitor.ingest.ingest_file
    header, rows = ct_lines(5, first=6)

    def ingest_while_written(*args, **kwargs):
        result = real_ingest(*args, **kwargs)
        with path.open("a", encoding="utf-8") as f:  # the writer goes on while we read
            f.write("\n".join(rows) + "\n")
        monkeypatch.setattr(monitor.ingest, "ingest_file", real_ingest)
        return result

    monkeypatch.setattr(monitor.ingest, "ingest_file", ingest_while_written)
    now = [time.time() + 60]
    inbox = Inbox(config, engine, settle_seconds=1, clock=lambda: now[0])
    first = inbox.run_pass()
    assert first.waiting == [path] and not first.imported and path.exists()
    now[0] = time.time() + 60
    second = inbox.run_pass()
    assert [p.name for p in second.imported] == ["growing.csv"]
    assert scalar(engine, "select count(*) from posts") == 10


def test_temporary_and_hidden_names_are_ignored(config, engine, caplog) -> None:
    folder = inbox_dir(config)
    names = ["~$report.csv", "export.csv.part", "export.csv.crdownload", "export.tmp", ".hidden.csv"]
    for name in names:
        assert is_temporary_name(name)
        ct_export(folder / name, 2)
    caplog.set_level(logging.INFO)
    result = Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60).run_pass()
    assert not result.imported and not result.waiting and not result.failed and not result.skipped
    assert all((folder / name).exists() for name in names)
    assert scalar(engine, "select count(*) from posts") == 0
    assert not is_temporary_name("export.csv")


def test_links_folders_pipes_and_vanishing_files_are_skipped_and_the_rest_imported(
    config, engine, tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = inbox_dir(config)
    secret = tmp_path / "secrets.env"
    secret.write_text("DB_PASSWORD=hunter2-very-secret\n", encoding="utf-8")
    (folder / "link-to-secret.csv").symlink_to(secret)
    (folder / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "pipe.csv")  # opening it would block the whole pass
    ct_export(folder / "good.csv", 3)
    ct_export(folder / "vanishes.csv", 2, first=50)
    real_settled = Inbox.is_settled

    def vanish_first(self, path, now):
        if path.name == "vanishes.csv":
            path.unlink()
        return real_settled(self, path, now)

    monkeypatch.setattr(Inbox, "is_settled", vanish_first)
    caplog.set_level(logging.INFO)
    inbox = Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60)
    result = inbox.run_pass()
    assert [p.name for p in result.imported] == ["good.csv"]
    assert sorted(p.name for p in result.skipped) == [
        "dangling.csv",
        "folder.csv",
        "link-to-secret.csv",
        "pipe.csv",
    ]
    assert not result.clean
    assert scalar(engine, "select count(*) from posts") == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.inbox"]
    for name in ("dangling.csv", "folder.csv", "link-to-secret.csv", "pipe.csv", "vanishes.csv"):
        assert sum(name in line for line in lines) == 1, name
    assert any("symbolic link" in line for line in lines)
    # The secret behind the link was never read: not in the log, the database or the failed folder.
    assert not any("hunter2" in line for line in lines)
    dump = "\n".join(str(v) for v in _all_text(engine))
    assert "hunter2" not in dump
    assert not (folder / "failed").exists()
    assert (folder / "link-to-secret.csv").is_symlink()  # left alone, not moved or followed
    # A second pass says nothing new about the same entries.
    caplog.clear()
    inbox.run_pass()
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads a mode-000 file anyway; the FIFO/link cases cover it"
)
def test_an_unreadable_file_is_skipped_with_one_line(config, engine, caplog) -> None:
    folder = inbox_dir(config)
    locked = ct_export(folder / "locked.csv", 2)
    locked.chmod(0)
    ct_export(folder / "good.csv", 2, first=10)
    caplog.set_level(logging.INFO)
    result = Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60).run_pass()
    assert [p.name for p in result.imported] == ["good.csv"]
    assert any("locked.csv" in r.getMessage() and "read" in r.getMessage() for r in caplog.records)


def test_a_rejected_file_is_not_quoted_and_a_name_cannot_forge_log_lines(config, engine, caplog) -> None:
    folder = inbox_dir(config)
    name = "evil\n2022-10-01 07:00:00 INFO forged: all good\x1b[2J.csv"
    (folder / name).write_text("API_KEY=sk-live-0123456789,other\nx,y\n", encoding="utf-8")
    caplog.set_level(logging.INFO)
    result = Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60).run_pass()
    assert len(result.failed) == 1
    why = result.failed[0].with_name(result.failed[0].name + ".why.txt").read_text(encoding="utf-8")
    messages = [r.getMessage() for r in caplog.records if r.name == "monitor.inbox"]
    assert messages and all("\n" not in m and "\x1b" not in m for m in messages)
    assert any("evil\\n2022" in m for m in messages)
    for text in [why, *messages, *map(str, _all_text(engine))]:
        assert "sk-live" not in text and "API_KEY" not in text


def test_configured_secrets_are_redacted_from_rejects_and_logs(
    write_config, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from monitor.config import load_config
    from monitor.db import open_engine
    from monitor.redaction import forget_secrets

    token = "AAAAbearer-token-value-0123456789"
    monkeypatch.setenv("X_BEARER_TOKEN", token)
    config = load_config(write_config())
    engine = open_engine(config.storage.url)
    try:
        folder = inbox_dir(config)
        header, rows = ct_lines(2)
        bad = rows[1].replace("Ayo vote", f"token {token}").replace("Photo,12,5,", "Photo,12,lots,")
        (folder / "leaky.csv").write_text(f"{header}\n{rows[0]}\n{bad}\n", encoding="utf-8")
        caplog.set_level(logging.INFO)
        Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60).run_pass()
        raw = scalar(engine, "select raw from rejected_rows")
        assert raw and "***" in str(raw) and token not in str(raw)
        from monitor.redaction import RedactingLogFilter

        record = logging.LogRecord("x", logging.WARNING, __file__, 1, "token %s", (token,), None)
        RedactingLogFilter().filter(record)
        assert token not in record.getMessage()
    finally:
        engine.dispose()
        forget_secrets()


def _all_text(engine) -> list[object]:
    """Every text value the database holds in the tables a rejected file can reach."""
    from sqlalchemy import text

    values: list[object] = []
    with engine.connect() as conn:
        for table in ("collection_runs", "rejected_rows", "imported_files", "posts"):
            for row in conn.execute(text(f"select * from {table}")):
                values.extend(row)
    return values
