"""Imports that explain themselves (issue 11): what counted, rejects to fix, blank rows, the latest
observation wins whatever the import order, [[formats]] base / from-link, inspect, links.

Export files are in their real layouts: tests/data/exports (copied from /work/shared/formats/
fixtures) and tests/data/exports/issue11 (SYNTHETIC files in real layouts, see the README there).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from collectors.export_times import time_in_file_name
from monitor.cli import main
from monitor.config import load_config
from monitor.db import open_engine
from monitor.ingest import ingest_file, ingest_paths, summary_lines
from monitor.samples.make_samples import CT_FB_HEADER

DATA = Path(__file__).parent / "data" / "exports"
ISSUE = DATA / "issue11"

BASE_MBS_ID = """
[[formats]]
name = "mbs-facebook-id"
base = "mbs-facebook"
date_order = "day-first"
[formats.columns]
"Post ID" = "ID Postingan"
"Page ID" = "ID Halaman"
"Page name" = "Nama Halaman"
"Title" = "Judul"
"Description" = "Deskripsi"
"Publish time" = "Waktu publikasi"
"Permalink" = "Tautan permanen"
"Reactions" = "Reaksi"
"Comments" = "Komentar"
"Shares" = "Dibagikan"
"Views" = "Tayangan"
"""

FROM_LINK = """
[[formats]]
name = "kim-sheet"
platform = "from-link"
id = "Link Postingan"
time = "Tanggal"
author = "Akun"
text = "Caption"
likes = "Suka"
comments = "Komentar"
"""


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    """Raw SQL results, dates and times as SQLite stores them (PostgreSQL returns date objects)."""

    def as_stored(value: object) -> object:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value.isoformat() if isinstance(value, dt.date) else value

    with engine.connect() as conn:
        return [tuple(as_stored(v) for v in r) for r in conn.execute(text(sql))]


def ct_export(path: Path, likes: int, extra_rows: list[dict[str, str]] | None = None) -> Path:
    """A CrowdTangle Facebook export (real header) with two campaign posts and their metrics."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CT_FB_HEADER)
        for post, created, message in (
            ("9001", "2022-09-20 10:00:00 WIB", "Ayo #WeLoveProbolinggo"),
            ("9002", "2022-09-21 11:00:00 WIB", "Vote #WeLoveCities"),
            ("9003", "2022-09-10 11:00:00 WIB", "Sebelum kampanye #WeLoveCities"),
            ("9004", "2022-09-22 11:00:00 WIB", "Tanpa tagar"),
        ):
            row = {name: "" for name in CT_FB_HEADER}
            row.update(
                {"Page Name": "KIM Pilang", "User Name": "kim_pilang", "Facebook Id": "111",
                 "Post Created": created, "Likes": str(likes), "Comments": "1", "Shares": "0",
                 **{r: "0" for r in ("Love", "Wow", "Haha", "Sad", "Angry", "Care")},
                 "URL": f"https://www.facebook.com/111/posts/{post}", "Message": message}
            )  # fmt: skip
            writer.writerow([row[name] for name in CT_FB_HEADER])
        for extra in extra_rows or []:
            writer.writerow([extra.get(name, "") for name in CT_FB_HEADER])
    return path


# ---------------------------------------------------------------------------------------------------------
# 1. What counted


def test_each_file_says_what_counted_and_why_not(config, engine: Engine, tmp_path: Path) -> None:
    path = ct_export(tmp_path / "ct.csv", likes=5)
    result = ingest_file(config, engine, path)
    assert (
        result.counted
        == "2 campaign posts; not counted: 1 before 19 Sep, 1 without #WeLoveProbolinggo/#welovecities"
    )
    assert result.warning is None
    lines = summary_lines([result], config)
    assert f"  counted: {result.counted}" in lines
    assert any(line.startswith("  observed: ") and "(file modified)" in line for line in lines)
    again = ingest_file(config, engine, path)
    assert again.counted.startswith("0 campaign posts; not counted: 1 before 19 Sep")
    assert "2 already known and unchanged" in again.counted
    assert again.warning is None  # known campaign posts are not "no campaign post"
    stored = rows(engine, "select counted from collection_runs order by id")
    assert stored[0][0] == result.counted


