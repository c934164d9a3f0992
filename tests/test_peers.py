"""[[peers]]: config, the X query, peer posts kept by imports but never counted for the campaign, and
the share-of-voice section counted by hand.

The fixture (tests/data/peers) holds, for 1 and 2 Oct 2022 (WIB):
- Probolinggo: CpHome001 (1 Oct, 10+2, kim_pilang, also #WeLoveCities), CpHome002 (1 Oct, 20+5,
  kim_mayangan), CpHome003 (2 Oct, 4+1, kim_pilang, only #WeLoveCities), and from the city's own MBS
  export CpHome004 (2 Oct, 40 likes + 6 comments + 2 shares).
- Jakarta: CpJkt0001 (1 Oct, 100+10, #WeLoveJakarta #WeLoveCities), CpJkt0002 (1 Oct, 50+0),
  CpJkt0003 (2 Oct, 30+3, another account, also #WeLoveCities), all from the CrowdTangle file only.
- Balikpapan: CpBpn0001 (2 Oct, 7+1, also #WeLoveCities).
- One post with no campaign or peer tag.
By hand: Probolinggo 1 Oct 2 posts / 37 interactions / 2 accounts, 2 Oct 2 / 53 / 2; Jakarta 1 Oct
2 / 160 / 1, 2 Oct 1 / 33 / 1; Balikpapan 2 Oct 1 / 8 / 1. Shares of posts: 1 Oct 2/4, 2/4, 0;
2 Oct 2/4, 1/4, 1/4. Without [[peers]], the three peer posts carrying #WeLoveCities would be campaign
posts (7 in all); with them, the campaign has its own 4.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.twitter import build_query
from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.collect import twitter_query
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import ConfigError, SourceError
from monitor.ingest import ingest_file
from reports.build import build_report
from reports.charts import DPI, TEXT_PT, min_text_px
from reports.queries import ReportScope, range_totals
from reports.share_of_voice import share_of_voice

PEERS_DIR = Path(__file__).parent / "data" / "peers"
FILES = ["crowdtangle_instagram_cities_SYNTHETIC.csv", "mbs_instagram_home_SYNTHETIC.csv"]
PEERS = """
[[peers]]
name = "DKI Jakarta"
hashtags = ["#WeLoveJakarta"]

