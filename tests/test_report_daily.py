"""The scheduled daily report: `<out_dir>/<YYYY-MM-DD>/` and the atomic swap of `latest`; the `report`
command; charts without data."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar
from monitor.cli import main
from monitor.config import Config
from monitor.errors import UsageError
from monitor.records import PostRecord, collect_hashtags
from monitor.store import start_run, write_batch
from reports import build
from reports.build import build_daily_report

WIB = dt.timezone(dt.timedelta(hours=7))
REPORT_FILES = {
    "index.html",
    "daily.csv",
    "top_posts.csv",
    "hashtags.csv",
    "votes.csv",  # the scoreboard sections (tests/test_scoreboard_report.py)
    "reminder_effect.csv",
    "reminder_effect.png",
    "posts_per_day.png",
    "interactions_per_day.png",
    "hashtags.png",
    "top_accounts.png",
    "posting_times.png",
    "report.xlsx",
    "summary.pdf",
}


def add_post(engine: Engine, config: Config, key: str, day: dt.date, likes: int) -> None:
    text = "Ayo vote #WeLoveProbolinggo"
    record = PostRecord(
        platform="instagram",
        post_key=key,
        created_at=dt.datetime.combine(day, dt.time(9, 0), WIB),
        source="test",
        text=text,
        author_handle="kim",
        likes=likes,
        hashtags=collect_hashtags(text),
    )
    write_batch(engine, start_run(engine, "test", None), [record], config.campaign.tz)


def test_daily_report_folders_and_latest(
    config: Config, engine: Engine, calendar: CampaignCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = config.reports.out_dir
    add_post(engine, config, "a", dt.date(2022, 9, 30), 11)

    # Every time `latest` is replaced, the folder it will point at must already be complete.
    swaps: list[str] = []
    real_replace = os.replace

    def checked_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name == "latest":
            target = Path(src).parent / os.readlink(src)
            assert {p.name for p in target.iterdir()} == REPORT_FILES, "latest would show a partial report"
            swaps.append(target.name)
        real_replace(src, dst)

    monkeypatch.setattr(build.os, "replace", checked_replace)

    first = build_daily_report(config, engine, calendar, dt.date(2022, 9, 30)).out_dir
    assert first == root / "2022-09-30"
    assert (root / "latest").is_symlink() and os.readlink(root / "latest") == "2022-09-30"
    assert "2022-09-30,12,all,1,1,11,0,0,11" in (root / "latest" / "daily.csv").read_text("utf-8-sig")

    second = build_daily_report(config, engine, calendar, dt.date(2022, 10, 1)).out_dir
    assert os.readlink(root / "latest") == "2022-10-01"
    assert {p.name for p in second.iterdir()} == REPORT_FILES
    assert (first / "index.html").exists(), "yesterday's report stays"

    # A rebuild of the same day (new data arrived) replaces it, and latest never dangles.
    add_post(engine, config, "b", dt.date(2022, 10, 1), 5)
    build_daily_report(config, engine, calendar, dt.date(2022, 10, 1))
    assert "2022-10-01,13,all,1,1,5,0,0,5" in (root / "latest" / "daily.csv").read_text("utf-8-sig")
    assert swaps[:2] == ["2022-09-30", "2022-10-01"] and swaps[-1] == "2022-10-01"
    assert any(name.startswith(".staging-") for name in swaps[2:]), "latest went to the staging copy first"
    # No staging or old copies are left behind.
    assert sorted(p.name for p in root.iterdir()) == ["2022-09-30", "2022-10-01", "latest"]


def test_latest_replaces_a_real_folder(config: Config, engine: Engine, calendar: CampaignCalendar) -> None:
    root = config.reports.out_dir
    (root / "latest").mkdir(parents=True)
    (root / "latest" / "stale.txt").write_text("copied by hand")
    build_daily_report(config, engine, calendar, dt.date(2022, 9, 20))
    assert os.readlink(root / "latest") == "2022-09-20"


def test_a_build_that_fails_while_charts_are_drawn_leaves_no_folder(
    config: Config, engine: Engine, calendar: CampaignCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The charts are drawn in worker processes while the scoreboard is counted; when that fails the
    # build waits for the workers before it removes its staging folder, so none writes into it later.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the scoreboard failed")

    monkeypatch.setattr(build.scoreboard, "build_sections", broken)
    with pytest.raises(RuntimeError, match="the scoreboard failed"):
        build_daily_report(config, engine, calendar, dt.date(2022, 9, 20))
    root = config.reports.out_dir
    assert list(root.iterdir()) == []


def test_daily_report_before_the_campaign_is_refused(
    config: Config, engine: Engine, calendar: CampaignCalendar
) -> None:
    with pytest.raises(UsageError, match="before the campaign"):
        build_daily_report(config, engine, calendar, dt.date(2022, 9, 1))


def test_empty_report_draws_no_data_charts(
    config: Config, engine: Engine, calendar: CampaignCalendar
) -> None:
    folder = build_daily_report(config, engine, calendar, dt.date(2022, 9, 19)).out_dir
    for name in REPORT_FILES:
        assert (folder / name).stat().st_size > 0
    assert (folder / "posts_per_day.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Belum ada data" in (folder / "index.html").read_text("utf-8")


# ---------------------------------------------------------------------------------------------------------
# The command


def run_cli(config_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(config_path), *args], env={"CAMPAIGN_MONITOR_NOW": "2022-10-01T12:00:00+07:00"}
    )
    return result.exit_code, result.output


def test_report_command(config_path: Path, config: Config, engine: Engine, tmp_path: Path) -> None:
    add_post(engine, config, "a", dt.date(2022, 9, 22), 3)
    code, out = run_cli(config_path, "report", "--out", str(tmp_path / "brief"), "--from", "2022-09-20")
    assert code == 0, out
    index = tmp_path / "brief" / "index.html"
    assert str(index) in out and index.exists()
    rows = (tmp_path / "brief" / "daily.csv").read_text("utf-8-sig").splitlines()
    # --from 20 Sep, --to defaults to today (1 Oct) while the campaign runs: 12 days x (instagram, all).
    assert rows[1].startswith("2022-09-20,2,instagram,0") and rows[-1].startswith("2022-10-01,13,all,0")
    assert len(rows) == 1 + 12 * 2

    code, out = run_cli(config_path, "report")  # default folder from the config
    assert code == 0 and (config.reports.out_dir / "index.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2022-10-05", "--to", "2022-10-01"), "after --to"),
        (("--from", "5/10/2022"), "not a date"),
        (("--from", "2023-01-01", "--to", "2023-01-05"), "outside the campaign 2022-09-19..2022-10-31"),
        # Only --from, after the window: the window is the mistake, not the order of --from and --to.
        (("--from", "2022-11-05"), "the range 2022-11-05..2022-10-01 is outside the campaign"),
        (("--from", "2022-10-05"), "after today (2022-10-01)"),
    ],
)
def test_report_command_usage_errors(config_path: Path, args: tuple[str, ...], message: str) -> None:
    code, out = run_cli(config_path, "report", *args)
    assert code == 2
    assert message in out and "Traceback" not in out


def test_report_with_an_unreadable_roster_is_done_in_part(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "roster.csv").write_bytes(b"PK\x03\x04 a workbook saved under a .csv name")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-11-05T08:00:00+07:00"}
    result = CliRunner().invoke(
        main, ["--config", str(config_path), "report", "--out", str(tmp_path / "r")], env=env
    )
    assert result.exit_code == 1, result.output
    assert "problem: the roster is left out" in result.output
    assert (tmp_path / "r" / "index.html").exists()  # the rest of the report is there
