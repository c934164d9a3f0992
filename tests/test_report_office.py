"""The report an office forwards and files: report.xlsx (opened with openpyxl), summary.pdf (read
with pypdf), the comparison with the previous period, --platform/--group against hand-counted posts,
the title by kind, views with their coverage, and the chart fixes."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.config import Config
from monitor.errors import UsageError
from monitor.records import PostRecord, collect_hashtags
from monitor.store import finish_run, start_run, write_batch
from reports import build, charts, workbook
from reports.build import build_report
from reports.compare import Comparison, comparison_of, headline_periods
from reports.filters import resolve_filter
from reports.queries import (
    ALL,
    ReportScope,
    account_pass,
    all_tags_daily,
    campaign_posts,
    daily_by_platform,
    hashtags_daily,
    range_totals,
    top_accounts,
    top_posts,
)
from reports.synthetic import add_sent_reminders

DATA = Path(__file__).parent / "data"
WIB = dt.timezone(dt.timedelta(hours=7))
HOSTILE = '=HYPERLINK("http://evil.example","klik") #WeLoveProbolinggo'
TWEET_ID = "1574000000000000123"  # Excel would show 1,574E+18 if it were a number


def post(key: str, platform: str, day: int, handle: str | None, likes: int, **kw: object) -> PostRecord:
    text = str(kw.pop("text", "Ayo vote #WeLoveProbolinggo"))
    fields: dict[str, object] = {
        "platform": platform,
        "post_key": key,
        "created_at": dt.datetime(2022, 9, day, 10, 0, tzinfo=WIB),
        "source": "test",
        "text": text,
        "url": f"https://example.org/{platform}/{key}",
        "author_handle": handle,
        "likes": likes,
        "hashtags": collect_hashtags(text),
    }
    fields.update(kw)
    return PostRecord(**fields)  # type: ignore[arg-type]


# Hand-counted: the week 26 Sep .. 2 Oct holds 7 campaign posts, 108 interactions, 7 accounts and
# 400 views on 2 posts; the week before holds 1 post with 2 interactions. Roster (tests/data/roster.csv):
# Budi Santoso (KIM Mayangan, kecamatan Mayangan) is KIM.Mayangan / kim_mayangan / KimMayangan;
# Siti Aminah (KIM Wonoasih) is page 100012345678901 and siti.aminah.
POSTS = [
    post("b1", "facebook", 26, "KIM.Mayangan", 10),
    post("b2", "instagram", 27, "kim_mayangan", 20, comments=5, views=300),
    post(TWEET_ID, "twitter", 27, "KimMayangan", 4, shares=1, views=100),
    post("s1", "instagram", 28, "siti.aminah", 7),
    post("d1", "twitter", 28, "dewi_lestari", 3),
    post("s2", "facebook", 29, None, 8, author_id="100012345678901"),
    post("w1", "instagram", 30, "warga_lain", 50, text=HOSTILE + " 🎉🎉"),
    post("e1", "facebook", 20, "warga_lama", 2),  # the week before
]


@pytest.fixture
def office(config_path: Path, engine: Engine, config: Config) -> Config:
    shutil.copy(DATA / "roster.csv", config_path.parent / "roster.csv")
    run = start_run(engine, "test", None)
    write_batch(engine, run, POSTS, config.campaign.tz)
    finish_run(engine, run, "ok")
    return config


@pytest.fixture
def later(config: Config) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 10, 12, 0, tzinfo=WIB)))


WEEK = (dt.date(2022, 9, 26), dt.date(2022, 10, 2))


def build_week(config: Config, engine: Engine, calendar: CampaignCalendar, out: Path, **filters: object):  # type: ignore[no-untyped-def]
    report_filter = resolve_filter(config, filters.get("platforms", ()), filters.get("group"))  # type: ignore[arg-type]
    return build_report(config, engine, out, *WEEK, calendar, report_filter)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------------------
# The workbook


def test_workbook_has_typed_cells_text_ids_and_neutral_formulas(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    result = build_week(office, engine, later, tmp_path / "out")
    path = result.out_dir / "report.xlsx"
    assert path in result.files
    book = load_workbook(path)
    assert book.sheetnames == ["Ringkasan", "Harian", "Postingan teratas", "Tagar", "Roster"]

    summary = book["Ringkasan"]
    header = [c.value for c in summary[1]]
    assert header[:2] == ["Ukuran", "Nilai"] and "Perubahan" in header
    rows = {r[0].value: r for r in summary.iter_rows(min_row=2, max_row=5)}
    posts = rows["Postingan"]
    assert [c.value for c in posts[1:5]] == [7, 7, 1, 6]  # value, this week, the week before, change
    assert posts[1].data_type == "n" and posts[5].value == 600.0  # +600 %
    assert [c.value for c in rows["Interaksi"][1:5]] == [108, 108, 2, 106]
    assert rows["Akun aktif"][1].value == 7
    views = rows["Tayangan"]
    assert views[1].value == 400 and views[3].value is None  # no views the week before: unknown, empty
    assert "2" in views[6].value and "7" in views[6].value  # covering 2 of 7 posts
    assert summary.freeze_panes == "A2"

    daily = book["Harian"]
    assert [c.value for c in daily[1]][:4] == ["Tanggal", "Hari kampanye", "Platform", "Postingan"]
    first = daily[2]
    assert first[0].is_date and first[0].value.date() == dt.date(2022, 9, 26)
    assert first[1].value == 8 and first[2].value == "Facebook" and first[3].value == 1
    platforms = {r[2].value for r in daily.iter_rows(min_row=2)}
    assert platforms == {"Facebook", "Instagram", "X", "Semua"}
    assert daily.freeze_panes == "A2"
    assert daily.column_dimensions["A"].width >= 10

    top = book["Postingan teratas"]
    names = [c.value for c in top[1]]
    by_id = {row[names.index("ID postingan")].value: row for row in top.iter_rows(min_row=2)}
    tweet = by_id[TWEET_ID]
    assert tweet[names.index("ID postingan")].data_type == "s"  # text, never 1,574E+18
    assert tweet[names.index("Tayangan")].value == 100
    hostile = by_id["w1"][names.index("Teks")]
    assert hostile.value.startswith("=HYPERLINK(") and hostile.data_type == "s" and hostile.quotePrefix
    assert by_id["b1"][names.index("Bagikan")].value is None  # unknown stays empty, not 0
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)  # no formula anywhere

    roster = book["Roster"]
    assert [c.value for c in roster[1]][0] == "Nama"
    budi = next(r for r in roster.iter_rows(min_row=2) if r[0].value == "Budi Santoso")
    assert budi[4].value == 3 and budi[7].is_date

    # The CSV files are unchanged: the same columns, ids as they are.
    assert list(csv_rows(result.out_dir / "daily.csv")[0]) == [
        "date", "campaign_day", "platform", "posts", "authors", "likes", "comments", "shares", "interactions",
    ]  # fmt: skip


def test_a_failed_workbook_save_is_given_up_without_a_second_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # openpyxl's sheet writer is a generator over a temporary file; after a failed write, closing it
    # fails again, which Python would print as "Exception ignored ... Traceback" when it is collected.
    ignored: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)

    def sheet_stream() -> Iterator[None]:
        try:
            yield
        finally:
            raise OSError(27, "File too large")

    def save() -> None:
        stream = sheet_stream()
        next(stream)
        raise OSError(27, "File too large")

    with pytest.raises(OSError, match="File too large"):
        try:
            save()
        except OSError as exc:
            workbook._give_up_quietly(exc)
            raise
    assert ignored == []


def test_workbook_in_english(write_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from monitor.config import load_config
    from monitor.db import open_engine

    config = load_config(write_config(language="en"))
    engine = open_engine(config.storage.url)
    try:
        run = start_run(engine, "test", None)
        write_batch(engine, run, POSTS, config.campaign.tz)
        calendar = CampaignCalendar(
            config.campaign, fixed_clock(dt.datetime(2022, 10, 10, 12, 0, tzinfo=WIB))
        )
        result = build_report(config, engine, tmp_path / "en", *WEEK, calendar)
    finally:
        engine.dispose()
    book = load_workbook(result.out_dir / "report.xlsx")
    assert book.sheetnames == ["Summary", "Daily", "Top posts", "Hashtags"]  # no roster file here
    assert [c.value for c in book["Daily"][1]][:3] == ["Date", "Campaign day", "Platform"]


# ---------------------------------------------------------------------------------------------------------
# The PDF


def pdf_text(path: Path) -> tuple[int, str, tuple[float, float]]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    box = reader.pages[0].mediabox
    return (
        len(reader.pages),
        "\n".join(p.extract_text() for p in reader.pages),
        (float(box.width), float(box.height)),
    )


def test_pdf_is_one_a4_page_with_the_headline(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_week(office, engine, later, tmp_path / "out")
    pages, text, size = pdf_text(result.out_dir / "summary.pdf")
    assert pages == 1
    assert abs(size[0] - 595.3) < 1 and abs(size[1] - 841.9) < 1  # A4 in points
    flat = " ".join(text.split())
    assert "Laporan mingguan kampanye" in flat
    assert "Sen 26 Sep 2022 – Min 2 Okt 2022" in flat
    assert "dibanding minggu sebelumnya" in flat
    assert "+6 (+600,0%)" in flat and "+106" in flat  # posts and interactions against the week before
    assert "5 postingan teratas" in flat and "warga_lain" in flat
    assert "Partisipasi roster" in flat and "Pengingat vote" in flat
    assert "🎉" not in text  # a glyph the font lacks is left out, not drawn as a box


def test_pdf_and_page_say_which_filter(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_week(office, engine, later, tmp_path / "out", platforms=("instagram",), group="mayangan")
    _, text, _ = pdf_text(result.out_dir / "summary.pdf")
    assert "Platform: Instagram" in text and "Mayangan" in text
    page = result.index.read_text(encoding="utf-8")
    assert 'id="filter"' in page and "Platform: Instagram · Kelompok/kecamatan: Mayangan" in page


# ---------------------------------------------------------------------------------------------------------
# Filters, against the hand count above


@pytest.mark.parametrize(
    ("platforms", "group", "posts", "interactions", "accounts"),
    [
        ((), None, 7, 108, 7),
        (("instagram",), None, 3, 82, 3),
        (("X", "facebook"), None, 4, 26, 4),
        ((), "KIM Mayangan", 3, 40, 3),
        ((), " MAYANGAN ", 3, 40, 3),  # the kecamatan, in another spelling
        ((), "kim wonoasih", 2, 15, 2),  # Siti: her Instagram and her Facebook page id
        (("instagram",), "KIM Mayangan", 1, 25, 1),
    ],
)
def test_filters_narrow_every_number(  # type: ignore[no-untyped-def]
    office, engine, later, tmp_path, platforms, group, posts, interactions, accounts
) -> None:
    result = build_week(office, engine, later, tmp_path / "out", platforms=platforms, group=group)
    daily = csv_rows(result.out_dir / "daily.csv")
    totals = [r for r in daily if r["platform"] == "all"]
    assert sum(int(r["posts"]) for r in totals) == posts
    assert sum(int(r["interactions"]) for r in totals) == interactions
    assert len(csv_rows(result.out_dir / "top_posts.csv")) == posts
    tags = csv_rows(result.out_dir / "hashtags.csv")
    assert sum(int(r["posts"]) for r in tags if r["hashtag"] == "WeLoveProbolinggo") == posts
    page = result.index.read_text(encoding="utf-8")
    assert (
        f'id="total-accounts"><div class="label">Akun aktif</div>\n      <div class="value">{accounts}<'
        in page
    )
    if platforms:
        wanted = {"instagram"} if platforms == ("instagram",) else {"twitter", "facebook"}
        assert {r["platform"] for r in daily} - {"all"} <= wanted
    if group:
        members = {r["name"] for r in csv_rows(result.out_dir / "roster.csv")}
        assert members == ({"Siti Aminah"} if "wonoasih" in group else {"Budi Santoso", "Lina Marlina"}) or (
            "KIM" in group and members == {"Budi Santoso"}
        )


def test_group_filter_roster_counts_only_the_group(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_week(office, engine, later, tmp_path / "out", group="KIM Mayangan")
    rows = csv_rows(result.out_dir / "roster.csv")
    assert [(r["name"], r["posts"], r["interactions"]) for r in rows] == [("Budi Santoso", "3", "40")]


def test_unknown_platform_or_group_is_a_usage_error(office) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="not a platform"):
        resolve_filter(office, ["myspace"])
    with pytest.raises(UsageError, match="neither a group nor a kecamatan.*KIM Mayangan"):
        resolve_filter(office, [], "KIM Atlantis")


def test_report_command_filters(office, config_path, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CAMPAIGN_MONITOR_NOW", "2022-10-10T12:00:00+07:00")
    out = tmp_path / "cli"
    args = [
        "--config",
        str(config_path),
        "report",
        "--out",
        str(out),
        "--from",
        "2022-09-26",
        "--to",
        "2022-10-02",
    ]
    done = CliRunner().invoke(main, [*args, "--platform", "x", "--platform", "instagram"])
    assert done.exit_code == 0, done.output
    rows = csv_rows(out / "daily.csv")
    assert {r["platform"] for r in rows} == {"instagram", "twitter", "all"}
    bad = CliRunner().invoke(main, [*args, "--group", "nowhere"])
    assert bad.exit_code == 2 and "neither a group nor a kecamatan" in bad.output
    assert "Traceback" not in bad.output
    helped = CliRunner().invoke(main, ["report", "--help"])
    assert "--platform NAME" in helped.output and "--group NAME" in helped.output


# ---------------------------------------------------------------------------------------------------------
# Titles, comparisons, views, cut ranges, reminders


@pytest.mark.parametrize(
    ("start", "end", "title", "compared"),
    [
        (dt.date(2022, 9, 27), dt.date(2022, 9, 27), "Laporan harian kampanye", "dibanding hari sebelumnya"),
        (*WEEK, "Laporan mingguan kampanye", "dibanding minggu sebelumnya"),
        (dt.date(2022, 9, 26), dt.date(2022, 9, 29), "rentang tanggal", "dibanding 4 hari sebelumnya"),
        (dt.date(2022, 9, 19), dt.date(2022, 10, 10), "sejak hari pertama", "7 hari terakhir dibanding"),
    ],
)
def test_title_and_comparison_say_what_the_report_covers(  # type: ignore[no-untyped-def]
    office, engine, later, tmp_path, start, end, title, compared
) -> None:
    result = build_report(office, engine, tmp_path / "out", start, end, later)
    page = result.index.read_text(encoding="utf-8")
    assert title in page.split('<h1 id="report-title">')[1].split("</h1>")[0]
    assert compared in page


def test_day_report_compares_with_the_day_before(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_report(office, engine, tmp_path / "out", dt.date(2022, 9, 28), dt.date(2022, 9, 28), later)
    page = result.index.read_text(encoding="utf-8")
    card = page.split('id="total-posts"')[1].split('id="total-interactions"')[0]
    assert '<div class="value">2</div>' in card
    assert "±0" in card and "(2)" in card  # 2 posts on 28 Sep, 2 on 27 Sep


def test_whole_campaign_compares_last_7_days_and_cut_ranges_say_so(office, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    after = CampaignCalendar(office.campaign, fixed_clock(dt.datetime(2022, 11, 5, 9, 0, tzinfo=WIB)))
    add_sent_reminders(engine, office.campaign, office.campaign.end)
    result = build_report(office, engine, tmp_path / "out", dt.date(2022, 9, 1), dt.date(2022, 11, 30), after)
    page = result.index.read_text(encoding="utf-8")
    assert "Laporan seluruh masa kampanye" in page
    assert 'id="range-cut-window"' in page and "2022-09-01..2022-11-30" in page
    assert any("cut to the campaign" in note for note in result.notes)
    # The last 7 days (25..31 Oct) had no posts, nor the 7 before: 0 against 0.
    assert "7 hari terakhir: 0" in page
    # 43 reminder days, day 4 missed: three rows, not 43.
    reminders = page.split('id="reminders"')[1].split("</section>")[0]
    assert reminders.count("<tr>") == 1 + 3
    assert "(39 hari)" in reminders and "07:00" in reminders


def headline_totals(engine: Engine, scope: ReportScope) -> tuple[dict[str, int], Comparison]:
    """The range's totals and its comparison, as the report counts them (one account pass)."""
    return comparison_of(scope, account_pass(engine, scope, 1, headline_periods(scope)[1:])[0])