[[peers]]
name = "Balikpapan"
hashtags = ["WeLoveBalikpapan"]
"""
DAY1, DAY2 = dt.date(2022, 10, 1), dt.date(2022, 10, 2)


def load(write_config: Callable[..., Path], extra: str = PEERS, language: str = "en") -> Config:
    return load_config(write_config(extra, language))


def imported(config: Config) -> object:
    engine = open_engine(config.storage.url)
    for name in FILES:
        result = ingest_file(config, engine, PEERS_DIR / name)
        assert not result.rejections, result.rejections
    return engine


def calendar(config: Config) -> CampaignCalendar:
    return CampaignCalendar(
        config.campaign, fixed_clock(dt.datetime(2022, 10, 3, 9, tzinfo=config.campaign.tz))
    )


# ---------------------------------------------------------------------------------------------------------
# Config


def test_peers_are_read_with_their_tags(write_config: Callable[..., Path]) -> None:
    config = load(write_config)
    assert [(p.name, p.hashtags) for p in config.peers] == [
        ("DKI Jakarta", ("WeLoveJakarta",)),
        ("Balikpapan", ("WeLoveBalikpapan",)),
    ]
    assert config.campaign.peer_hashtags == {"welovejakarta", "welovebalikpapan"}
    # The city's own tag, not the shared one, decides that a post with a peer tag is still ours.
    assert config.campaign.own_hashtags == {"weloveprobolinggo"}


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ('[[peers]]\nhashtags = ["WeLoveJakarta"]\n', "name", "missing"),
        ('[[peers]]\nname = "Jakarta"\n', "hashtags", "must be a list"),
        ('[[peers]]\nname = "Jakarta"\nhashtags = []\n', "hashtags", "is empty"),
        ('[[peers]]\nname = "Jakarta"\nhashtags = ["WeLoveCities"]\n', "hashtags", "already in campaign"),
        ('[[peers]]\nname = "Jakarta"\nhashtags = ["We Love"]\n', "hashtags", "not a hashtag"),
        ('[[peers]]\nname = "Jakarta"\nhashtag = ["WeLoveJakarta"]\n', "hashtag", "unknown key"),
        (
            '[[peers]]\nname = "A"\nhashtags = ["WeLoveA"]\n[[peers]]\nname = "B"\nhashtags = ["welovea"]\n',
            "hashtags",
            "already in peers[0]",
        ),
    ],
)
def test_bad_peers_are_config_errors_naming_the_key(
    write_config: Callable[..., Path], extra: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(write_config, extra)
    assert key in str(err.value) and problem in str(err.value)


def test_x_query_holds_campaign_and_peer_tags(write_config: Callable[..., Path]) -> None:
    config = load(write_config)
    assert (
        twitter_query(config)
        == "(#WeLoveProbolinggo OR #welovecities OR #WeLoveJakarta OR #WeLoveBalikpapan)"
    )
    # A query set by hand is used as written.
    manual = load(write_config, PEERS.replace("[[peers]]", '[sources.twitter]\nquery = "#X"\n\n[[peers]]', 1))
    assert twitter_query(manual) == "#X"


def test_x_query_stays_within_the_length_leaving_whole_peers_out() -> None:
    query, left_out = build_query(
        ["WeLoveProbolinggo", "WeLoveCities"], [["WeLoveJakarta"], ["WeLoveBalikpapan"]], 70
    )
    assert query == "(#WeLoveProbolinggo OR #WeLoveCities OR #WeLoveJakarta)"
    assert len(query) <= 70 and left_out == ["WeLoveBalikpapan"]
    with pytest.raises(SourceError, match="max_query_length"):
        build_query(["WeLoveProbolinggo", "WeLoveCities"], [], 20)


# ---------------------------------------------------------------------------------------------------------
# Peer posts are kept, and never change the campaign's numbers


def test_imports_keep_peer_posts_and_the_campaign_counts_only_its_own(
    write_config: Callable[..., Path],
) -> None:
    config = load(write_config)
    engine = imported(config)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        stored = conn.exec_driver_sql("SELECT count(*) FROM posts").scalar()
    assert stored == 9  # every row of both files, peers and the untagged one included
    scope = ReportScope(config.campaign, DAY1, DAY2)
    assert range_totals(engine, scope)["posts"] == 4  # type: ignore[arg-type]
    assert range_totals(engine, scope)["interactions"] == 12 + 25 + 5 + 48  # type: ignore[arg-type]

    # The same files without [[peers]]: the peer posts carrying #WeLoveCities count (the old rule).
    without = load_config(write_config("", "en"))
    assert range_totals(engine, ReportScope(without.campaign, DAY1, DAY2))["posts"] == 7  # type: ignore[arg-type]


def test_share_of_voice_matches_the_hand_count(write_config: Callable[..., Path]) -> None:
    config = load(write_config)
    engine = imported(config)
    sov = share_of_voice(engine, config, ReportScope(config.campaign, DAY1, DAY2))  # type: ignore[arg-type]
    assert sov is not None
    got = {
        (r.date, r.city): (r.posts, r.interactions, r.accounts, r.posts_share, r.interactions_share)
        for r in sov.daily.itertuples()
    }
    assert got == {
        (DAY1, "Probolinggo"): (2, 37, 2, 0.5, round(37 / 197, 4)),
        (DAY1, "DKI Jakarta"): (2, 160, 1, 0.5, round(160 / 197, 4)),
        (DAY1, "Balikpapan"): (0, 0, 0, 0.0, 0.0),
        (DAY2, "Probolinggo"): (2, 53, 2, 0.5, round(53 / 94, 4)),
        (DAY2, "DKI Jakarta"): (1, 33, 1, 0.25, round(33 / 94, 4)),
        (DAY2, "Balikpapan"): (1, 8, 1, 0.25, round(8 / 94, 4)),
    }
    home, jakarta, balikpapan = sov.cities
    assert (home.city, home.posts, home.interactions, home.accounts) == ("Probolinggo", 4, 90, 3)
    assert (jakarta.posts, jakarta.interactions, jakarta.accounts) == (3, 193, 2)
    assert home.posts_share == pytest.approx(4 / 8) and jakarta.interactions_share == pytest.approx(193 / 291)
    assert home.sources == ["crowdtangle-instagram", "mbs-instagram"] and not home.one_source
    assert jakarta.sources == ["crowdtangle-instagram"] and jakarta.one_source
    assert balikpapan.one_source


def test_report_shows_share_of_voice_with_completeness_labels(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = load(write_config)
    engine = imported(config)
    result = build_report(config, engine, tmp_path / "out", DAY1, DAY2, calendar(config))  # type: ignore[arg-type]
    html = result.index.read_text(encoding="utf-8")
    assert 'id="share-of-voice"' in html
    assert "seen through one source only (crowdtangle-instagram)" in html
    assert (tmp_path / "out" / "share_of_voice.png").stat().st_size > 0
    # As large as the report's other charts (the browser test measures those at 412 px).
    assert min_text_px(tmp_path / "out" / "share_of_voice.png") == round(TEXT_PT * DPI / 72, 1)
    with (tmp_path / "out" / "share_of_voice.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {
        "date": "2022-10-01",
        "city": "Probolinggo",
        "posts": "2",
        "interactions": "37",
        "accounts": "2",
        "posts_share": "0.5",
        "interactions_share": str(round(37 / 197, 4)),
    }
    # The campaign's own numbers in daily.csv are those of its 4 posts.
    with (tmp_path / "out" / "daily.csv").open(encoding="utf-8-sig") as handle:
        daily = [r for r in csv.DictReader(handle) if r["platform"] == "all"]
    assert [(r["date"], r["posts"], r["interactions"]) for r in daily] == [
        ("2022-10-01", "2", "37"),
        ("2022-10-02", "2", "53"),
    ]


def test_report_without_peers_has_no_share_of_voice(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config("", "en")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-10-03T09:00:00+07:00"}
    runner = CliRunner()
    assert (
        runner.invoke(main, ["--config", str(path), "ingest", str(PEERS_DIR / FILES[0])], env=env).exit_code
        == 0
    )
    out = runner.invoke(main, ["--config", str(path), "report", "--out", str(tmp_path / "r")], env=env)
    assert out.exit_code == 0, out.output
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert 'id="share-of-voice"' not in html and not (tmp_path / "r" / "share_of_voice.csv").exists()


def test_peer_tweets_get_their_metrics_refreshed_too(write_config: Callable[..., Path]) -> None:
    from monitor.collect import tweets_to_refresh
    from monitor.records import PostRecord, collect_hashtags
    from monitor.store import start_run, write_batch

    config = load(write_config)
    engine = open_engine(config.storage.url)
    seen = dt.datetime(2022, 10, 1, 8, tzinfo=config.campaign.tz)
    tweets = [
        ("1001", "#WeLoveProbolinggo pagi"),
        ("1002", "Monas #WeLoveJakarta #WeLoveCities"),
        ("1003", "Liburan #Bali"),
    ]
    records = [
        PostRecord("twitter", key, seen, "x_api", text=text, hashtags=collect_hashtags(text))
        for key, text in tweets
    ]
    write_batch(engine, start_run(engine, "x_api", None), records, config.campaign.tz, now=seen)
    assert sorted(tweets_to_refresh(engine, config.campaign, seen + dt.timedelta(hours=12))) == [
        "1001",
        "1002",
    ]


def test_the_import_summary_names_peer_posts(write_config: Callable[..., Path]) -> None:
    path = write_config(PEERS, "en")
    env = {"CAMPAIGN_MONITOR_NOW": "2022-10-03T09:00:00+07:00"}
    out = CliRunner().invoke(main, ["--config", str(path), "ingest", str(PEERS_DIR / FILES[0])], env=env)
    assert out.exit_code == 0, out.output
    # 3 own posts; Jkt0001, Jkt0003 and Bpn0001 carry #WeLoveCities but are the peers'; Jkt0002 and
    # the holiday post carry no campaign tag at all.
    assert (
        "3 campaign posts; not counted: 2 without #WeLoveProbolinggo/#welovecities, 3 of peer cities"
        in out.output
    )