def test_a_file_without_campaign_posts_is_a_warning_with_the_reason(config, engine: Engine) -> None:
    result = ingest_file(config, engine, DATA / "twarc2csv_output_two_tweets.csv")  # one retweet
    assert result.counted == "0 campaign posts; not counted: 1 retweet"
    assert result.warning == "no campaign post: all 1 rows are reposts/retweets"
    assert "  warning: no campaign post: all 1 rows are reposts/retweets" in summary_lines([result], config)


def test_ingest_command_prints_the_summary_and_status_keeps_it(config_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(
        main, ["--config", str(config_path), "ingest", str(DATA / "twarc2csv_output_mixed_synthetic.csv")]
    )
    assert out.exit_code == 0, out.output
    assert "  counted: " in out.output
    assert "warning: no campaign post" in out.output
    assert "counted in all: " in out.output
    status = runner.invoke(main, ["--config", str(config_path), "status"])
    assert "      counted: " in status.output


# ---------------------------------------------------------------------------------------------------------
# 2. Rejects the team can fix; blank rows


def test_blank_rows_are_skipped_and_counted_not_rejected(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(FROM_LINK))
    engine = open_engine(config.storage.url)
    result = ingest_file(config, engine, ISSUE / "kim_sheet_mixed_links_blank_rows_SYNTHETIC.csv")
    assert result.tally.blank == 3
    assert result.rejected_total == 0  # the TikTok link too: TikTok is a platform (issue 12)
    assert "3 blank rows skipped" in result.counted
    assert rows(engine, "select count(*) from rejected_rows") == [(0,)]


def test_rejects_are_kept_once_and_resolved_by_a_clean_import(
    config_path: Path, config, tmp_path: Path
) -> None:
    bad = {"Page Name": "KIM Pilang", "User Name": "kim_pilang", "Facebook Id": "111",
           "Post Created": "kemarin", "Likes": "3", "URL": "https://www.facebook.com/111/posts/9005",
           "Message": "Rusak #WeLoveProbolinggo"}  # fmt: skip
    path = ct_export(tmp_path / "with_reject.csv", likes=5, extra_rows=[bad])
    runner = CliRunner()
    base = ["--config", str(config_path)]
    first = runner.invoke(main, [*base, "ingest", str(path)])
    assert first.exit_code == 1
    runner.invoke(main, [*base, "ingest", str(path)])  # the same file again: no second copy
    listed = runner.invoke(main, [*base, "rejects"])
    assert listed.exit_code == 0
    assert "line 6: Post Created" in listed.output
    assert "1 rejected row(s)" in listed.output
    assert "rejected rows to fix: 1" in runner.invoke(main, [*base, "status"]).output

    sheet = runner.invoke(main, [*base, "rejects", "--file", "with_reject.csv", "--csv"])
    assert sheet.output.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(sheet.output.lstrip("\ufeff"))))
    assert table[0] == [*CT_FB_HEADER, "rejected line", "reject reason", "reject id"]
    assert table[1][CT_FB_HEADER.index("Post Created")] == "kemarin"
    # The team fixes the time and imports the sheet again: the reject is no longer listed.
    table[1][CT_FB_HEADER.index("Post Created")] = "2022-09-23 08:00:00 WIB"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(table)
    again = runner.invoke(main, [*base, "ingest", str(fixed)])
    assert again.exit_code == 0, again.output
    assert runner.invoke(main, [*base, "rejects"]).output.strip() == "no rejected rows to fix"
    assert "rejected rows to fix: 0" in runner.invoke(main, [*base, "status"]).output


def test_a_reject_is_resolved_when_its_post_imports_from_another_file(
    config, engine: Engine, tmp_path: Path
) -> None:
    bad = {"Page Name": "KIM Pilang", "User Name": "kim_pilang", "Facebook Id": "111", "Post Created": "??",
           "URL": "https://www.facebook.com/111/posts/9001", "Message": "#WeLoveProbolinggo"}  # fmt: skip
    first = tmp_path / "first.csv"
    with first.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CT_FB_HEADER)
        w.writerow([bad.get(n, "") for n in CT_FB_HEADER])
    ingest_file(config, engine, first)
    assert rows(engine, "select platform, post_key from rejected_rows") == [("facebook", "9001")]
    ingest_file(config, engine, ct_export(tmp_path / "good.csv", likes=1))
    assert rows(engine, "select count(*) from rejected_rows where resolved_run_id is null") == [(0,)]


