"""JSON and NDJSON inputs end to end: Zeeschuimer captures, Apify datasets, instaloader files, and the
2025-26 CSV layouts (Apify CSV, TikTok Studio, Meta Business Suite 2025, Meta Content Library).

Fixtures: tests/data/items/ (see its README.md) and tests/data/exports/ (copied from
../shared/formats/fixtures/: apify/, tiktok/, meta_content_library/, meta_business_suite/).
"""

from __future__ import annotations

import datetime as dt
import json
import lzma
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from monitor import item_import
from monitor.cli import main
from monitor.config import Config
from monitor.inbox import Inbox
from monitor.ingest import ingest_file, ingest_paths

DATA = Path(__file__).parent / "data"
ITEMS = DATA / "items"
EXPORTS = DATA / "exports"


def rows(engine: Engine, sql: str, **params: object) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def posts(engine: Engine) -> list[Any]:
    return rows(
        engine,
        "select platform, post_key, source, author_handle, likes, comments, shares, views, url from posts "
        "order by platform, post_key",
    )


def tags(engine: Engine, key: str) -> set[str]:
    sql = "select tag from post_hashtags h join posts p on p.id = h.post_id where p.post_key = :k"
    return {r.tag for r in rows(engine, sql, k=key)}


def lines_of(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (ITEMS / name).read_text(encoding="utf-8").splitlines() if line]


