"""The README's first command: `campaign-monitor demo`, and the promise that --help stays light."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from monitor.cli import main
from monitor.db import open_engine
from monitor.models import Post, VoteReminder

# Its module-scoped fixture is computed once: tests/conftest.py runs its tests in one test process.


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """`campaign-monitor demo` in a folder of its own, run once for this module's tests, which only
    read that folder (a test that runs the demo there again works on a copy)."""
    out = tmp_path_factory.mktemp("plain") / "demo"
    return out, CliRunner().invoke(main, ["demo", "--out", str(out)])


def test_demo_builds_the_whole_pipeline(plain_demo: tuple[Path, Result], tmp_path: Path) -> None:
    first, result = plain_demo
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and str(first / "report" / "index.html") in result.output
    # A copy of the folder: the second run below finds the first one's database and report in it.
    out = tmp_path / "demo"
    shutil.copytree(first, out)
    report = out / "report"
    for name in (
        "index.html",
        "daily.csv",
        "top_posts.csv",
        "hashtags.csv",
        "roster.csv",
        "posts_per_day.png",
    ):
        assert (report / name).stat().st_size > 0, name
    with (report / "daily.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    days = {r["date"] for r in rows}
    assert len(days) == 43 and min(days) == "2022-09-19" and max(days) == "2022-10-31"
    platforms = {r["platform"] for r in rows}
    assert platforms == {"all", "facebook", "instagram", "twitter", "tiktok", "threads"}
    engine = open_engine(f"sqlite:///{out / 'demo.db'}")
    with engine.connect() as conn:
        posts = conn.execute(select(func.count()).select_from(Post)).scalar()
        sent = conn.execute(
            select(func.count()).select_from(VoteReminder).where(VoteReminder.status == "sent")
        )
        assert sent.scalar() == 43
    engine.dispose()
    all_posts = sum(int(r["posts"]) for r in rows if r["platform"] == "all")
    assert 0 < all_posts < (posts or 0)  # campaign posts only: untagged, out-of-window and retweets excluded
    # Run again: a fresh database, the same numbers.
    again = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert again.exit_code == 0
    with (report / "daily.csv").open(encoding="utf-8-sig") as f:
        assert list(csv.DictReader(f)) == rows


def test_demo_on_a_given_database_gives_the_same_report(
    plain_demo: tuple[Path, Result], tmp_path: Path, database: str
) -> None:
    # A database elsewhere: another SQLite file, or the PostgreSQL database of this test.
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'demo.db'}" if database.startswith("sqlite") else database
    (plain, plain_result), given = plain_demo, tmp_path / "given"
    assert plain_result.exit_code == 0, plain_result.output
    result = CliRunner().invoke(main, ["demo", "--out", str(given), "--url", url])
    assert result.exit_code == 0, result.output
    assert not (given / "demo.db").exists()
    for name in ("daily.csv", "top_posts.csv", "hashtags.csv", "roster.csv", "reminders.csv"):
        if (plain / "report" / name).exists():
            assert (given / "report" / name).read_bytes() == (plain / "report" / name).read_bytes(), name
    again = CliRunner().invoke(main, ["demo", "--out", str(given), "--url", url])
    assert again.exit_code == 2 and "needs an empty database" in again.output
    assert again.output.strip().count("\n") == 0


def test_help_does_not_import_pandas_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from monitor.cli import main\n"
        "for args in (['--help'], ['run', '--help'], ['ingest', '--help'], ['remind', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0\n"
        "print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_command_has_help() -> None:
    def walk(group, prefix):  # type: ignore[no-untyped-def]
        for name, command in group.commands.items():
            yield [*prefix, name], command
            if hasattr(command, "commands"):
                yield from walk(command, [*prefix, name])

    for args, command in walk(main, []):
        assert command.help, f"{' '.join(args)} has no help text"
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