def test_headline_totals_count_the_range_and_both_periods_in_one_pass(office, engine) -> None:  # type: ignore[no-untyped-def]
    # The week (hand-counted above) against the week before; each period on its own agrees.
    week = ReportScope(office.campaign, *WEEK)
    totals, comparison = headline_totals(engine, week)
    assert totals == range_totals(engine, week)
    assert (totals["posts"], totals["interactions"], totals["authors"]) == (7, 108, 7)
    assert (totals["views"], totals["views_posts"]) == (400, 2)
    assert comparison.current == totals
    assert comparison.previous is not None
    assert (comparison.previous["posts"], comparison.previous["interactions"]) == (1, 2)
    before = ReportScope(office.campaign, dt.date(2022, 9, 19), dt.date(2022, 9, 25))
    assert comparison.previous == range_totals(engine, before)
    # The campaign so far: its last 7 days (27 Sep .. 3 Oct: 6 posts) against the 7 before (2 posts).
    so_far = ReportScope(office.campaign, office.campaign.start, dt.date(2022, 10, 3))
    totals, comparison = headline_totals(engine, so_far)
    assert totals["posts"] == 8 and comparison.basis == "last7"
    assert (comparison.current["posts"], comparison.previous and comparison.previous["posts"]) == (6, 2)
    # The top accounts of the same pass are the week's: warga_lama posted only the week before.
    found, top = account_pass(engine, week, 15, headline_periods(week)[1:])
    assert found[0] == range_totals(engine, week) and found[2] == range_totals(engine, before)
    assert top.equals(top_accounts(engine, week)) and "warga_lama" not in set(top["author"])
    assert len(top) == 7 and top.iloc[0]["author"] == "warga_lain" and top.iloc[0]["interactions"] == 50
    # The first day: the day before lies outside the campaign, nothing to compare with.
    first = ReportScope(office.campaign, office.campaign.start, office.campaign.start)
    assert headline_totals(engine, first)[1].previous is None