def write_ndjson(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# Each layout from its fixture


@pytest.mark.parametrize(
    ("name", "family", "expected"),
    [
        # 4CAT's mapper on the same lines gives 306 likes / 37 comments for @abc7ny (FORMATS-2026.md 1b)
        (
            "instagram_feed_abc7ny_mets_REAL.ndjson",
            "zeeschuimer",
            [
                ("instagram", "DUg1bTgkfzG", "zeeschuimer-instagram", "mets", 448, 6, None, None,
                 "https://www.instagram.com/p/DUg1bTgkfzG/"),
                ("instagram", "DUgjOD7D0br", "zeeschuimer-instagram", "abc7ny", 306, 37, None, None,
                 "https://www.instagram.com/p/DUgjOD7D0br/"),
            ],
        ),
        # Hidden likes: Instagram's placeholder 3 is stored as unknown
        (
            "instagram_feed_hidden_likes_fact_REAL.ndjson",
            "zeeschuimer",
            [("instagram", "DUdpp93EWcd", "zeeschuimer-instagram", "fact", None, 65, None, None,
              "https://www.instagram.com/p/DUdpp93EWcd/")],
        ),
        (
            "tiktok_search_haberturktv_REAL.ndjson",
            "zeeschuimer",
            [("tiktok", "7288995634328177926", "zeeschuimer-tiktok", "haberturktv", 59, 3, 0, 3597,
              "https://www.tiktok.com/@haberturktv/video/7288995634328177926")],
        ),
        # X: shares = retweets + quotes, views from the string views.count, key from rest_id
        (
            "twitter_searchtimeline_2orgs_REAL.ndjson",
            "zeeschuimer",
            [
                ("twitter", "1703809918480842984", "zeeschuimer-x", "ChristensenInst", 651, 51, 92, 2384510,
                 "https://x.com/ChristensenInst/status/1703809918480842984"),
                ("twitter", "1710311911869325599", "zeeschuimer-x", "NGI4eu", 11, 1, 2, 175652,
                 "https://x.com/NGI4eu/status/1710311911869325599"),
            ],
        ),
        # Threads: shares = reposts + quotes (4CAT: likes 42, reposts 3, replies 5, quotes 1)
        (
            "threads_post_SYNTHETIC.ndjson",
            "zeeschuimer",
            [("threads", "DSYNTH0001a", "zeeschuimer-threads", "example_city_official", 42, 5, 4, None,
              "https://www.threads.com/@example_city_official/post/DSYNTH0001a")],
        ),
        (
            "apify_instagram_scraper_items_excerpt.json",
            "apify-instagram",
            [
                ("instagram", "DMsI5LsyOvL", "apify-instagram", "pixxie_official", 4244, 0, None, None,
                 "https://www.instagram.com/p/DMsI5LsyOvL/"),
                ("instagram", "DNN1r3NSBlA", "apify-instagram", "pixxie_official", 7292, 8, None, 20689,
                 "https://www.instagram.com/p/DNN1r3NSBlA/"),
            ],
        ),
        (
            "apify_tiktok_scraper_items_SYNTHETIC.json",
            "apify-tiktok",
            [("tiktok", "7540000000000000001", "apify-tiktok", "example_city_official", 1520, 36, 48, 23100,
              "https://www.tiktok.com/@example_city_official/video/7540000000000000001")],
        ),
        (
            "post_metadata_SYNTHETIC.json",
            "instaloader",
            [("instagram", "C9AbCdEfGhI", "instaloader", "contoh_akun", 412, 17, None, None,
              "https://www.instagram.com/p/C9AbCdEfGhI/")],
        ),
    ],
)  # fmt: skip
def test_each_json_layout_imports(
    config: Config, engine: Engine, name: str, family: str, expected: list[tuple[Any, ...]]
) -> None:
    result = ingest_file(config, engine, ITEMS / name)
    assert (result.status, result.format, result.rejected_total) == ("ok", family, 0), result.message
    assert [tuple(r) for r in posts(engine)] == expected
    run = rows(engine, "select source, status, rows_new from collection_runs where id = :i", i=result.run_id)
    assert [tuple(r) for r in run] == [(family, "ok", len(expected))]


def test_hashtags_come_from_the_items_own_lists(config: Config, engine: Engine) -> None:
    ingest_file(config, engine, ITEMS / "tiktok_search_haberturktv_REAL.ndjson")
    ingest_file(config, engine, ITEMS / "twitter_searchtimeline_2orgs_REAL.ndjson")
    ingest_file(config, engine, ITEMS / "threads_post_SYNTHETIC.ndjson")
    assert {"fosfor", "gazze", "sondakika"} <= tags(engine, "7288995634328177926")
    assert tags(engine, "1710311911869325599") == {"ngiforum23"}
    assert tags(engine, "DSYNTH0001a") == {"weloveprobolinggo", "welovecities"}


def test_x_text_is_unescaped(config: Config, engine: Engine) -> None:
    ingest_file(config, engine, ITEMS / "twitter_searchtimeline_2orgs_REAL.ndjson")
    (body,) = rows(engine, "select text from posts where post_key = '1710311911869325599'")[0]
    assert "&amp;" not in body and "&" in body


def test_capture_time_is_the_observation_time(config: Config, engine: Engine) -> None:
    ingest_file(config, engine, ITEMS / "tiktok_search_haberturktv_REAL.ndjson")
    (observed,) = rows(engine, "select observed_at from metric_snapshots")[0]
    # timestamp_collected 1697108706245 ms
    assert str(observed).startswith("2023-10-12 11:05:06.245")


def test_instaloader_json_xz_and_a_folder(config: Config, engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "instaloader" / "#weloveprobolinggo"
    folder.mkdir(parents=True)
    post = json.loads((ITEMS / "post_metadata_SYNTHETIC.json").read_text(encoding="utf-8"))
    for i, code in enumerate(["C9AbCdEfGhI", "C9BbCdEfGhI"]):
        post["node"]["shortcode"] = code
        with lzma.open(folder / f"2024-07-2{i}_23-05-41_UTC.json.xz", "wt", encoding="utf-8") as f:
            json.dump(post, f, indent=4, sort_keys=True)
        (folder / f"2024-07-2{i}_23-05-41_UTC.jpg").write_bytes(b"\xff\xd8\xff")  # not imported
    profile = {
        "node": {"username": "contoh_akun", "id": "1234567890"},
        "instaloader": {"node_type": "Profile"},
    }
    with lzma.open(folder / "contoh_akun_1234567890.json.xz", "wt", encoding="utf-8") as f:
        json.dump(profile, f)
    results = ingest_paths(config, engine, [folder.parent / "#weloveprobolinggo"])
    assert [(r.status, r.format) for r in results] == [("ok", "instaloader")] * 2 + [
        ("rejected", "instaloader")
    ]
    assert results[2].rejections[0].reason.startswith("instaloader Profile metadata, not a post")
    assert [r.post_key for r in posts(engine)] == ["C9AbCdEfGhI", "C9BbCdEfGhI"]


# ---------------------------------------------------------------------------------------------------------
# Mixed platforms, bad items, detection by content


def test_a_capture_mixing_platforms(config: Config, engine: Engine, tmp_path: Path) -> None:
    mixed = (
        lines_of("instagram_feed_abc7ny_mets_REAL.ndjson")[:1]
        + lines_of("tiktok_search_haberturktv_REAL.ndjson")
        + lines_of("twitter_searchtimeline_2orgs_REAL.ndjson")[:1]
        + lines_of("threads_post_SYNTHETIC.ndjson")
    )
    path = write_ndjson(tmp_path / "zeeschuimer-export-mixed.ndjson", mixed)
    result = ingest_file(config, engine, path)
    assert (result.status, result.counts.new) == ("ok", 4)
    assert "platforms: instagram 1, threads 1, tiktok 1, twitter 1" in result.notes
    assert {r.platform for r in posts(engine)} == {"instagram", "tiktok", "twitter", "threads"}


def test_each_bad_item_is_rejected_alone(config: Config, engine: Engine, tmp_path: Path) -> None:
    good = lines_of("tiktok_search_haberturktv_REAL.ndjson")[0]
    no_time = json.loads(json.dumps(good))
    del no_time["data"]["createTime"]
    youtube = {**good, "source_platform": "youtube.com"}
    bad_count = json.loads(json.dumps(good))
    bad_count["data"]["id"] = "7288995634328177927"
    bad_count["data"]["stats"]["diggCount"] = "many"
    ad = json.loads(json.dumps(good))
    ad["data"].update(id="7288995634328177928", isAd=True)
    path = tmp_path / "capture.ndjson"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(good) + "\n")
        f.write("{not json\n")
        f.write("\n")  # blank lines are skipped, not rejected
        for item in (no_time, youtube, bad_count, ad):
            f.write(json.dumps(item) + "\n")
    result = ingest_file(config, engine, path)
    assert (result.status, result.counts.new, result.rejected_total) == ("partial", 1, 5)
    reasons = {r.line: r.reason for r in result.rejections}
    assert reasons[2].startswith("not JSON")
    assert "lacks createTime" in reasons[4]
    assert reasons[5] == "items from 'youtube.com' are not read (Instagram, TikTok, X and Threads are)"
    assert reasons[6] == "stats.diggCount: not a count: 'many'"
    assert reasons[7] == "an ad (isAd), not a post"
    stored = rows(engine, "select line, raw from rejected_rows where line = 2")
    assert stored[0].raw == "{not json"


def test_apify_error_rows_and_a_broken_list(config: Config, engine: Engine, tmp_path: Path) -> None:
    items = json.loads((ITEMS / "apify_tiktok_scraper_items_SYNTHETIC.json").read_text(encoding="utf-8"))
    # The dataset opens with an error row: the family is found from the next item.
    items.insert(0, {"error": "This account is private", "url": "https://www.tiktok.com/@someone"})
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    result = ingest_file(config, engine, path)
    assert (result.format, result.status, result.counts.new, result.rejected_total) == (
        "apify-tiktok",
        "partial",
        1,
        1,
    )
    assert result.rejections[0].line == 1
    assert result.rejections[0].reason == "the scraper's error row: This account is private"

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(items[1:] * 2)[:-40], encoding="utf-8")  # cut inside item 2
    result = ingest_file(config, engine, broken)
    assert result.status == "rejected"
    assert result.message.startswith("item 2 of the JSON list cannot be read")
    assert "the 1 items before it were imported" in result.message