# ---------------------------------------------------------------------------------------------------------
# 3. The latest observation wins, whatever the import order


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_latest_observation_wins_in_both_orders(config, engine: Engine, tmp_path: Path, order: str) -> None:
    old = ct_export(tmp_path / "2022-09-25-10-00-00-WIB-search-csv-export.csv", likes=10)
    new = ct_export(tmp_path / "2022-10-05-10-00-00-WIB-search-csv-export.csv", likes=50)
    os.utime(old, (2_000_000_000, 2_000_000_000))  # the file name wins over the modification time
    files = [old, new] if order == "old-first" else [new, old]
    results = ingest_paths(config, engine, files)
    assert rows(engine, "select likes from posts where post_key = '9001'") == [(50,)]
    assert rows(
        engine,
        "select s.observed_at, s.likes from metric_snapshots s join posts p on p.id = s.post_id "
        "where p.post_key = '9001' order by s.observed_at",
    ) == [("2022-09-25 03:00:00.000000", 10), ("2022-10-05 03:00:00.000000", 50)]
    assert all(r.observed_how == "time in the file name" for r in results)
    if order == "new-first":
        assert results[1].counts.older == 4
        assert "older than the observation already stored" in results[1].counted
        ingest_file(config, engine, old)  # the old export once more: no second snapshot
        assert rows(engine, "select count(*) from metric_snapshots") == [(8,)]


def test_equal_observation_times_go_to_the_later_import(config, engine: Engine, tmp_path: Path) -> None:
    a = ct_export(tmp_path / "a.csv", likes=10)
    b = ct_export(tmp_path / "b.csv", likes=20)
    for path in (a, b):
        os.utime(path, (1_664_000_000, 1_664_000_000))
    ingest_paths(config, engine, [a, b])
    assert rows(engine, "select likes from posts where post_key = '9001'") == [(20,)]
    ingest_paths(config, engine, [a])
    assert rows(engine, "select likes from posts where post_key = '9001'") == [(10,)]


def test_an_export_column_gives_the_observation_time(config, engine: Engine) -> None:
    result = ingest_file(config, engine, DATA / "twarc2csv_output_two_tweets.csv")
    assert result.observed_how.startswith("column __twarc.retrieved_at")
    assert rows(engine, "select observed_at from posts") == [("2021-05-19 15:26:17.000000",)]


def test_file_name_times() -> None:
    assert (
        str(time_in_file_name("2021-07-05-22-49-20-BRT-search-csv-export.csv")) == "2021-07-05 22:49:20-03:00"
    )
    assert str(time_in_file_name("dataset_instagram-hashtag-scraper_2023-09-27_19-54-19-495.csv")) == (
        "2023-09-27 19:54:19+00:00"
    )
    assert time_in_file_name("Sep-19-2022_Oct-31-2022_541651602373282.csv") is None
    assert time_in_file_name("2021-07-05-22-49-20-XYZ-search-csv-export.csv") is None  # unknown zone


# ---------------------------------------------------------------------------------------------------------
# 4. Any header layout: base, from-link, inspect


def test_a_localized_mbs_export_is_mapped_through_base(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(BASE_MBS_ID))
    engine = open_engine(config.storage.url)
    result = ingest_file(config, engine, ISSUE / "mbs_facebook_posts_id-ID_SYNTHETIC.csv")
    assert result.format == "mbs-facebook-id"
    assert result.status == "ok", result.message
    assert result.counted == "2 campaign posts; not counted: 1 before 19 Sep"
    assert rows(engine, "select post_key, local_date, likes, views, url from posts order by post_key") == [
        ("122158001234567890", "2022-09-20", 1204, 12450, "https://www.facebook.com/122158001234567890"),
        ("122158001234567891", "2022-09-21", 150, 3207, "https://www.facebook.com/reel/1234567890123456/"),
        ("122158001234567892", "2022-09-15", 18, 800, "https://www.facebook.com/122158001234567892"),
    ]


