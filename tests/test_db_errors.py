"""Every database problem at start is one line saying what to check: an unreachable server, a wrong
password, a missing database, a missing driver. (#10 covers SQLite paths and malformed URLs.)"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from monitor import db
from monitor.cli import main

CONFIG = """\
[campaign]
name = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo"]

[storage]
url = "{url}"
"""


def status_with_url(tmp_path: Path, url: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    return result.exit_code, result.output


def assert_one_line(code: int, output: str, *says: str) -> None:
    assert code == 2, output
    assert output.strip().count("\n") == 0 and "Traceback" not in output, output
    for part in says:
        assert part in output, output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://campaign:s3cret@127.0.0.1:{free_port()}/campaign"
    code, output = status_with_url(tmp_path, url)
    assert_one_line(code, output, "refused the connection", "check that PostgreSQL runs", "127.0.0.1")
    assert "s3cret" not in output  # the password is never printed


def test_a_missing_driver_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = db.importlib.util.find_spec
    monkeypatch.setattr(db.importlib.util, "find_spec", lambda n: None if n == "psycopg" else real(n))
    code, output = status_with_url(tmp_path, "postgresql://campaign@127.0.0.1/campaign")
    assert_one_line(code, output, "pip install 'campaign-monitor[postgresql]'")


def test_a_wrong_password_is_one_line(tmp_path: Path, postgresql_url: str) -> None:
    url = make_url(postgresql_url).set(password="surely-not-the-password")
    code, output = status_with_url(tmp_path, url.render_as_string(hide_password=False))
    assert_one_line(code, output, "refused the user or password")
    assert "surely-not" not in output


def test_a_missing_database_is_one_line(tmp_path: Path, postgresql_url: str) -> None:
    url = make_url(postgresql_url).set(database="no_such_campaign_db")
    code, output = status_with_url(tmp_path, url.render_as_string(hide_password=False))
    assert_one_line(code, output, "the database does not exist", "createdb")


def test_a_damaged_sqlite_file_says_how_to_recover(tmp_path: Path) -> None:
    """A database file cut short (a full disk, a copy taken while `run` wrote): one line, exit 2,
    naming the backup and sqlite3's .recover instead of SQLite's bare "malformed"."""
    from monitor.records import PostRecord, collect_hashtags
    from monitor.store import start_run, write_batch

    path = tmp_path / "monitor.db"
    url = f"sqlite:///{path}"
    engine = db.open_engine(url)
    tz = dt.timezone(dt.timedelta(hours=7))
    tags = collect_hashtags("#WeLoveProbolinggo")
    when = dt.datetime(2022, 9, 20, 9, 0, tzinfo=tz)
    posts = [
        PostRecord(platform="twitter", post_key=str(i), source="test", author_handle=f"kim_{i % 50}",
                   created_at=when, text="#WeLoveProbolinggo " + "x" * 200, likes=i, hashtags=tags)
        for i in range(3000)
    ]  # fmt: skip
    write_batch(engine, start_run(engine, "test", None), posts, tz)
    engine.dispose()
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    code, output = status_with_url(tmp_path, url)
    assert_one_line(code, output, "is damaged", "malformed", ".recover", "docs/deployment.md")


def test_postgresql_urls_use_psycopg_3(postgresql_url: str) -> None:
    assert db.database_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    engine = db.open_engine(postgresql_url, create=False)
    try:
        with engine.connect() as conn:
            assert conn.dialect.driver == "psycopg"
    finally:
        engine.dispose()