def test_unknown_json_is_rejected_whole_naming_the_known_ones(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "something.csv", [{"foo": 1, "bar": 2}])  # the name does not matter
    result = ingest_file(config, engine, path)
    assert result.status == "rejected"
    assert "no known JSON item format matches its first item (keys: foo, bar)" in result.message
    assert "Zeeschuimer capture" in result.message


def test_detected_by_content_never_by_name(config: Config, engine: Engine, tmp_path: Path) -> None:
    capture = tmp_path / "export.csv"
    capture.write_bytes((ITEMS / "threads_post_SYNTHETIC.ndjson").read_bytes())
    sheet = tmp_path / "capture.ndjson"
    sheet.write_bytes((EXPORTS / "tiktok_studio_Content_SYNTHETIC.csv").read_bytes())
    assert ingest_file(config, engine, capture).format == "zeeschuimer"
    assert ingest_file(config, engine, sheet).format == "tiktok-studio"


def test_forced_formats_across_families(config: Config, engine: Engine, tmp_path: Path) -> None:
    result = ingest_file(config, engine, ITEMS / "threads_post_SYNTHETIC.ndjson", format_name="apify-tiktok")
    assert result.status == "rejected"
    assert "not a Apify TikTok scraper (JSON) file" in result.message
    result = ingest_file(config, engine, ITEMS / "threads_post_SYNTHETIC.ndjson", format_name="twarc-csv")
    assert result.message == "this is a JSON file, not a twarc2 CSV (twarc-csv default columns) export"
    result = ingest_file(
        config, engine, EXPORTS / "tiktok_studio_Content_SYNTHETIC.csv", format_name="zeeschuimer"
    )
    assert result.status == "rejected" and "its content is not JSON" in result.message
    ok = ingest_file(config, engine, ITEMS / "threads_post_SYNTHETIC.ndjson", format_name="zeeschuimer")
    assert ok.status == "ok"