def test_views_show_with_their_coverage(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_week(office, engine, later, tmp_path / "out")
    page = result.index.read_text(encoding="utf-8")
    card = page.split('id="total-views"')[1].split("</div>\n    </div>")[0]
    assert '<div class="value">400</div>' in card and "mencakup 2 dari 7 postingan" in card
    no_views = build_week(office, engine, later, tmp_path / "fb", platforms=("facebook",))
    page = no_views.index.read_text(encoding="utf-8")
    card = page.split('id="total-views"')[1].split('id="days-left"')[0]
    assert "&ndash;" in card and "tidak ada sumber yang mencatat tayangan" in card


# ---------------------------------------------------------------------------------------------------------
# The chart fixes


def scope(config: Config) -> ReportScope:
    return ReportScope(config.campaign, dt.date(2022, 9, 19), dt.date(2022, 10, 2))


def test_seven_day_average_starts_on_day_7_and_platforms_are_named(office, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.lines import Line2D

    s = scope(office)
    ctx = charts.ChartContext(s, "id")
    daily = daily_by_platform(engine, s)
    captured = {}
    real_save = charts.save_figure

    def keep(fig, path):  # type: ignore[no-untyped-def]
        captured["fig"] = fig
        return real_save(fig, path)

    charts.save_figure = keep  # type: ignore[assignment]
    try:
        charts.posts_per_day(ctx, daily, tmp_path / "p.png")
    finally:
        charts.save_figure = real_save  # type: ignore[assignment]
    fig = captured["fig"]
    (line,) = [obj for obj in fig.axes[0].get_lines() if isinstance(obj, Line2D) and len(obj.get_xdata()) > 2]
    values = list(line.get_ydata())
    assert all(v != v for v in values[:6]) and values[6] == values[6]  # NaN for days 1..6, then a value
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"Facebook", "Instagram", "X"} <= set(legend) and "twitter" not in legend


def test_hashtag_share_line_breaks_on_days_without_posts(office, engine) -> None:  # type: ignore[no-untyped-def]
    s = scope(office)
    shares = all_tags_daily(engine, s)
    assert (shares["posts"] == 0).any()
    # What the chart plots: NaN where a day has no post (the line has a gap there).
    plotted = [100 * v if n else float("nan") for v, n in zip(shares["share"], shares["posts"], strict=True)]
    assert all((p != p) == (n == 0) for p, n in zip(plotted, shares["posts"], strict=True))
    assert not hashtags_daily(engine, s).empty


def test_accounts_with_one_name_are_told_apart() -> None:
    import pandas as pd

    rows = pd.DataFrame(
        {
            "author": ["pemkotprobolinggo", "pemkotprobolinggo", "kim_jati"],
            "platform": ["facebook", "instagram", "twitter"],
        }
    )
    labels = charts.account_labels(rows)
    assert labels[0] != labels[1] and labels[0].endswith("FB") and labels[1].endswith("IG")
    assert labels[2] == "kim_jati"


def test_every_chart_text_is_large_and_colour_bars_count_whole_posts(office, engine, later, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = build_report(
        office, engine, tmp_path / "out", dt.date(2022, 9, 19), dt.date(2022, 10, 10), later
    )
    own = {*build.CHART_TITLES, "roster_heatmap.png", "roster_share.png"}  # not the scoreboard's yet
    pngs = [p for p in result.files if p.name in own]
    assert len(pngs) == 7
    for png in pngs:
        px = charts.min_text_px(png)
        assert px is not None and px >= charts.TEXT_PT * charts.DPI / 72 - 0.1, png.name


def test_palette_has_every_platform() -> None:
    from reports.palette import PLATFORM_COLOURS, platform_name

    assert {"facebook", "instagram", "twitter", "tiktok", "threads"} <= set(PLATFORM_COLOURS)
    assert len(set(PLATFORM_COLOURS.values())) == len(PLATFORM_COLOURS)
    assert [platform_name(p) for p in ("twitter", "facebook", "instagram", "tiktok")] == [
        "X", "Facebook", "Instagram", "TikTok",
    ]  # fmt: skip
    assert ALL == "all"


def test_the_report_counts_one_snapshot_of_its_posts(office, engine) -> None:  # type: ignore[no-untyped-def]
    # A post imported while the report is being counted changes none of its numbers: they are
    # grouped from the campaign posts selected once. The next report (and a one-off query) sees it.
    week = ReportScope(office.campaign, *WEEK)
    with campaign_posts(engine, week) as posts:
        run = start_run(engine, "test", None)
        write_batch(engine, run, [post("late", "twitter", 30, "datang_telat", 900)], office.campaign.tz)
        finish_run(engine, run, "ok")
        assert range_totals(posts, week)["posts"] == 7
        assert "datang_telat" not in set(top_posts(posts, week)["author"])
        assert int(daily_by_platform(posts, week).query("platform == 'all'")["posts"].sum()) == 7
    assert range_totals(engine, week)["posts"] == 8
    assert top_posts(engine, week).iloc[0]["author"] == "datang_telat"
