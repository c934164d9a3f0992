"""The roster section of the report: every number checked against posts stored with store.write_batch."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import CampaignConfig, load_config
from monitor.db import open_engine
from monitor.records import PostRecord, collect_hashtags
from monitor.roster import load_roster
from monitor.store import finish_run, start_run, write_batch
from reports import charts
from reports.build import build_report
from reports.charts import ChartContext
from reports.queries import ReportScope
from reports.roster import (
    ROSTER_COLUMNS,
    RosterReport,
    heatmap_chart,
    heatmap_figure,
    roster_report,
    write_roster_charts,
)

DATA = Path(__file__).parent / "data"
WIB = dt.timezone(dt.timedelta(hours=7))
START, END = dt.date(2022, 9, 19), dt.date(2022, 10, 1)
TAGGED = "Ayo vote Kota Probolinggo #WeLoveProbolinggo"


def post(
    platform: str, key: str, day: dt.date | dt.datetime, handle: str | None = None, **kw: object
) -> PostRecord:
    text = str(kw.pop("text", TAGGED))
    when = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time(9, 0), WIB)
    base: dict[str, object] = dict(
        platform=platform,
        post_key=key,
        created_at=when,
        source="test",
        text=text,
        author_handle=handle,
        hashtags=collect_hashtags(text),
    )
    base.update(kw)
    return PostRecord(**base)  # type: ignore[arg-type]


def d(month: int, day: int) -> dt.date:
    return dt.date(2022, month, day)


POSTS = [
    # Budi (facebook kim.mayangan, instagram kim_mayangan, twitter kimmayangan, kecamatan Mayangan)
    post(
        "facebook",
        "f1",
        d(9, 20),
        "KIM.Mayangan",
        likes=10,
        comments=2,
        shares=1,
        text=TAGGED + " #WeLoveCities",
    ),
    post("instagram", "i1", d(9, 20), "kim_mayangan", likes=5),
    post("twitter", "t1", d(9, 28), "KimMayangan", likes=1, comments=None, shares=3),
    post("instagram", "i2", d(9, 29), "kim_mayangan", likes=99, is_repost=True),  # repost: not counted
    post("instagram", "i3", d(9, 30), "kim_mayangan", likes=99, text="no tag today"),  # untagged
    post("facebook", "f8", d(10, 5), "kim.mayangan", likes=99),  # after the report range
    # 23:30 WIB on 18 Sep is before the campaign starts (it is 16:30 UTC the same day).
    post("facebook", "f9", dt.datetime(2022, 9, 18, 23, 30, tzinfo=WIB), "kim.mayangan", likes=99),
    post("facebook", "f7", d(9, 21), "kim.mayangan", likes=99, text="#WeLoveProbolinggo2022 is another tag"),
    # Siti (facebook page id 100012345678901): matched by author_id; 00:30 WIB 1 Oct is 30 Sep in UTC.
    post(
        "facebook",
        "f2",
        dt.datetime(2022, 10, 1, 0, 30, tzinfo=WIB),
        None,
        author_id="100012345678901",
        likes=7,
    ),
    # Dewi: instagram dewi.lestari, twitter dewi_lestari. "dewi_lestari" on Instagram is someone else.
    post("twitter", "t2", d(9, 25), "Dewi_Lestari", likes=2),
    post("twitter", "t3", d(9, 26), "@dewi_lestari", likes=2),
    post("instagram", "o1", d(9, 20), "dewi_lestari", likes=50),
    post("instagram", "o2", d(9, 20), "dewi_lestari", likes=50),
    # Rudi: instagram rudi.kim and kim_ketapang (two accounts in one cell).
    post("instagram", "r1", d(9, 22), "kim_ketapang", comments=3),
    post("instagram", "r2", d(9, 22), "Rudi.Kim"),
    # Agus and Lina: nothing.
]


@pytest.fixture
def report(engine, config):  # type: ignore[no-untyped-def]
    run = start_run(engine, "test", None)
    write_batch(engine, run, POSTS, config.campaign.tz)
    finish_run(engine, run, "ok")
    return roster_report(engine, load_roster(DATA / "roster.csv"), config.campaign, START, END)


def test_roster_table_counts_campaign_posts_only(report) -> None:  # type: ignore[no-untyped-def]
    table = report.table
    assert list(table.columns) == ROSTER_COLUMNS
    rows = {r["name"]: r for r in table.to_dict("records")}
    assert [rows[n]["posts"] for n in table["name"]] == [3, 2, 2, 1, 0, 0]
    # Most posts first, then by name; members without posts are listed with zeros.
    assert list(table["name"]) == [
        "Budi Santoso",
        "Dewi Lestari",
        "Rudi Hartono",
        "Siti Aminah",
        "Agus Salim",
        "Lina Marlina",
    ]
    budi = rows["Budi Santoso"]
    assert (budi["posts"], budi["interactions"], budi["active_days"], budi["last_post_date"]) == (
        3,
        13 + 5 + 4,
        2,
        d(9, 28),
    )
    assert (budi["group"], budi["kecamatan"], budi["kelurahan"]) == ("KIM Mayangan", "Mayangan", "Mayangan")
    siti = rows["Siti Aminah"]
    assert (siti["posts"], siti["interactions"], siti["active_days"], siti["last_post_date"]) == (
        1,
        7,
        1,
        d(10, 1),
    )
    dewi = rows["Dewi Lestari"]  # the Instagram dewi_lestari is not hers
    assert (dewi["posts"], dewi["interactions"], dewi["active_days"]) == (2, 4, 2)
    rudi = rows["Rudi Hartono"]
    assert (rudi["posts"], rudi["interactions"], rudi["active_days"], rudi["last_post_date"]) == (
        2,
        3,
        1,
        d(9, 22),
    )
    agus = rows["Agus Salim"]
    assert (agus["posts"], agus["interactions"], agus["active_days"], agus["last_post_date"]) == (
        0,
        0,
        0,
        None,
    )


def test_participation_grid(report) -> None:  # type: ignore[no-untyped-def]
    grid = report.participation
    assert grid.shape == (6, 13)
    assert list(grid.columns) == [d(9, 19) + dt.timedelta(days=i) for i in range(13)]
    assert list(grid.index) == list(report.table["name"])
    assert grid.loc["Budi Santoso", d(9, 20)] == 2
    assert grid.loc["Budi Santoso", d(9, 28)] == 1
    assert grid.loc["Budi Santoso", d(9, 30)] == 0  # untagged
    assert grid.loc["Rudi Hartono", d(9, 22)] == 2
    assert grid.loc["Siti Aminah", d(10, 1)] == 1
    assert int(grid.to_numpy().sum()) == 8
    assert int(grid.loc["Lina Marlina"].sum()) == 0


def test_not_posted_today_and_quiet_lists(report) -> None:  # type: ignore[no-untyped-def]
    assert report.end == d(10, 1)
    waiting = report.not_posted_today
    assert list(waiting["name"]) == [
        "Agus Salim",
        "Lina Marlina",
        "Rudi Hartono",
        "Dewi Lestari",
        "Budi Santoso",
    ]
    assert waiting["last_post_date"].tolist()[:3] == [None, None, d(9, 22)]
    quiet = report.quiet
    assert quiet[["name", "days_quiet"]].values.tolist() == [
        ["Rudi Hartono", 9],
        ["Dewi Lestari", 5],
        ["Budi Santoso", 3],
    ]


def test_the_pass_counts_members_posts_only(engine, config) -> None:  # type: ignore[no-untyped-def]
    from monitor.roster import matching, posts_by_member

    write_batch(engine, start_run(engine, "test", None), POSTS, config.campaign.tz)
    roster = load_roster(DATA / "roster.csv")
    with matching(engine, roster) as conn:
        counts = posts_by_member(conn, config.campaign, END)
    # Budi, Siti, Dewi and Rudi (roster order 0, 1, 3, 4); the other dewi_lestari's posts are nobody's.
    assert sorted({m for m, _ in counts}) == [0, 1, 3, 4]
    assert sum(n for n, _ in counts.values()) == 8


def test_kecamatan_leaderboard(report) -> None:  # type: ignore[no-untyped-def]
    board = report.kecamatan
    assert board.values.tolist() == [
        ["Kademangan", 1, 1, 100.0, 2, 3],
        ["Kedopok", 1, 1, 100.0, 2, 4],
        ["Wonoasih", 1, 1, 100.0, 1, 7],
        ["Mayangan", 2, 1, 50.0, 3, 22],
        ["Kanigaran", 1, 0, 0.0, 0, 0],
    ]


def test_daily_share_of_roster_posts(report) -> None:  # type: ignore[no-untyped-def]
    share = report.share.set_index("date")
    assert len(share) == 13
    # 20 Sep: Budi's two posts and two by the other dewi_lestari on Instagram.
    assert share.loc[d(9, 20)].tolist() == [4, 2, 50.0]
    assert share.loc[d(9, 22)].tolist() == [2, 2, 100.0]
    assert share.loc[d(9, 19)].tolist() == [0, 0, 0.0]
    assert int(share["roster_posts"].sum()) == 8
    assert int(share["campaign_posts"].sum()) == 10


def test_a_page_listed_by_id_and_handle_counts_once(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        "name,group,kelurahan,kecamatan,facebook,instagram,twitter\n"
        "Budi,KIM Mayangan,Mayangan,Mayangan,kim.mayangan; 111222333,kim_mayangan,\n"
        "Ani,KIM Ketapang,Ketapang,Kademangan,,,kim_mayangan\n",
        encoding="utf-8",
    )
    run = start_run(engine, "test", None)
    posts = [
        post("facebook", "p1", d(9, 20), "kim.mayangan", author_id="111222333", likes=4),
        post("facebook", "p2", d(9, 21), None, author_id="111222333", likes=1),
        post("instagram", "p3", d(9, 21), "kim_mayangan", likes=2),
        post("twitter", "p4", d(9, 21), "KIM_Mayangan"),
    ]
    write_batch(engine, run, posts, config.campaign.tz)
    report = roster_report(engine, load_roster(roster_file), config.campaign, START, END)
    rows = {r["name"]: r for r in report.table.to_dict("records")}
    assert load_roster(roster_file).problems == ()
    assert (rows["Budi"]["posts"], rows["Budi"]["interactions"]) == (3, 7)
    assert rows["Ani"]["posts"] == 1  # the same handle on another platform is another member's
    assert int(report.share["roster_posts"].sum()) == 4


def chart_context(report: RosterReport, campaign: CampaignConfig, language: str) -> ChartContext:
    return ChartContext(ReportScope(campaign, report.start, report.end), language)


def test_empty_roster_and_range_cut_to_the_window(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("name,group,kelurahan,kecamatan,facebook,instagram,twitter\n", encoding="utf-8")
    report = roster_report(engine, load_roster(roster_file), config.campaign, d(9, 1), d(9, 20))
    assert (report.start, report.end) == (d(9, 19), d(9, 20))
    assert report.table.empty and report.kecamatan.empty and report.quiet.empty
    assert report.participation.shape == (0, 2)
    files = write_roster_charts(report, tmp_path / "out", chart_context(report, config.campaign, "en"))
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files)


def test_charts_are_written_whole(report, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    files = write_roster_charts(report, out, chart_context(report, config.campaign, "id"))
    assert [f.name for f in files] == ["roster_heatmap.png", "roster_share.png"]
    for f in files:
        data = f.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert sorted(p.name for p in out.iterdir()) == ["roster_heatmap.png", "roster_share.png"]
    # The heatmap grows with the roster: one row per member.
    width, height = int.from_bytes(files[0].read_bytes()[16:20]), int.from_bytes(files[0].read_bytes()[20:24])
    assert height > 200 and width > 500


# ---------------------------------------------------------------------------------------------------------
# The report folder: roster.csv, the charts and the HTML section


@pytest.mark.parametrize("language", ["id", "en"])
def test_report_folder_has_the_roster_section(write_config, tmp_path: Path, language: str) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config('[roster]\npath = "roster.csv"\n', language=language))
    engine = open_engine(config.storage.url)
    run = start_run(engine, "test", None)
    # A hostile member name must be neutralized in the CSV and escaped in the page.
    hostile = "=1+2<script>alert(1)</script>"
    roster_text = (
        (DATA / "roster.csv").read_text(encoding="utf-8-sig").replace("Lina Marlina", f'"{hostile}"')
    )
    (tmp_path / "roster.csv").write_text(roster_text, encoding="utf-8")
    write_batch(engine, run, POSTS, config.campaign.tz)
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 1, 23, 0, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "out", START, END, calendar)

    names = {p.name for p in result.files}
    assert {"roster.csv", "roster_heatmap.png", "roster_share.png"} <= names
    raw = (result.out_dir / "roster.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ROSTER_COLUMNS
    assert rows[1] == [
        "Budi Santoso",
        "KIM Mayangan",
        "Mayangan",
        "Mayangan",
        "3",
        "22",
        "2",
        "2022-09-28",
        "0",
    ]
    assert rows[4] == [
        "Siti Aminah",
        "KIM Wonoasih",
        "Wonoasih",
        "Wonoasih",
        "1",
        "7",
        "1",
        "2022-10-01",
        "0",
    ]
    # Members without posts: zeros and no date, by name ('=' sorts before letters).
    assert rows[5][0] == "'" + hostile and rows[5][4:] == ["0", "0", "0", "", "0"]
    assert rows[6] == ["Agus Salim", "LPM Kanigaran", "Kanigaran", "Kanigaran", "0", "0", "0", "", "0"]
    assert len(rows) == 7

    page = result.index.read_text(encoding="utf-8")
    assert 'id="roster"' in page
    assert 'src="roster_heatmap.png"' in page and 'src="roster_share.png"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    # The list is read the next morning: it names its day, not "today".
    heading = "Belum posting pada Sab 1 Okt" if language == "id" else "Not yet posted on Sat 1 Oct"
    quiet = "Diam 3 hari atau lebih" if language == "id" else "Quiet for 3+ days"
    assert heading in page and quiet in page
    section = page[page.index('id="roster-quiet"') : page.index('id="roster-kecamatan"')]
    assert "Rudi Hartono" in section and "Siti Aminah" not in section
    engine.dispose()


@pytest.mark.parametrize("platforms", [(), ("instagram",)])
def test_the_roster_share_is_a_share_of_the_day_tables_posts(  # type: ignore[no-untyped-def]
    write_config, tmp_path: Path, platforms: tuple[str, ...]
) -> None:
    """The roster's pass counts members' posts only; the share's campaign posts are the report's own
    posts per day (the day table's `all` row), the filtered ones with --platform."""
    from reports.build import gather
    from reports.filters import resolve_filter
    from reports.queries import ALL

    config = load_config(write_config('[roster]\npath = "roster.csv"\n'))
    (tmp_path / "roster.csv").write_text(
        (DATA / "roster.csv").read_text(encoding="utf-8-sig"), encoding="utf-8"
    )
    engine = open_engine(config.storage.url)
    write_batch(engine, start_run(engine, "test", None), POSTS, config.campaign.tz)
    scope = ReportScope(config.campaign, START, END, resolve_filter(config, platforms))
    out = tmp_path / "out"
    out.mkdir()
    drawings: list = []  # type: ignore[type-arg]
    data, _, roster_charts = gather(config, engine, scope, out, drawings)
    assert [p.name for p in roster_charts.paths()] == ["roster_heatmap.png", "roster_share.png"]
    for drawing in drawings:
        drawing.wait()
    assert data.roster is not None
    share = data.roster.share.set_index("date")
    totals = data.daily[data.daily.platform == ALL].set_index("date")["posts"]
    assert share["campaign_posts"].to_dict() == totals.to_dict()
    assert int(share["roster_posts"].sum()) == int(data.roster.table["posts"].sum())
    # Hand-counted from POSTS: 10 campaign posts in the range, 8 by members; on Instagram i1, o1, o2,
    # r1, r2, of which o1 and o2 are by the other dewi_lestari.
    expected = (5, 3) if platforms else (10, 8)
    assert (int(share["campaign_posts"].sum()), int(share["roster_posts"].sum())) == expected
    engine.dispose()


def test_report_without_a_roster_file_has_no_roster_section(config, engine, calendar, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = build_report(config, engine, tmp_path / "out", START, END, calendar)
    assert not (result.out_dir / "roster.csv").exists()
    assert not (result.out_dir / "roster_heatmap.png").exists()
    assert 'id="roster"' not in result.index.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# Review fixes: one member per post, kecamatan spellings, roster file problems on the page, a long roster


ROSTER_HEADER = "name,group,kelurahan,kecamatan,facebook,instagram,twitter\n"


def test_a_page_listed_by_handle_and_by_id_for_two_members_counts_once(
    engine, config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        ROSTER_HEADER
        + "Budi,KIM Mayangan,,Mayangan,kim.mayangan,,\nAni,KIM Ketapang,,Kademangan,111222333,,\n",
        encoding="utf-8",
    )
    run = start_run(engine, "test", None)
    write_batch(
        engine,
        run,
        [post("facebook", "p1", d(9, 20), "KIM.Mayangan", author_id="111222333", likes=4)],
        config.campaign.tz,
    )
    report = roster_report(engine, load_roster(roster_file), config.campaign, START, END)
    rows = {r["name"]: r for r in report.table.to_dict("records")}
    # The first member in roster order gets the post; `roster check` reports the clash (test_roster).
    assert (rows["Budi"]["posts"], rows["Ani"]["posts"]) == (1, 0)
    assert int(report.participation.to_numpy().sum()) == 1
    assert int(report.share["roster_posts"].sum()) == int(report.share["campaign_posts"].sum()) == 1
    assert list(report.not_posted_today["name"]) == ["Ani", "Budi"]


def test_kecamatan_spellings_are_one_row(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        ROSTER_HEADER
        + "A,KIM,,Mayangan,kim_a,,\nB,KIM,,mayangan ,kim_b,,\nC,KIM,,MAYANGAN,,,\n"
        + "D,KIM,,Mayangan,,,\nE,LPM,,Kanigaran,,,\n",
        encoding="utf-8",
    )
    run = start_run(engine, "test", None)
    write_batch(engine, run, [post("facebook", "p1", d(9, 20), "kim_b")], config.campaign.tz)
    report = roster_report(engine, load_roster(roster_file), config.campaign, START, END)
    # Grouped on the case-folded name, shown in the most common spelling.
    assert report.kecamatan.values.tolist() == [
        ["Mayangan", 4, 1, 25.0, 1, 0],
        ["Kanigaran", 1, 0, 0.0, 0, 0],
    ]


def roster_page(write_config, tmp_path: Path, roster_text: str, language: str = "en"):  # type: ignore[no-untyped-def]
    config = load_config(write_config('[roster]\npath = "roster.csv"\n', language=language))
    (tmp_path / "roster.csv").write_text(roster_text, encoding="utf-8")
    engine = open_engine(config.storage.url)
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 1, 23, 0, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "out", START, END, calendar)
    engine.dispose()
    return result, result.index.read_text(encoding="utf-8")


def test_an_unreadable_roster_file_is_a_problem_on_the_page(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, page = roster_page(write_config, tmp_path, "nama;akun\nBudi;kim\n")
    # The report is written without the roster, says so where the roster would be, and tells the CLI.
    (problem,) = result.problems
    assert "roster" in problem and "facebook, instagram or twitter column" in problem
    assert not (result.out_dir / "roster.csv").exists()
    notice = page[page.index('id="roster-error"') :]
    assert "could not be read" in notice and "facebook, instagram or twitter column" in notice
    assert "campaign-monitor roster check" in notice and "name,group,kelurahan,kecamatan" in notice


def test_bad_roster_rows_get_a_milder_notice(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, page = roster_page(
        write_config, tmp_path, (DATA / "roster_bad.csv").read_text(encoding="utf-8"), "id"
    )
    assert result.problems == []
    assert result.notes == [
        "5 roster rows have problems (1 skipped); run `campaign-monitor roster check` to see them"
    ]
    notice = page[page.index('id="roster-bad-rows"') :]
    assert notice.startswith('id="roster-bad-rows">5 baris roster bermasalah (1 dilewati;')
    assert "campaign-monitor roster check" in notice[:400]
    assert 'id="roster-members"' in page  # the good rows are still reported


def test_a_long_roster_heatmap_stays_readable(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.text import Text

    roster_file = tmp_path / "roster.csv"
    rows = "".join(f"Anggota KIM Kelurahan Nomor {i},KIM,,Mayangan,kim_{i},,\n" for i in range(94))
    roster_file.write_text(ROSTER_HEADER + rows, encoding="utf-8")
    campaign = config.campaign
    report = roster_report(engine, load_roster(roster_file), campaign, campaign.start, campaign.end)
    ctx = chart_context(report, campaign, "id")
    with charts.chart_style():
        fig = heatmap_figure(report.participation, ctx)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        (ax,) = [a for a in fig.axes if a.get_images()]
        plot = ax.get_window_extent(renderer)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        (title,) = [t for t in texts if t.get_text().startswith("Postingan kampanye per anggota")]
        box = title.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, "the title fits the image"
        # Dates above the plot as well as below it: the foot is far down a long roster.
        dates = [t.get_window_extent(renderer) for t in texts if "19 Sep" in t.get_text()]
        assert any(b.y0 > plot.y1 for b in dates) and any(b.y1 < plot.y0 for b in dates)
        # Names as large as every other chart text (readable on a phone, see charts.TEXT_PT).
        assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= charts.TEXT_PT
    png = heatmap_chart(report.participation, tmp_path / "heatmap.png", ctx).read_bytes()
    width, height = int.from_bytes(png[16:20]), int.from_bytes(png[20:24])
    assert width == charts.WIDTH_IN * charts.DPI and height <= 4000