def test_repeated_captures_of_a_post(config: Config, engine: Engine, tmp_path: Path) -> None:
    first = lines_of("threads_post_SYNTHETIC.ndjson")[0]
    later = json.loads(json.dumps(first))
    later["data"]["like_count"] = 50
    later["timestamp_collected"] = later["last_updated"] = first["timestamp_collected"] + 3_600_000
    result = ingest_file(config, engine, write_ndjson(tmp_path / "c.ndjson", [first, later]))
    assert (result.counts.new, result.repeated) == (1, 1)
    assert "post DSYNTH0001a appears on lines 1 and 2; the later item wins" in result.notes
    assert posts(engine)[0].likes == 50


# ---------------------------------------------------------------------------------------------------------
# The 2025-26 CSV layouts


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        (
            "apify_instagram_hashtag_scraper_csv_SYNTHETIC.csv",
            "apify-instagram-csv",
            [
                ("instagram", "DSYNTHig001", "apify-instagram-csv", "example_kim_mangunharjo", 87, 4, None,
                 None, "https://www.instagram.com/p/DSYNTHig001/"),
                # likesCount -1 (hidden) is unknown, not a reject
                ("instagram", "DSYNTHig002", "apify-instagram-csv", "example_resident", None, 0, None, 1520,
                 "https://www.instagram.com/p/DSYNTHig002/"),
            ],
        ),
        (
            "tiktok_studio_Content_SYNTHETIC.csv",
            "tiktok-studio",
            [
                ("tiktok", "7540000000000000001", "tiktok-studio", "example_city_official", 1520, 36, 48,
                 23100, "https://www.tiktok.com/@example_city_official/video/7540000000000000001"),
                ("tiktok", "7540000000000000002", "tiktok-studio", "example_city_official", 210, 4, 2, 3300,
                 "https://www.tiktok.com/@example_city_official/video/7540000000000000002"),
            ],
        ),
        # Meta Business Suite 2025: Views (no Impressions), Reach, Date = Lifetime
        (
            "mbs_instagram_posts_en_SYNTHETIC.csv",
            "mbs-instagram",
            [
                ("instagram", "C9AbCdEfGhI", "mbs-instagram", "contoh_kotaprobolinggo", 410, 20, 120, 15000,
                 "https://www.instagram.com/p/C9AbCdEfGhI/"),
                ("instagram", "C9QwErTyUiO", "mbs-instagram", "contoh_kotaprobolinggo", 75, 1, 3, 812,
                 "https://www.instagram.com/p/C9QwErTyUiO/"),
                ("instagram", "C9XyZaBcDeF", "mbs-instagram", "contoh_kotaprobolinggo", 61, 4, 9, 1204,
                 "https://www.instagram.com/reel/C9XyZaBcDeF/"),
            ],
        ),
        (
            "mcl_facebook_posts_SYNTHETIC.csv",
            "mcl-facebook",
            [("facebook", "2222222222222222", "mcl-facebook", "example_city_official", 140, 9, 6, None,
              "https://www.facebook.com/2222222222222222")],
        ),
        # The Library's own Instagram id: kept apart, never taken for a shortcode
        (
            "mcl_instagram_posts_SYNTHETIC.csv",
            "mcl-instagram",
            [("instagram", "mcl:3333333333333333", "mcl-instagram", "example_city_official", 310, 12, None,
              None, None)],
        ),
    ],
)  # fmt: skip
def test_new_csv_layouts_import(
    config: Config, engine: Engine, name: str, fmt: str, expected: list[tuple[Any, ...]]
) -> None:
    result = ingest_file(config, engine, EXPORTS / name)
    assert (result.status, result.format, result.rejected_total) == ("ok", fmt, 0), result.message
    assert [tuple(r) for r in posts(engine)] == expected


