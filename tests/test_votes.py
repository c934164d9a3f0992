"""The vote and suggestion ledger against hand-computed ledgers: readings across midnight, days
without readings (interpolated, marked), a correction, and the `votes` commands.

The ledger (Asia/Jakarta, UTC+7):
  30 Sep 20:00  1000 votes, 10 suggestions
   1 Oct 08:00  1200
   1 Oct 23:50  1500, rank 5          <- the last reading of 1 Oct
   2 Oct 00:10  1520                  <- ten minutes later, but 2 Oct's
   2 Oct 21:00  1800, 14 suggestions, rank 4
   3 Oct, 4 Oct: no reading
   5 Oct 12:00  2400, 20 suggestions
By hand: 1 Oct 1500-1000 = 500; 2 Oct 1800-1500 = 300. 3 Oct ends 27 h into the 63 h from 2 Oct
21:00 to 5 Oct 12:00: 1800 + 600*27/63 = 2057.14, so +257.14 (estimated); 4 Oct ends at 51 h:
2285.71, +228.57 (estimated); 5 Oct 2400-2285.71 = +114.29 (estimated: it rests on 4 Oct's estimate).
Suggestions at the end of 1 Oct: 28 h into the 49 h from 30 Sep 20:00 to 2 Oct 21:00: 10 + 4*28/49.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.votes import (
    LedgerError,
    add_reading,
    parse_count,
    parse_when,
    readings,
    vote_days,
    yesterday_line,
)
from reports.scoreboard import digest_lines

WIB = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2022, 10, 6, 12, 0, tzinfo=WIB)
LEDGER = [
    (dt.datetime(2022, 9, 30, 20, 0, tzinfo=WIB), 1000, 10, None),
    (dt.datetime(2022, 10, 1, 8, 0, tzinfo=WIB), 1200, None, None),
    (dt.datetime(2022, 10, 1, 23, 50, tzinfo=WIB), 1500, None, 5),
    (dt.datetime(2022, 10, 2, 0, 10, tzinfo=WIB), 1520, None, None),
    (dt.datetime(2022, 10, 2, 21, 0, tzinfo=WIB), 1800, 14, 4),
    (dt.datetime(2022, 10, 5, 12, 0, tzinfo=WIB), 2400, 20, None),
]


@pytest.fixture
def cal(config: Config) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(NOW))


@pytest.fixture
def ledger(engine: Engine, cal: CampaignCalendar) -> Engine:
    for at, votes, suggestions, rank in LEDGER:
        assert add_reading(engine, cal, at, votes, suggestions, rank).reading is not None
    return engine


def test_votes_per_day_across_midnight_and_missing_days(ledger: Engine, cal: CampaignCalendar) -> None:
    days = vote_days(readings(ledger), cal, dt.date(2022, 10, 1), dt.date(2022, 10, 6))
    got = [(d.date.day, d.total, d.votes, d.interpolated, d.rank, d.readings) for d in days]
    a, b = 1800 + 600 * 27 / 63, 1800 + 600 * 51 / 63
    assert got == [
        (1, 1500.0, 500.0, False, 5, 2),
        (2, 1800.0, 300.0, False, 4, 2),
        (3, pytest.approx(a), pytest.approx(a - 1800), True, None, 0),
        (4, pytest.approx(b), pytest.approx(b - a), True, None, 0),
        (5, 2400.0, pytest.approx(2400 - b), True, None, 1),
        (6, None, None, False, None, 0),  # after the last reading: unknown, never extrapolated
    ]
    assert sum(d.votes for d in days if d.votes is not None) == pytest.approx(1400)
    first = days[0]
    assert first.suggestions_total == pytest.approx(10 + 4 * 28 / 49) and first.suggestions_interpolated
    assert days[1].suggestions == pytest.approx(14 - (10 + 4 * 28 / 49))


def test_a_day_before_the_first_reading_is_unknown(ledger: Engine, cal: CampaignCalendar) -> None:
    days = vote_days(readings(ledger), cal, dt.date(2022, 9, 29), dt.date(2022, 9, 30))
    assert [(d.total, d.votes) for d in days] == [(None, None), (1000.0, None)]


def test_a_lower_count_is_refused_unless_corrected(ledger: Engine, cal: CampaignCalendar) -> None:
    later = dt.datetime(2022, 10, 5, 18, 0, tzinfo=WIB)
    with pytest.raises(LedgerError, match="lower than the 2400 read at 2022-10-05 12:00.*--correct"):
        add_reading(ledger, cal, later, 2300)
    result = add_reading(ledger, cal, later, 2300, correct=True)
    assert result.reading is not None and [r.votes for r in result.corrected] == [2400]
    kept = readings(ledger)
    assert [(r.votes, r.corrected) for r in kept if r.local_date == dt.date(2022, 10, 5)] == [
        (2400, True),
        (2300, False),
    ]
    # The corrected reading no longer counts: 4 Oct is now interpolated towards 2300 at 5 Oct 18:00.
    days = vote_days(kept, cal, dt.date(2022, 10, 4), dt.date(2022, 10, 5))
    four = 1800 + 500 * 51 / 69
    assert days[0].total == pytest.approx(four) and days[1].votes == pytest.approx(2300 - four)
    # A corrected reading is out as a whole: its 20 suggestions no longer count either, and nothing
    # after 2 Oct 21:00 gives suggestions, so they are unknown from 3 Oct on.
    assert days[1].suggestions_total is None and days[0].suggestions_total is None


def test_a_count_higher_than_a_later_reading_is_refused(ledger: Engine, cal: CampaignCalendar) -> None:
    with pytest.raises(LedgerError, match="higher than the 1500 read later"):
        add_reading(ledger, cal, dt.datetime(2022, 10, 1, 12, 0, tzinfo=WIB), 1600, correct=True)


def test_same_reading_twice_adds_nothing_and_future_is_refused(ledger: Engine, cal: CampaignCalendar) -> None:
    at, votes, suggestions, rank = LEDGER[2]
    assert add_reading(ledger, cal, at, votes, suggestions, rank).reading is None
    with pytest.raises(LedgerError, match="after now"):
        add_reading(ledger, cal, NOW + dt.timedelta(hours=2), 3000)


def test_counts_and_moments_as_typed(cal: CampaignCalendar) -> None:
    assert parse_count("12.345", "votes") == 12345 and parse_count("12,345", "votes") == 12345
    assert parse_count("", "suggestions") is None
    with pytest.raises(LedgerError, match="not a whole number"):
        parse_count("12k", "votes")
    assert parse_when("2022-10-01 08:00", cal) == dt.datetime(2022, 10, 1, 1, 0, tzinfo=dt.UTC)
    assert parse_when("2022-10-01", cal) == dt.datetime(2022, 10, 1, 16, 59, tzinfo=dt.UTC)  # 23:59 WIB
    assert parse_when("2022-10-01T08:00+08:00", cal) == dt.datetime(2022, 10, 1, 0, 0, tzinfo=dt.UTC)
    with pytest.raises(LedgerError, match="not a moment"):
        parse_when("yesterday", cal)


def test_digest_lines_carry_yesterdays_votes(ledger: Engine, config: Config, cal: CampaignCalendar) -> None:
    lines = digest_lines(config, ledger, cal, dt.date(2022, 10, 3))
    assert lines == ["Vote 2022-10-02: +300 (total 1.800, peringkat 4)"]
    assert (
        yesterday_line(ledger, cal, dt.date(2022, 10, 3), "en")
        == "Votes on 2022-10-03: +257 (total 2,057, estimated: no reading that day)"
    )
    assert digest_lines(config, ledger, cal, dt.date(2022, 10, 8)) == []  # 7 Oct: no readings around it


# ---------------------------------------------------------------------------------------------------------
# The commands


def cli(config_path: Path, *args: str) -> object:
    return CliRunner().invoke(
        main, ["--config", str(config_path), *args], env={"CAMPAIGN_MONITOR_NOW": NOW.isoformat()}
    )


def test_votes_commands_add_refuse_correct_and_list(config_path: Path) -> None:
    ok = cli(
        config_path,
        "votes",
        "add",
        "--at",
        "2022-10-01 08:00",
        "--votes",
        "1.200",
        "--suggestions",
        "9",
        "--rank",
        "6",
    )
    assert ok.exit_code == 0 and "recorded: 1200 votes at 2022-10-01 08:00" in ok.output  # type: ignore[attr-defined]
    low = cli(config_path, "votes", "add", "--at", "2022-10-01 09:00", "--votes", "1100")
    assert low.exit_code == 2  # type: ignore[attr-defined]
    assert low.output.count("\n") == 1 and "counts never go down" in low.output  # type: ignore[attr-defined]
    fixed = cli(
        config_path,
        "votes",
        "add",
        "--at",
        "2022-10-01 09:00",
        "--votes",
        "1100",
        "--correct",
        "--note",
        "typo",
    )
    assert fixed.exit_code == 0 and "marked corrected: 1200 votes" in fixed.output  # type: ignore[attr-defined]
    table = cli(config_path, "votes")
    assert "corrected" in table.output and "typo" in table.output  # type: ignore[attr-defined]
    listed = cli(config_path, "votes", "--csv")
    rows = list(csv.DictReader(io.StringIO(listed.output)))  # type: ignore[attr-defined]
    assert [(r["read_at"], r["votes"], r["status"], r["rank"]) for r in rows] == [
        ("2022-10-01T08:00+07:00", "1200", "corrected", "6"),
        ("2022-10-01T09:00+07:00", "1100", "ok", ""),
    ]


def test_votes_import_keeps_good_rows_and_rejects_bad_ones(config_path: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "suara.csv"
    sheet.write_text(
        "at;votes;suggestions;rank;note\n"
        "2022-10-02 21:00;1.800;14;4;malam\n"
        "2022-09-30 20:00;1.000;10;;\n"  # out of order in the sheet: imported in time order
        "2022-10-01 12:00;900;;;\n"  # lower than 30 Sep's 1000
        "kemarin;1.900;;;\n"
        "\n",
        encoding="utf-8",
    )
    result = cli(config_path, "votes", "import", str(sheet))
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "2 readings added, 0 already recorded, 0 earlier readings marked corrected, 2 rejected" in out
    assert "line 4: votes 900 is lower than the 1000" in out and "line 5: 'kemarin' is not a moment" in out
    again = cli(config_path, "votes", "import", str(sheet))
    assert "0 readings added, 2 already recorded" in again.output  # type: ignore[attr-defined]


def test_votes_import_needs_the_columns(config_path: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_text("tanggal,jumlah\n2022-10-01,5\n", encoding="utf-8")
    result = cli(config_path, "votes", "import", str(sheet))
    assert result.exit_code == 2 and "no column at, votes" in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["votes"], ["votes", "add"], ["votes", "import"]])
def test_votes_commands_have_help(config_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and len(result.output.splitlines()) > 3


def test_report_has_the_votes_section_and_csv(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = load_config(write_config("", "en"))
    engine = open_engine(config.storage.url)
    cal = CampaignCalendar(config.campaign, fixed_clock(NOW))
    for at, votes, suggestions, rank in LEDGER:
        add_reading(engine, cal, at, votes, suggestions, rank)
    from reports.build import build_report

    result = build_report(config, engine, tmp_path / "out", dt.date(2022, 10, 1), dt.date(2022, 10, 5), cal)
    html = result.index.read_text(encoding="utf-8")
    assert 'id="votes"' in html and "votes_per_day.png" in html and "estimated" in html
    # As large as the report's other charts (the browser test measures those at 412 px).
    from reports.charts import DPI, TEXT_PT, min_text_px

    assert min_text_px(tmp_path / "out" / "votes_per_day.png") == round(TEXT_PT * DPI / 72, 1)
    assert f'data-text-px="{round(TEXT_PT * DPI / 72, 1)}"' in html.split('id="votes"')[1]
    with (tmp_path / "out" / "votes.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["date"], r["votes"], r["total"], r["rank"], r["interpolated"]) for r in rows] == [
        ("2022-10-01", "500", "1500", "5", ""),
        ("2022-10-02", "300", "1800", "4", ""),
        ("2022-10-03", "257", "2057", "", "yes"),
        ("2022-10-04", "229", "2286", "", "yes"),
        ("2022-10-05", "114", "2400", "", "yes"),
    ]


def test_the_digest_carries_yesterdays_votes(ledger: Engine, config: Config, cal: CampaignCalendar) -> None:
    from monitor.digest import compose, gather

    message = compose(config, cal, gather(config, ledger, cal, dt.date(2022, 10, 2)))
    assert "Vote 2022-10-02: +300 (total 1.800, peringkat 4)" in message.text
    assert "Vote 2022-10-02: +300" in message.html
    quiet = compose(config, cal, gather(config, ledger, cal, dt.date(2022, 10, 7)))  # no readings around
    assert "Vote " not in quiet.text
