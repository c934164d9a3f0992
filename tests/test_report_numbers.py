"""The report's numbers (daily.csv, top_posts.csv, hashtags.csv, the page) against posts stored through
store.write_batch: local-midnight and window edges, retweets, unknown metrics, the same post from two
sources, untagged posts, zero-filled days, CSV safety, both languages, and hostile post text."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import UsageError
from monitor.records import PostRecord, collect_hashtags
from monitor.store import finish_run, start_run, write_batch
from reports.build import ReportResult, build_report
from reports.charts import ChartContext, chart_style, new_figure, thousands_axis
from reports.files import neutralize
from reports.html import web_url
from reports.labels import LABELS, format_number
from reports.queries import ReportScope, posting_times, range_totals, top_accounts
from reports.synthetic import add_sent_reminders

# Its module-scoped fixtures are computed once: tests/conftest.py runs its tests in one test process.

WIB = dt.timezone(dt.timedelta(hours=7))
CONFIG = """\
[campaign]
name = "We Love Cities 2022 - Kota Probolinggo"
city = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo", "#welovecities"]
language = "{language}"

[storage]
url = "{url}"
"""
HOSTILE_TEXT = '=HYPERLINK("http://evil.example","x") <script>alert(1)</script> #welovecities'
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def post(key: str, when: dt.datetime, text: str = "#WeLoveProbolinggo", **kw: object) -> PostRecord:
    fields: dict[str, object] = {
        "platform": "facebook",
        "post_key": key,
        "created_at": when,
        "source": "crowdtangle_facebook",
        "text": text,
        "url": f"https://www.facebook.com/kim/posts/{key}",
        "author_id": "100",
        "author_handle": "kim_mayangan",
        "hashtags": collect_hashtags(text),
    }
    fields.update(kw)
    return PostRecord(**fields)  # type: ignore[arg-type]


def store_posts(engine: Engine, config: Config) -> None:
    """The campaign in miniature; expected numbers are worked out by hand in the tests."""
    tz = config.campaign.tz
    first = start_run(engine, "crowdtangle_facebook", "/inbox/crowdtangle-week1.csv")
    write_batch(
        engine,
        first,
        [
            # 00:00 WIB on the first day is day 1; one minute earlier is the day before the window.
            post("f1", dt.datetime(2022, 9, 19, 0, 0, tzinfo=WIB), likes=10, comments=2, shares=3),
            post("f0", dt.datetime(2022, 9, 18, 23, 59, tzinfo=WIB), likes=50, comments=0, shares=0),
            # Same author, second post that day: unknown comments and shares count as 0.
            post("f3", dt.datetime(2022, 9, 19, 21, 0, tzinfo=WIB), text=HOSTILE_TEXT, likes=1),
            # Untagged (#WeLoveProbolinggo2022 is another tag): not a campaign post.
            post("u1", dt.datetime(2022, 9, 19, 9, 0, tzinfo=WIB), text="#WeLoveProbolinggo2022", likes=500),
            # Seen first by this export with 1 like ...
            post(
                "f2",
                dt.datetime(2022, 9, 20, 10, 0, tzinfo=WIB),
                author_id="200",
                author_handle="lpm",
                likes=1,
            ),
        ],
        tz,
    )
    finish_run(engine, first, "ok")
    second = start_run(engine, "meta_facebook_export", "/inbox/meta-facebook.csv")
    # ... and again by another source with 7: counted once, the latest observation wins.
    write_batch(
        engine,
        second,
        [
            post(
                "f2",
                dt.datetime(2022, 9, 20, 10, 0, tzinfo=WIB),
                source="meta_facebook_export",
                author_id="200",
                author_handle="lpm",
                likes=7,
                comments=0,
                shares=0,
            )
        ],
        tz,
    )
    finish_run(engine, second, "ok")
    third = start_run(engine, "instagram_twitter", "/inbox/mixed.csv")
    write_batch(
        engine,
        third,
        [
            post(
                "i1",
                dt.datetime(2022, 9, 19, 12, 0, tzinfo=WIB),
                text="#WeLoveProbolinggo dan #WeLoveCities",
                platform="instagram",
                source="meta_instagram_export",
                author_id=None,
                author_handle="warga_ig",
                author_name=HOSTILE_NAME,
                url="javascript:alert(1)",
                likes=None,
                comments=4,
            ),
            # A twitter account with the same id as the facebook one is another account.
            post(
                "t1",
                dt.datetime(2022, 9, 19, 8, 0, tzinfo=WIB),
                text="#WELOVEPROBOLINGGO",
                platform="twitter",
                source="twarc_csv",
                likes=5,
                comments=0,
                shares=1,
            ),
            post(
                "rt1",
                dt.datetime(2022, 9, 19, 9, 0, tzinfo=WIB),
                platform="twitter",
                source="twarc_csv",
                is_repost=True,
                likes=1000,
                comments=10,
                shares=10,
            ),
            # The last minute of the window is in; the first minute after it is out.
            post(
                "i_end",
                dt.datetime(2022, 10, 31, 23, 59, tzinfo=WIB),
                platform="instagram",
                source="meta_instagram_export",
                author_id=None,
                author_handle="warga_ig",
                likes=1234,
                comments=None,
            ),
            post(
                "i_after",
                dt.datetime(2022, 11, 1, 0, 0, tzinfo=WIB),
                platform="instagram",
                source="meta_instagram_export",
                likes=999,
            ),
        ],
        tz,
    )
    finish_run(engine, third, "ok")


def make_report(root: Path, language: str, url: str) -> tuple[ReportResult, Config, Engine]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(CONFIG.format(language=language, url=url), encoding="utf-8")
    config = load_config(root / "config.toml")
    engine = open_engine(config.storage.url)
    store_posts(engine, config)
    after = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 11, 5, 9, 0, tzinfo=WIB)))
    return build_report(config, engine, root / "out", calendar=after), config, engine


@pytest.fixture(scope="module")
def report_id(tmp_path_factory: pytest.TempPathFactory, module_database: Callable[[], str]) -> ReportResult:
    result, _config, engine = make_report(tmp_path_factory.mktemp("report_id"), "id", module_database())
    engine.dispose()
    return result


@pytest.fixture(scope="module")
def report_en(tmp_path_factory: pytest.TempPathFactory, module_database: Callable[[], str]) -> ReportResult:
    result, _config, engine = make_report(tmp_path_factory.mktemp("report_en"), "en", module_database())
    engine.dispose()
    return result


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV for people starts with a UTF-8 BOM"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def ints(row: dict[str, str], *names: str) -> tuple[int, ...]:
    return tuple(int(row[name]) for name in names)


# ---------------------------------------------------------------------------------------------------------
# daily.csv


def test_daily_csv_numbers(report_id: ReportResult) -> None:
    assert (report_id.start, report_id.end) == (dt.date(2022, 9, 19), dt.date(2022, 10, 31))
    rows = read_csv(report_id.out_dir / "daily.csv")
    assert list(rows[0]) == [
        "date",
        "campaign_day",
        "platform",
        "posts",
        "authors",
        "likes",
        "comments",
        "shares",
        "interactions",
    ]
    by = {(r["date"], r["platform"]): r for r in rows}
    cols = ("posts", "authors", "likes", "comments", "shares", "interactions")
    # Day 1: f1 + f3 on facebook (one author), i1 on instagram (likes unknown), t1 on twitter.
    # f0 (23:59 the day before), u1 (untagged) and rt1 (a retweet) add nothing.
    assert ints(by[("2022-09-19", "facebook")], *cols) == (2, 1, 11, 2, 3, 16)
    assert ints(by[("2022-09-19", "instagram")], *cols) == (1, 1, 0, 4, 0, 4)
    assert ints(by[("2022-09-19", "twitter")], *cols) == (1, 1, 5, 0, 1, 6)
    # all: authors are distinct (platform, author): facebook 100 and twitter 100 are two accounts.
    assert ints(by[("2022-09-19", "all")], *cols) == (4, 3, 16, 6, 4, 26)
    assert by[("2022-09-19", "all")]["campaign_day"] == "1"
    # Day 2: f2 seen by two sources is one post with the latest likes (7).
    assert ints(by[("2022-09-20", "facebook")], *cols) == (1, 1, 7, 0, 0, 7)
    assert ints(by[("2022-09-20", "all")], *cols) == (1, 1, 7, 0, 0, 7)
    # The last minute of the window counts; the first minute after does not appear at all.
    assert ints(by[("2022-10-31", "instagram")], *cols) == (1, 1, 1234, 0, 0, 1234)
    assert by[("2022-10-31", "all")]["campaign_day"] == "43"
    assert ("2022-09-18", "all") not in by and ("2022-11-01", "all") not in by


def test_daily_csv_zero_fill_and_order(report_id: ReportResult) -> None:
    rows = read_csv(report_id.out_dir / "daily.csv")
    assert len(rows) == 43 * 4  # every day x (facebook, instagram, twitter, all)
    quiet = [r for r in rows if r["date"] == "2022-09-21"]
    assert [r["platform"] for r in quiet] == ["facebook", "instagram", "twitter", "all"]
    assert all(ints(r, "posts", "interactions") == (0, 0) for r in quiet)
    keys = [(r["date"], r["platform"] == "all", r["platform"]) for r in rows]
    assert keys == sorted(keys)
    # The per-day sums of the platforms equal the `all` row (except authors, which are distinct).
    totals = sum(int(r["interactions"]) for r in rows if r["platform"] == "all")
    assert (
        totals == sum(int(r["interactions"]) for r in rows if r["platform"] != "all") == 16 + 4 + 6 + 7 + 1234
    )


def test_daily_csv_only_platforms_with_posts(tmp_path: Path, database: str) -> None:
    (tmp_path / "config.toml").write_text(CONFIG.format(language="en", url=database), encoding="utf-8")
    config = load_config(tmp_path / "config.toml")
    engine = open_engine(config.storage.url)
    run = start_run(engine, "x", None)
    write_batch(
        engine, run, [post("only", dt.datetime(2022, 9, 25, 9, 0, tzinfo=WIB), likes=2)], config.campaign.tz
    )
    cal = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 9, 26, 9, 0, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "out", dt.date(2022, 9, 24), None, cal)
    engine.dispose()
    rows = read_csv(result.out_dir / "daily.csv")
    # The range runs to today (the 26th) while the campaign is on; only facebook had posts.
    assert [(r["date"], r["platform"], r["posts"]) for r in rows] == [
        ("2022-09-24", "facebook", "0"),
        ("2022-09-24", "all", "0"),
        ("2022-09-25", "facebook", "1"),
        ("2022-09-25", "all", "1"),
        ("2022-09-26", "facebook", "0"),
        ("2022-09-26", "all", "0"),
    ]


# ---------------------------------------------------------------------------------------------------------
# top_posts.csv, hashtags.csv


def test_top_posts_csv(report_id: ReportResult) -> None:
    rows = read_csv(report_id.out_dir / "top_posts.csv")
    assert list(rows[0]) == [
        "rank",
        "platform",
        "date",
        "author",
        "url",
        "likes",
        "comments",
        "shares",
        "interactions",
        "text",
    ]
    assert [(r["rank"], r["platform"], r["date"], r["interactions"]) for r in rows] == [
        ("1", "instagram", "2022-10-31", "1234"),
        ("2", "facebook", "2022-09-19", "15"),
        ("3", "facebook", "2022-09-20", "7"),
        ("4", "twitter", "2022-09-19", "6"),
        ("5", "instagram", "2022-09-19", "4"),
        ("6", "facebook", "2022-09-19", "1"),
    ]
    assert rows[2]["author"] == "lpm" and rows[2]["url"] == "https://www.facebook.com/kim/posts/f2"
    # Formula neutralization: the hostile text starts with '=', so it is prefixed with an apostrophe.
    assert rows[5]["text"] == "'" + HOSTILE_TEXT
    # i1: likes and shares unknown (NULL) are empty cells, not 0; interactions counts them as 0.
    assert [rows[4][m] for m in ("likes", "comments", "shares", "interactions")] == ["", "4", "", "4"]
    assert ints(rows[1], "likes", "comments", "shares") == (10, 2, 3)


def test_hashtags_csv(report_id: ReportResult) -> None:
    rows = read_csv(report_id.out_dir / "hashtags.csv")
    assert list(rows[0]) == ["date", "hashtag", "posts", "interactions"]
    assert len(rows) == 43 * 2
    by = {(r["date"], r["hashtag"]): ints(r, "posts", "interactions") for r in rows}
    # Tags in the config's spelling; i1 carries both and counts under each.
    assert by[("2022-09-19", "WeLoveProbolinggo")] == (3, 15 + 4 + 6)
    assert by[("2022-09-19", "welovecities")] == (2, 1 + 4)
    assert by[("2022-09-20", "WeLoveProbolinggo")] == (1, 7)
    assert by[("2022-09-21", "welovecities")] == (0, 0)


def test_csv_neutralization_rules() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralize(cell) == "'" + cell
    assert neutralize("ok =1") == "ok =1"
    assert neutralize(-5) == -5  # numbers are numbers


# ---------------------------------------------------------------------------------------------------------
# The page


def card(html: str, card_id: str) -> str:
    match = re.search(rf'id="{card_id}">.*?class="value">([^<]*)<', html, re.S)
    assert match, card_id
    return match.group(1)


def test_html_headline_numbers_and_language(report_id: ReportResult, report_en: ReportResult) -> None:
    page_id = report_id.index.read_text(encoding="utf-8")
    page_en = report_en.index.read_text(encoding="utf-8")
    # 6 campaign posts, 26 + 7 + 1234 interactions, 4 accounts (facebook 100 and 200, twitter 100,
    # instagram warga_ig); the last day (31 Oct) had 1 post against 0 the day before; 0 days left.
    assert card(page_id, "total-posts") == "6"
    assert card(page_id, "total-interactions") == "1.267"
    assert card(page_en, "total-interactions") == "1,267"
    assert card(page_id, "total-accounts") == "4"
    assert card(page_id, "days-left") == "0"
    assert card(page_en, "last-interactions") == "1,234"
    assert re.search(r'id="last-posts">.*?<span class="up">\+1</span>', page_en, re.S)
    assert '<html lang="id">' in page_id and '<html lang="en">' in page_en
    for key in ("top_posts", "coverage", "reminders", "days_left"):
        assert LABELS["id"][key] in page_id and LABELS["en"][key] in page_en
    assert LABELS["en"]["top_posts"] not in page_id
    assert "Sen 19 Sep 2022" in page_id and "Mon 19 Sep 2022" in page_en


def test_html_coverage_shows_sources_and_gaps(report_id: ReportResult) -> None:
    page = report_id.index.read_text(encoding="utf-8")
    # The gap days first, as a short list; the full 43-row table is folded into <details>.
    gap_list = page[page.index('id="coverage-gaps"') : page.index('id="coverage-table"')]
    listed = re.findall(r"<li>([^<]+?) <span", gap_list)
    assert len(listed) == 43 - 3 and "Rab 21 Sep" in listed and "Sen 19 Sep" not in listed
    table = page[page.index('<details id="coverage-table">') : page.index("</details>")]
    rows = re.findall(r"<tr class=\"(gap)?\"><td>([^<]+)</td>.*?</tr>", table, re.S)
    assert len(rows) == 43
    gaps = [day for gap, day in rows if gap]
    assert "Rab 21 Sep 2022" in gaps and "Sen 19 Sep 2022" not in gaps
    day2 = re.search(r"<td>Sel 20 Sep 2022</td>.*?</tr>", page, re.S)
    assert day2 and "meta_facebook_export (1)" in day2.group(0)
    assert "<bdi>meta-facebook.csv</bdi> (1)" in day2.group(0)  # a file name is anyone's text


def test_html_escapes_hostile_text(report_id: ReportResult) -> None:
    page = report_id.index.read_text(encoding="utf-8")
    assert "<script" not in page  # neither the post's script nor any of our own
    assert "<img src=x" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "javascript:" not in page
    hrefs = re.findall(r'<a href="([^"]*)"', page)
    posts = [h for h in hrefs if not h.endswith((".csv", ".png", ".xlsx", ".pdf"))]
    # Five of the six top posts have https URLs; the javascript: one gets no anchor.
    assert len(posts) == 5 and all(h.startswith("https://") for h in posts)


def test_web_url_accepts_only_plain_http_links() -> None:
    assert web_url("https://x.com/a/status/1") == "https://x.com/a/status/1"
    assert web_url(" http://example.org/p?a=1&b=2 ") == "http://example.org/p?a=1&b=2"
    for bad in (
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "java\tscript:x",
        "data:text/html,x",
        "//x.com",
        "/relative",
        "https://x.com/\nalert",
        None,
        5,
    ):
        assert web_url(bad) is None, bad


def test_format_number_by_language() -> None:
    assert format_number(1234567, "id") == "1.234.567"
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(12.5, "id", 1) == "12,5"
    assert LABELS["id"].keys() == LABELS["en"].keys()


# ---------------------------------------------------------------------------------------------------------
# Ranges and local hours


def test_range_is_cut_to_the_window_and_checked(
    config: Config, engine: Engine, calendar: CampaignCalendar, tmp_path: Path
) -> None:
    result = build_report(config, engine, tmp_path / "r", dt.date(2022, 9, 1), dt.date(2022, 9, 20), calendar)
    assert (result.start, result.end) == (dt.date(2022, 9, 19), dt.date(2022, 9, 20))
    assert {p.name for p in result.files} >= {
        "index.html",
        "daily.csv",
        "top_posts.csv",
        "hashtags.csv",
        "posts_per_day.png",
        "interactions_per_day.png",
        "hashtags.png",
        "top_accounts.png",
        "posting_times.png",
    }
    with pytest.raises(UsageError, match="after it ends"):
        build_report(config, engine, tmp_path / "r", dt.date(2022, 9, 25), dt.date(2022, 9, 20), calendar)
    with pytest.raises(UsageError, match="outside the campaign 2022-09-19..2022-10-31"):
        build_report(config, engine, tmp_path / "r", dt.date(2022, 12, 1), dt.date(2022, 12, 2), calendar)


def test_posting_times_are_local(config: Config, engine: Engine) -> None:
    run = start_run(engine, "x", None)
    when = [
        dt.datetime(2022, 9, 19, 0, 30, tzinfo=WIB),  # Monday 00:xx local (Sunday 17:30 UTC)
        dt.datetime(2022, 9, 25, 23, 45, tzinfo=WIB),  # Sunday 23:xx local
        dt.datetime(2022, 9, 25, 23, 50, tzinfo=WIB),
    ]
    write_batch(engine, run, [post(f"p{i}", w) for i, w in enumerate(when)], config.campaign.tz)
    grid = posting_times(engine, ReportScope(config.campaign, config.campaign.start, config.campaign.end))
    assert int(grid.loc[0, 0]) == 1 and int(grid.loc[6, 23]) == 2
    assert int(grid.to_numpy().sum()) == 3


@pytest.mark.parametrize("sqlite", ["3.38 and newer", "before 3.38"])
def test_the_last_microsecond_of_an_hour_stays_in_that_hour(
    config: Config, engine: Engine, monkeypatch: pytest.MonkeyPatch, sqlite: str
) -> None:
    # SQLite's unixepoch() and strftime('%s') round 16:59:59.999999 up to 17:00; the chart must not
    # (PostgreSQL never did). An SQLite before 3.38 has no unixepoch(): the query uses strftime there.
    if sqlite == "before 3.38" and engine.dialect.name == "sqlite":
        monkeypatch.setattr(engine.dialect, "server_version_info", (3, 37, 2))
    run = start_run(engine, "x", None)
    late = dt.datetime(2022, 9, 19, 16, 59, 59, 999999, tzinfo=dt.UTC)  # Monday 23:59:59.999999 local
    write_batch(engine, run, [post("edge", late)], config.campaign.tz)
    grid = posting_times(engine, ReportScope(config.campaign, config.campaign.start, config.campaign.end))
    assert int(grid.loc[0, 23]) == 1 and int(grid.to_numpy().sum()) == 1


# ---------------------------------------------------------------------------------------------------------
# Today, the range and days left


def test_range_is_cut_at_today_and_the_last_day_says_so_far(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    run = start_run(engine, "x", None)
    posts = [
        post("a", dt.datetime(2022, 10, 9, 20, 0, tzinfo=WIB)),
        post("b", dt.datetime(2022, 10, 10, 7, 0, tzinfo=WIB)),
    ]
    write_batch(engine, run, posts, config.campaign.tz)
    morning = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 10, 8, 15, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "r", None, dt.date(2022, 10, 31), morning)
    # No empty future days: the range stops today, and the result and the page say why.
    assert result.end == dt.date(2022, 10, 10)
    assert read_csv(result.out_dir / "daily.csv")[-1]["date"] == "2022-10-10"
    assert any("ends today (2022-10-10), not 2022-10-31" in note for note in result.notes)
    page = result.index.read_text(encoding="utf-8")
    assert 'id="range-cut"' in page and LABELS["id"]["range_cut"] in page
    # Today is not over: its cards count the morning only, and say so.
    heading = re.search(r'<h2 id="last-day">.*?</h2>', page, re.S)
    assert heading and "sejauh ini (sampai 08:15)" in heading.group(0)
    assert card(page, "days-left") == "21"  # 10 Oct .. 31 Oct, counted from today

    # A range that ends before today: nothing cut, a whole last day, the same days left.
    earlier = build_report(config, engine, tmp_path / "e", None, dt.date(2022, 10, 9), morning)
    page = earlier.index.read_text(encoding="utf-8")
    assert earlier.notes == [] and 'id="range-cut"' not in page and "sejauh ini" not in page
    assert card(page, "days-left") == "21"
    with pytest.raises(UsageError, match="after today"):
        build_report(config, engine, tmp_path / "f", dt.date(2022, 10, 11), None, morning)


def test_days_left_after_the_campaign_is_zero_for_a_past_range(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    after = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 11, 5, 9, 0, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "r", None, dt.date(2022, 10, 15), after)
    assert result.end == dt.date(2022, 10, 15) and result.notes == []
    assert card(result.index.read_text(encoding="utf-8"), "days-left") == "0"


def test_only_from_after_the_window_names_the_window(config: Config, engine: Engine, tmp_path: Path) -> None:
    after = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 11, 5, 9, 0, tzinfo=WIB)))
    with pytest.raises(
        UsageError, match=r"the range 2022-11-05\.\.2022-10-31 is outside the campaign"
    ) as err:
        build_report(config, engine, tmp_path / "r", dt.date(2022, 11, 5), None, after)
    assert "swap" not in str(err.value)


# ---------------------------------------------------------------------------------------------------------
# Accounts, unknown metrics, statuses and untrusted names on the page


def test_a_handle_in_another_case_is_the_same_account(config: Config, engine: Engine) -> None:
    run = start_run(engine, "x", None)
    when = dt.datetime(2022, 9, 25, 9, 0, tzinfo=WIB)
    posts = [
        post("a", when, platform="instagram", author_id=None, author_handle="KIM_Mayangan"),
        post("b", when, platform="instagram", author_id=None, author_handle="kim_mayangan"),
    ]
    write_batch(engine, run, posts, config.campaign.tz)
    scope = ReportScope(config.campaign, config.campaign.start, config.campaign.end)
    assert range_totals(engine, scope)["authors"] == 1
    (account,) = top_accounts(engine, scope).to_dict("records")
    assert account["posts"] == 2


def test_unknown_metrics_show_as_a_dash_on_the_page(report_en: ReportResult) -> None:
    page = report_en.index.read_text(encoding="utf-8")
    section = page[page.index('id="top-posts"') : page.index('id="top-accounts"')]
    # i1 (warga_ig): likes and shares unknown, 4 comments, 4 interactions.
    row = re.search(r"<tr><td class=\"n\">5</td>.*?</tr>", section, re.S)
    assert row and row.group(0).count('<span title="unknown">&ndash;</span>') == 2
    assert '<td class="n">4</td>' in row.group(0)


def test_statuses_are_translated_and_names_isolated(config: Config, engine: Engine, tmp_path: Path) -> None:
    rlo_name = "abc\u202egnp.exe"  # a right-to-left override would reverse the rest of the cell
    run = start_run(engine, "x", None)
    rlo_post = post(
        "r",
        dt.datetime(2022, 9, 25, 9, 0, tzinfo=WIB),
        author_handle=rlo_name,
        text="\u202e #WeLoveProbolinggo",
    )
    write_batch(engine, run, [rlo_post], config.campaign.tz)
    add_sent_reminders(engine, config.campaign, dt.date(2022, 9, 25))  # day 4 is `missed`
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 9, 25, 21, 0, tzinfo=WIB)))
    page = build_report(config, engine, tmp_path / "r", calendar=calendar).index.read_text(encoding="utf-8")
    reminders = page[page.index('id="reminders"') : page.index('id="downloads"')]
    assert '<td class="status-sent">terkirim</td>' in reminders
    assert '<td class="status-missed">terlewat</td>' in reminders
    assert ">sent<" not in reminders and ">missed<" not in reminders
    assert f"<bdi>{rlo_name}</bdi>" in page  # top posts and top accounts
    assert "<bdi>\u202e #WeLoveProbolinggo</bdi>" in page
    assert rlo_name not in page.replace(f"<bdi>{rlo_name}</bdi>", "")


def test_count_axes_have_whole_number_ticks(config: Config) -> None:
    scope = ReportScope(config.campaign, config.campaign.start, config.campaign.end)
    ctx = ChartContext(scope, "en")
    with chart_style():
        fig = new_figure()
        ax = fig.add_subplot()
        ax.bar([1, 2, 3], [0, 1, 1])  # a quiet start: at most one post a day
        thousands_axis(ax, ctx)
        fig.canvas.draw()
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(float(t).is_integer() for t in ticks), ticks
    assert len(labels) == len(set(labels)), labels  # never "0 0 0 1 1 1"


def test_one_spelling_per_account_and_platform_beside_shared_names(engine, config) -> None:
    """KIM_Mayangan (from twarc, the platform's own spelling) and kim_mayangan (typed in a sheet) are
    one account shown one way; the same name on Instagram gets its platform beside it."""
    from monitor.records import PostRecord, collect_hashtags
    from monitor.store import start_run, write_batch
    from reports.queries import ReportScope, top_accounts, top_posts

    tz = config.campaign.tz
    tags = collect_hashtags("#WeLoveProbolinggo")
    when = dt.datetime(2022, 9, 20, 10, 0, tzinfo=tz)

    def post(key: str, platform: str, handle: str, source: str, author_id: str | None = None) -> PostRecord:
        return PostRecord(platform=platform, post_key=key, created_at=when, source=source, text="#Welove",
                          author_handle=handle, author_id=author_id, likes=1, hashtags=tags)  # fmt: skip

    run = start_run(engine, "test", None)
    write_batch(engine, run, [
        post("1", "twitter", "KIM_Mayangan", "twarc-csv"),
        post("2", "twitter", "kim_mayangan", "kim-sheet"),
        post("3", "twitter", "kim_mayangan", "kim-sheet"),
        post("4", "instagram", "kim_mayangan", "kim-sheet"),
        post("5", "instagram", "Kim_Mayangan", "kim-sheet"),
        post("6", "instagram", "kim_mayangan", "kim-sheet"),
    ], tz)  # fmt: skip
    scope = ReportScope(config.campaign, config.campaign.start, config.campaign.end)
    accounts = top_accounts(engine, scope)
    assert sorted(accounts["author"]) == ["KIM_Mayangan (twitter)", "kim_mayangan (instagram)"]
    assert set(top_posts(engine, scope)["author"]) == {"KIM_Mayangan", "kim_mayangan"}
    twitter = top_posts(engine, scope)
    assert set(twitter[twitter["platform"] == "twitter"]["author"]) == {"KIM_Mayangan"}
    # Posts stored without a link get one built from their key.
    assert set(twitter["url"]) >= {"https://x.com/KIM_Mayangan/status/1", "https://www.instagram.com/p/4/"}