def test_csv_tag_columns_and_python_lists(config: Config, engine: Engine) -> None:
    ingest_file(config, engine, EXPORTS / "apify_instagram_hashtag_scraper_csv_SYNTHETIC.csv")
    ingest_file(config, engine, EXPORTS / "mcl_instagram_posts_SYNTHETIC.csv")
    assert tags(engine, "DSYNTHig002") == {"weloveprobolinggo", "welovecities", "probolinggo"}
    assert tags(engine, "mcl:3333333333333333") == {"weloveprobolinggo", "welovecities"}


def test_mcl_facebook_meets_the_same_post_from_business_suite(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    # The Library's `<page>_<post>` id is the post id other Facebook sources give.
    source = (EXPORTS / "mcl_facebook_posts_SYNTHETIC.csv").read_text(encoding="utf-8")
    path = tmp_path / "mcl.csv"
    path.write_text(source.replace("_2222222222222222", "_122158001234567890"), encoding="utf-8")
    ingest_file(config, engine, EXPORTS / "mbs_facebook_posts_en_SYNTHETIC.csv")
    ingest_file(config, engine, path)
    found = rows(
        engine, "select count(*) as n, max(views) as views from posts where post_key = '122158001234567890'"
    )
    assert (found[0].n, found[0].views) == (1, 12450)  # the export's views kept: the Library had none


# ---------------------------------------------------------------------------------------------------------
# One post, whatever saw it


def tiktok_capture(tmp_path: Path, captured: dt.datetime, likes: int) -> Path:
    """A Zeeschuimer capture of the city's TikTok video 7540000000000000001 (the Studio fixture's)."""
    line = lines_of("tiktok_search_haberturktv_REAL.ndjson")[0]
    data = line["data"]
    data.update(id="7540000000000000001", desc="Festival Kota, hari 1 #WeLoveProbolinggo #WeLoveCities")
    data["author"].update(uniqueId="example_city_official", id="7000000000000000001")
    data["stats"].update(diggCount=likes, commentCount=30, shareCount=40, playCount=20000)
    data["textExtra"] = [{"hashtagName": "WeLoveProbolinggo"}, {"hashtagName": "fyp"}]
    data["challenges"] = []
    line.update(item_id=data["id"], timestamp_collected=int(captured.timestamp() * 1000))
    return write_ndjson(tmp_path / "zeeschuimer-export-tiktok.com.ndjson", [line])


@pytest.mark.parametrize("capture_first", [True, False])
@pytest.mark.parametrize(("captured_day", "likes"), [(6, 1520), (12, 1000)])
def test_a_capture_and_an_export_of_the_same_post(
    config: Config, engine: Engine, tmp_path: Path, capture_first: bool, captured_day: int, likes: int
) -> None:
    # The export was made on 10 Sep (its file time); the capture on 6 Sep (older) or 12 Sep (newer).
    captured = dt.datetime(2025, 9, captured_day, 8, 0, tzinfo=dt.UTC)
    capture = tiktok_capture(tmp_path, captured, likes=1000)
    export = tmp_path / "Content.csv"
    export.write_bytes((EXPORTS / "tiktok_studio_Content_SYNTHETIC.csv").read_bytes())
    made = dt.datetime(2025, 9, 10, 9, 0, tzinfo=dt.UTC).timestamp()
    os.utime(export, (made, made))
    order = [capture, export] if capture_first else [export, capture]
    results = ingest_paths(config, engine, order)
    assert [r.status for r in results] == ["ok", "ok"]
    found = rows(
        engine, "select id, author_handle, likes, views from posts where post_key = '7540000000000000001'"
    )
    assert len(found) == 1  # one post, whatever saw it
    post = found[0]
    assert post.author_handle == "example_city_official"
    # The latest observation's metrics, in either order: the export's 1520, or the later capture's 1000.
    assert (post.likes, post.views) == (likes, 23100 if likes == 1520 else 20000)
    # hashtags of both: the capture's own list and the export's title
    assert tags(engine, "7540000000000000001") == {"weloveprobolinggo", "welovecities", "fyp"}
    snaps = rows(engine, "select observed_at from metric_snapshots where post_id = :p", p=post.id)
    assert f"2025-09-{captured_day:02d} 08:00:00" in {str(s.observed_at)[:19] for s in snaps}


# ---------------------------------------------------------------------------------------------------------
# Size: a large capture in bounded memory


def tiktok_lines(path: Path, n: int) -> Path:
    base = lines_of("tiktok_search_haberturktv_REAL.ndjson")[0]
    keep = ("id", "desc", "createTime", "author", "stats", "textExtra")
    base["data"] = {k: v for k, v in base["data"].items() if k in keep}
    base["source_url"] = "x" * 40_000  # long, like the real intercepted API links with their tokens
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            base["data"]["id"] = str(7288995634328177926 + i)
            base["data"]["desc"] = f"#WeLoveProbolinggo post {i} " + "x" * 1500
            f.write(json.dumps(base) + "\n")
    return path


def peak_import(config: Config, engine: Engine, path: Path) -> int:
    tracemalloc.start()
    try:
        result = ingest_file(config, engine, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "ok"
    return peak


def test_a_large_capture_imports_in_bounded_memory(
    config: Config, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches keep the test quick; the claim is the same: memory follows the batch, not the file.
    monkeypatch.setattr(item_import, "BATCH_SIZE", 50)
    small = tiktok_lines(tmp_path / "small.ndjson", 100)
    large = tiktok_lines(tmp_path / "large.ndjson", 600)
    assert large.stat().st_size > 5 * small.stat().st_size > 0
    peak_small = peak_import(config, engine, small)
    peak_large = peak_import(config, engine, large)
    assert peak_large < large.stat().st_size / 4  # far below the file: it was never held whole
    assert peak_large < 1.5 * peak_small + 512 * 1024  # six times the items, about the same memory
    assert rows(engine, "select count(*) as n from posts")[0].n == 600


# ---------------------------------------------------------------------------------------------------------
# The inbox and the command


def test_the_inbox_takes_captures_next_to_csv_files(config: Config, engine: Engine) -> None:
    inbox = config.sources.inbox.path
    inbox.mkdir(parents=True)
    (inbox / "zeeschuimer-export-threads.net-2025-09-05T050000.ndjson").write_bytes(
        (ITEMS / "threads_post_SYNTHETIC.ndjson").read_bytes()
    )
    (inbox / "dataset_tiktok.json").write_bytes(
        (ITEMS / "apify_tiktok_scraper_items_SYNTHETIC.json").read_bytes()
    )
    (inbox / "Content.csv").write_bytes((EXPORTS / "tiktok_studio_Content_SYNTHETIC.csv").read_bytes())
    done = Inbox(config, engine, settle_seconds=0, clock=lambda: time.time() + 60).run_pass()
    assert (len(done.imported), done.failed) == (3, [])
    assert {r.platform for r in posts(engine)} == {"threads", "tiktok"}


def test_cli_ingest_a_capture(config_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--config", str(config_path), "ingest", str(ITEMS / "twitter_searchtimeline_2orgs_REAL.ndjson")],
    )
    assert result.exit_code == 0, result.output
    assert "[zeeschuimer]: 2 rows read, 2 new" in result.output


def test_inspect_names_a_capture_and_its_platforms(config_path: Path, tmp_path: Path) -> None:
    mixed = lines_of("tiktok_search_haberturktv_REAL.ndjson") + lines_of("threads_post_SYNTHETIC.ndjson")
    path = write_ndjson(tmp_path / "capture.txt", mixed)
    with path.open("a", encoding="utf-8") as f:
        f.write("{broken\n")
    result = CliRunner().invoke(main, ["--config", str(config_path), "inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "JSON (ndjson); items: 3" in result.output
    assert "format: zeeschuimer" in result.output
    assert "posts by platform: threads 1, tiktok 1" in result.output
    assert "1 item(s) would be rejected, the first: line 3: not JSON" in result.output