def test_without_base_the_localized_export_is_unknown_and_inspect_writes_the_entry(
    config_path: Path, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    path = ISSUE / "mbs_facebook_posts_id-ID_SYNTHETIC.csv"
    out = runner.invoke(main, ["--config", str(config_path), "inspect", str(path)])
    assert out.exit_code == 0, out.output
    assert "format: none matches its columns" in out.output
    assert 'base = "mbs-facebook"' in out.output
    assert '"Post ID" = "ID Postingan"' in out.output
    assert 'date_order = "day-first"' in out.output
    # The entry as printed, pasted into config.toml, makes the file import.
    entry = out.output.split("config.toml (check it, then `campaign-monitor inspect` again):\n", 1)[1]
    entry = "\n".join(line[4:] for line in entry.splitlines() if line.startswith("    "))
    config = write_config(entry)
    again = runner.invoke(main, ["--config", str(config), "inspect", str(path)])
    assert "format: mbs-facebook-posts-id-id-synth (Meta Business Suite" in again.output
    assert "date order: day/month/year" in again.output
    imported = runner.invoke(main, ["--config", str(config), "ingest", str(path)])
    assert imported.exit_code == 0, imported.output


def test_inspect_a_known_file_and_nearest_by_shared_columns(config_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(
        main, ["--config", str(config_path), "inspect", str(DATA / "mbs_facebook_posts_en_SYNTHETIC.csv")]
    )
    assert "format: mbs-facebook (Meta Business Suite Facebook posts); platform: facebook" in out.output
    assert "encoding: utf-8-sig; delimiter: comma" in out.output
    assert "rows: 2" in out.output
    assert "date order: month/day/year" in out.output
    # A CrowdTangle export lacking two columns: nearest is CrowdTangle (12 shared), not a small format.
    cut = tmp_path / "cut.csv"
    header = [h for h in CT_FB_HEADER if h not in ("Care", "Sad")]
    cut.write_text(",".join(f'"{h}"' for h in header) + "\n", encoding="utf-8")
    out = runner.invoke(main, ["--config", str(config_path), "inspect", str(cut)])
    nearest = out.output.split("nearest formats (most shared columns first):\n", 1)[1].splitlines()[0]
    assert nearest.startswith("    crowdtangle-facebook: shares 13 columns, lacks Sad, Care")


def test_from_link_takes_each_rows_platform_and_link(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(FROM_LINK))
    engine = open_engine(config.storage.url)
    ingest_file(config, engine, ISSUE / "kim_sheet_mixed_links_blank_rows_SYNTHETIC.csv")
    assert rows(engine, "select platform, post_key, url from posts order by platform") == [
        ("facebook", "555000111", "https://www.facebook.com/kimmayangan/posts/555000111"),
        ("instagram", "CiAbCdEfGhI", "https://www.instagram.com/p/CiAbCdEfGhI/"),
        ("tiktok", "7145000000000000001", "https://www.tiktok.com/@kimmayangan/video/7145000000000000001"),
        ("twitter", "1572000000000000001", "https://x.com/kim_mayangan/status/1572000000000000001"),
    ]


def test_from_link_reads_every_host_a_member_pastes() -> None:
    from collectors.csv_formats import key_from_link

    assert key_from_link("https://instagr.am/p/CiAbCdEfGhI/") == ("instagram", "CiAbCdEfGhI")
    assert key_from_link("https://m.facebook.com/kimmayangan/posts/555000111") == ("facebook", "555000111")
    assert key_from_link("https://twitter.com/kim/status/1572000000000000001")[1] == "1572000000000000001"


def test_inspect_suggests_from_link_for_a_mixed_sheet(config_path: Path) -> None:
    out = CliRunner().invoke(
        main,
        [
            "--config",
            str(config_path),
            "inspect",
            str(ISSUE / "kim_sheet_mixed_links_blank_rows_SYNTHETIC.csv"),
        ],
    )
    assert 'platform = "from-link"' in out.output
    assert 'id = "Link Postingan"' in out.output
    assert "rows: 4 (and 3 blank rows, which are skipped)" in out.output


# ---------------------------------------------------------------------------------------------------------
# 5. Links


def test_every_post_gets_a_link(config, engine: Engine, tmp_path: Path) -> None:
    shutil.copy(DATA / "twarc2csv_output_mixed_synthetic.csv", tmp_path / "twarc.csv")
    ingest_paths(config, engine, [tmp_path / "twarc.csv", DATA / "socialstats_twotweets.csv"])
    links = rows(engine, "select post_key, url from posts order by post_key")
    assert links and all(url for _, url in links)
    assert ("1394735776701816833", "https://x.com/LachiVeronica/status/1394735776701816833") in links


def test_new_commands_have_help() -> None:
    runner = CliRunner()
    for command in ("rejects", "inspect"):
        out = runner.invoke(main, [command, "--help"])
        assert out.exit_code == 0
        assert len(out.output) > 100
