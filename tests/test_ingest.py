"""Importing files end to end into a real SQLite database, and the `ingest` command."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from collectors.csv_reader import ExportFile
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.ingest import FileResult, ingest_file, ingest_paths, summary_lines
from monitor.records import PostRecord
from monitor.samples import sample_files
from monitor.samples.make_samples import CT_FB_HEADER, make_samples
from monitor.store import start_run, write_batch

EXPORTS = Path(__file__).parent / "data" / "exports"


def ct_row(
    post: str, created: str, message: str, likes: int = 1, comments: int = 0, shares: int = 0
) -> list[str]:
    """A CrowdTangle Facebook row for page 111 (kim_pilang)."""
    row = {name: "" for name in CT_FB_HEADER}
    row.update(
        {
            "Page Name": "KIM Pilang",
            "User Name": "kim_pilang",
            "Facebook Id": "111",
            "Post Created": created,
            "Likes": str(likes),
            "Comments": str(comments),
            "Shares": str(shares),
            **{r: "0" for r in ("Love", "Wow", "Haha", "Sad", "Angry", "Care")},
            "URL": f"https://www.facebook.com/111/posts/{post}",
            "Message": message,
        }
    )
    return [row[name] for name in CT_FB_HEADER]


def write_ct(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CT_FB_HEADER)
        writer.writerows(rows)
    return path


def scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def campaign_posts(engine: Engine) -> int:
    sql = """select count(*) from posts p where not p.is_repost
             and p.local_date between '2022-09-19' and '2022-10-31'
             and exists (select 1 from post_hashtags h where h.post_id = p.id
                         and h.tag in ('weloveprobolinggo', 'welovecities'))"""
    return int(scalar(engine, sql))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "new"),
    [
        ("crowdtangle_fb_search_export_ptBR_BRT.csv", 10),
        ("crowdtangle_instagram_export_SYNTHETIC.csv", 1),
        ("mbs_facebook_posts_en_SYNTHETIC.csv", 2),
        ("mbs_instagram_posts_en_SYNTHETIC.csv", 3),
        ("twarc2csv_output_two_tweets.csv", 1),
        ("socialstats_constants_quoted_header_and_row.csv", 1),
        ("socialstats_twotweets.csv", 2),
        ("socialstats_threetweets_ken.csv", 3),
    ],
)
def test_real_fixtures_import(config: Config, engine: Engine, name: str, new: int) -> None:
    result = ingest_file(config, engine, EXPORTS / name)
    assert (result.status, result.counts.new, result.rejected_total) == ("ok", new, 0)
    assert scalar(engine, "select count(*) from posts") == new
    assert scalar(engine, "select status from collection_runs where id = :i", i=result.run_id) == "ok"


def test_excel_id_resave(config: Config, engine: Engine) -> None:
    result = ingest_file(config, engine, EXPORTS / "mbs_instagram_excel_id-ID_cp1252.csv")
    # line 3's Post ID and Account ID were mangled: the Post ID is not stored, the key is the Permalink
    assert (result.status, result.counts.new, result.rejected_total) == ("ok", 3, 0)
    assert result.notes[0].startswith("read as cp1252")
    assert "Excel mangled 1 value(s) of Account ID: stored as unknown" in result.message
    with engine.connect() as conn:
        rows = conn.execute(
            text("select post_key, local_date, likes, views, text from posts order by local_date")
        ).all()
    # day-first dates (20/09 proves the order, so 05/10 is 5 October); '.' thousands; cp1252 text
    assert [(r.post_key, str(r.local_date), r.likes, r.views) for r in rows] == [
        ("CiAbCdEfGhI", "2022-09-20", 1204, 15000),
        ("CiXyZaBcDeF", "2022-09-21", 150, 3207),
        ("CjQwErTyUiO", "2022-10-05", 75, 812),
    ]
    assert rows[0].text.startswith("Café")


def test_crowdtangle_resaved_by_indonesian_excel(config: Config, engine: Engine) -> None:
    # ';', cp1252, CRLF, the Facebook Id column as 1,00012E+14; the URL column (the key) intact
    result = ingest_file(config, engine, EXPORTS / "crowdtangle_fb_excel_id-ID_cp1252_SYNTHETIC.csv")
    assert (result.format, result.status, result.counts.new, result.rejected_total) == (
        "crowdtangle-facebook",
        "ok",
        3,
        0,
    )
    assert "Excel mangled 3 value(s) of Facebook Id: stored as unknown" in result.message
    with engine.connect() as conn:
        rows = conn.execute(
            text("select post_key, author_id, author_handle, likes from posts order by id")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("1000123456789011", None, "kim_mayangan", 134),
        ("1000123456789012", None, "kim_mayangan", 92),
        ("1000123456789013", None, "lpm_jrebenglor", 66),
    ]
    assert campaign_posts(engine) == 3


def test_twitter_analytics_with_a_mangled_id_imports(config: Config, engine: Engine, tmp_path: Path) -> None:
    source = (EXPORTS / "socialstats_twotweets.csv").read_text(encoding="utf-8")
    path = tmp_path / "resaved.csv"
    path.write_text(source.replace("1225785799146430465,", '"1,22579E+18",', 1), encoding="utf-8")
    result = ingest_file(config, engine, path)
    assert (result.status, result.counts.new) == ("ok", 2)
    assert (
        "Excel mangled 1 value(s) of Tweet id: the post key was read from Tweet permalink" in result.message
    )
    assert scalar(engine, "select count(*) from posts where post_key = '1225785799146430465'") == 1


def mbs_ig_with_dates(tmp_path: Path, *dates: str) -> Path:
    """The id-ID Excel MBS Instagram fixture (day-first by its 20/09/2022) with other publish times."""
    lines = (EXPORTS / "mbs_instagram_excel_id-ID_cp1252.csv").read_bytes().decode("cp1252").splitlines()
    body = [
        lines[1].replace("20/09/2022 06:08", d).replace("CiAbCdEfGhI", f"Ci{i}bCdEfGhI")
        for i, d in enumerate(dates)
    ]
    path = tmp_path / "dates.csv"
    path.write_bytes(("\r\n".join([lines[0], *body]) + "\r\n").encode("cp1252"))
    return path


def local_dates(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(d) for (d,) in conn.execute(text("select local_date from posts order by local_date"))]


def test_all_ambiguous_dates_use_the_documented_order(config: Config, engine: Engine, tmp_path: Path) -> None:
    result = ingest_file(config, engine, mbs_ig_with_dates(tmp_path, "10/01/2022 19:00", "10/10/2022 07:00"))
    assert "used the format's documented order (month/day/year)" in result.message
    assert local_dates(engine) == ["2022-10-01", "2022-10-10"]


def test_ambiguous_dates_prefer_the_order_inside_the_campaign(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    # Month-first (the documented order) would put 01/10 and 05/10 in January and May
    result = ingest_file(config, engine, mbs_ig_with_dates(tmp_path, "01/10/2022 19:00", "05/10/2022 07:00"))
    assert "read as day/month/year, which puts 2 of 2 inside the campaign" in result.message
    assert local_dates(engine) == ["2022-10-01", "2022-10-05"]


def test_mixed_date_orders_are_named(config: Config, engine: Engine, tmp_path: Path) -> None:
    result = ingest_file(config, engine, mbs_ig_with_dates(tmp_path, "20/09/2022 06:08", "09/21/2022 07:00"))
    assert result.status == "partial"
    assert "this file mixes day-first dates ('20/09/2022 06:08') and month-first dates" in result.message
    assert "could be day-first or month-first" not in result.message


def test_dotted_dates_and_lowercase_pm(config: Config, engine: Engine, tmp_path: Path) -> None:
    ingest_file(config, engine, mbs_ig_with_dates(tmp_path, "01.10.2022 19:00", "10/02/2022 07:00 pm"))
    assert local_dates(engine) == ["2022-10-01", "2022-10-02"]


def test_slashed_dates_are_read_once_more_not_three_times(
    config: Config, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    records = ExportFile.records

    def counting(
        self: ExportFile, progress: Callable[[int], None] | None = None, on_runaway: Any = None
    ) -> Iterator[tuple[int, list[str]]]:
        reads.append(self.path)
        return records(self, progress, on_runaway)

    monkeypatch.setattr(ExportFile, "records", counting)
    ingest_file(config, engine, mbs_ig_with_dates(tmp_path, "10/01/2022 19:00"))
    assert len(reads) == 2  # the date order, then the import


def test_the_excel_fixture_without_key_columns_is_rejected_whole(config: Config, engine: Engine) -> None:
    result = ingest_file(config, engine, EXPORTS / "excel_id-ID_resaved_cp1252_SYNTHETIC.csv")
    assert result.status == "rejected"
    assert "nearest is Meta Business Suite Instagram posts (mbs-instagram)" in result.message
    assert "Permalink" in result.message


def test_bad_rows_are_rejected_alone_with_their_lines(config: Config, engine: Engine, tmp_path: Path) -> None:
    rows = [
        ct_row("1", "2022-10-01 08:00:00 WIB", "Pagi\ndari Pilang #WeLoveProbolinggo"),  # lines 2-3
        ct_row("2", "kemarin", "waktu rusak"),  # line 4
        ct_row("3", "2022-10-01 09:00:00 WIB", "count rusak", likes=0)[:14] + ["banyak"],  # line 5: 15 fields
        ct_row("4", "2022-10-01 09:00:00 WIB", "ok #WeLoveCities"),  # line 6
    ]
    bad_count = ct_row("5", "2022-10-01 09:00:00 WIB", "x")
    bad_count[CT_FB_HEADER.index("Likes")] = "banyak"
    no_key = ct_row("6", "2022-10-01 09:00:00 WIB", "x")
    no_key[CT_FB_HEADER.index("URL")] = ""
    path = write_ct(tmp_path / "ct.csv", [*rows, bad_count, no_key])  # lines 7, 8
    result = ingest_file(config, engine, path)
    assert result.status == "partial" and result.counts.new == 2 and result.rejected_total == 4
    reasons = {r.line: r.reason for r in result.rejections}
    assert set(reasons) == {4, 5, 7, 8}
    assert reasons[4].startswith("Post Created: not a time")
    assert "has 15 fields, the header has 41" in reasons[5]
    assert reasons[7] == "Likes: not a count: 'banyak'"
    assert reasons[8] == "URL is empty"
    with engine.connect() as conn:
        stored = conn.execute(text("select file, line, reason, raw from rejected_rows order by line")).all()
    assert [r.line for r in stored] == [4, 5, 7, 8]
    assert stored[0].file == str(path) and "kemarin" in stored[0].raw
    assert scalar(engine, "select rows_rejected from collection_runs where id = :i", i=result.run_id) == 4
    assert scalar(engine, "select status from collection_runs where id = :i", i=result.run_id) == "partial"


def test_window_edges_in_the_campaign_zone(config: Config, engine: Engine, tmp_path: Path) -> None:
    rows = [
        ct_row("1", "2022-09-18 23:59:59 WIB", "#WeLoveProbolinggo"),  # out: the day before
        ct_row("2", "2022-09-19 00:00:00 WIB", "#WeLoveProbolinggo"),  # in: first minute
        ct_row("3", "2022-10-31 16:59:59 UTC", "#WeLoveCities"),  # in: 23:59:59 WIB on the last day
        ct_row("4", "2022-10-31 17:00:00 UTC", "#WeLoveCities"),  # out: 1 Nov 00:00 WIB
        ct_row("5", "2022-09-30 17:30:00 GMT", "#WeLoveCities"),  # local midnight: 1 Oct 00:30 WIB
        ct_row("6", "2022-10-10 10:00:00 WIB", "#WeLoveProbolinggo2022 is another tag"),  # not tracked
    ]
    ingest_file(config, engine, write_ct(tmp_path / "edges.csv", rows))
    with engine.connect() as conn:
        days = dict(conn.execute(text("select post_key, local_date from posts")).all())
    assert {k: str(v) for k, v in days.items()} == {
        "1": "2022-09-18",
        "2": "2022-09-19",
        "3": "2022-10-31",
        "4": "2022-11-01",
        "5": "2022-10-01",
        "6": "2022-10-10",
    }
    assert campaign_posts(engine) == 3


def test_same_post_in_two_exports(config: Config, engine: Engine, tmp_path: Path) -> None:
    first = write_ct(tmp_path / "a.csv", [ct_row("77", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=10)])
    second = write_ct(
        tmp_path / "b.csv", [ct_row("77", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=25, comments=3)]
    )
    group_export = tmp_path / "group.csv"  # the same post id written as <page>_<post> by another layout
    header = ["Group Name", *CT_FB_HEADER[1:]]
    with group_export.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        row = ct_row("77", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=30, comments=4)
        row[CT_FB_HEADER.index("URL")] = "https://www.facebook.com/groups/111/permalink/77/"
        w.writerow(row)
    results = ingest_paths(config, engine, [first, second, group_export])
    assert [r.repeated for r in results] == [0, 0, 0]  # other files: not a repeat
    assert [r.counts.new for r in results] == [1, 0, 0]
    assert [r.counts.updated for r in results] == [0, 1, 1]
    assert scalar(engine, "select count(*) from posts") == 1
    assert scalar(engine, "select likes || '/' || comments from posts") == "30/4"
    assert scalar(engine, "select count(*) from metric_snapshots") == 3


def test_reimport_adds_nothing(config: Config, engine: Engine) -> None:
    path = EXPORTS / "socialstats_threetweets_ken.csv"
    first = ingest_file(config, engine, path)
    again = ingest_file(config, engine, path)
    assert first.counts.new == 3 and again.counts.new == 0 and again.counts.unchanged == 3
    assert scalar(engine, "select count(*) from posts") == 3
    assert scalar(engine, "select count(*) from metric_snapshots") == 3
    assert scalar(engine, "select count(*) from imported_files") == 1


def test_skip_known_files(config: Config, engine: Engine, tmp_path: Path) -> None:
    path = EXPORTS / "socialstats_twotweets.csv"
    assert ingest_file(config, engine, path, skip_known=True).status == "ok"
    copy = shutil.copy(path, tmp_path / "renamed.csv")  # same content, other name
    result = ingest_file(config, engine, copy, skip_known=True)
    assert result.status == "already_imported" and result.run_id is None
    assert scalar(engine, "select count(*) from collection_runs") == 1


def test_retweets_are_kept_as_reposts(config: Config, engine: Engine) -> None:
    ingest_file(config, engine, EXPORTS / "twarc2csv_output_two_tweets.csv")
    assert scalar(engine, "select is_repost from posts") == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"\xff\xfeP\x00o\x00s\x00t\x00", 'save it again as "CSV UTF-8'),
        (b"tanggal,akun,jumlah\n2022-10-01,kim,3\n", "no known export format"),
    ],
)
def test_files_rejected_whole(
    config: Config, engine: Engine, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    result = ingest_file(config, engine, path)
    assert result.status == "rejected" and expected in result.message
    with engine.connect() as conn:
        run = conn.execute(text("select status, error, target from collection_runs")).one()
    assert run.status == "failed" and expected in run.error and run.target == str(path)
    assert scalar(engine, "select count(*) from posts") == 0
    # the summary names the file once
    line = summary_lines([result])[0]
    assert line.startswith(f"{path}: REJECTED: ") and line.count("upload.csv") == 1


def test_a_file_cut_mid_character_imports(config: Config, engine: Engine, tmp_path: Path) -> None:
    path = write_ct(
        tmp_path / "cut.csv",
        [
            ct_row("1", "2022-10-01 08:00:00 WIB", "Lucu \U0001f61d #WeLoveCities"),
            ct_row("2", "2022-10-01 09:00:00 WIB", "CUT"),
        ],
    )
    # 😝 ends in 0x9D, which cp1252 leaves undefined: falling back to strict cp1252 crashed
    path.write_bytes(path.read_bytes().replace(b"CUT", "\U0001f304".encode()[:2]))
    result = ingest_file(config, engine, path)
    assert (result.status, result.counts.new) == ("ok", 2)
    assert "read as UTF-8, but 1 damaged character(s)" in result.message
    assert scalar(engine, "select text from posts where post_key = '1'") == "Lucu \U0001f61d #WeLoveCities"


def test_an_unreadable_line_rejects_the_file_without_a_traceback(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    rows = [ct_row(str(i), "2022-10-01 08:00:00 WIB", "#WeLoveCities") for i in range(3)]
    path = write_ct(tmp_path / "long.csv", [*rows, ct_row("9", "2022-10-01 08:00:00 WIB", "x" * 300)])
    old = csv.field_size_limit(200)  # Python 3.11 reads NULs and stray quotes: a huge field is a csv.Error
    try:
        result = ingest_file(config, engine, path)
    finally:
        csv.field_size_limit(old)
    assert result.status == "rejected"
    assert result.message.startswith("line 5 cannot be read as CSV (field larger than field limit (200))")
    assert "the 3 rows before it were imported" in result.message
    assert scalar(engine, "select count(*) from imported_files") == 0
    assert scalar(engine, "select status from collection_runs") == "failed"


def test_an_impossible_year_rejects_only_its_row(config: Config, engine: Engine, tmp_path: Path) -> None:
    rows = [
        ct_row("1", "2022-10-01 08:00:00 WIB", "#WeLoveCities"),
        ct_row("2", "0001-01-01 00:00 WIB", "#WeLoveCities"),  # converting it to UTC overflowed in the store
        ct_row("3", "2022-10-01 09:00:00 WIB", "#WeLoveCities"),
    ]
    result = ingest_file(config, engine, write_ct(tmp_path / "years.csv", rows))
    assert (result.status, result.counts.new, result.rejected_total) == ("partial", 2, 1)
    assert (
        result.rejections[0].reason
        == "Post Created: '0001-01-01 00:00 WIB' is not a post time (years 2000-2100 only)"
    )


def test_a_file_whose_every_row_is_rejected_is_rejected(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    path = write_ct(tmp_path / "bad.csv", [ct_row(str(i), "kemarin", "x") for i in range(3)])
    result = ingest_file(config, engine, path)
    assert (result.status, result.rejected_total) == ("rejected", 3)
    assert result.message.startswith(
        "none of its 3 row(s) could be imported, nothing was stored (line 2: Post Created: not a time"
    )
    assert scalar(engine, "select count(*) from imported_files") == 0  # the inbox may take it again
    assert scalar(engine, "select count(*) from rejected_rows") == 3
    assert scalar(engine, "select status from collection_runs") == "failed"
    lines = summary_lines([result])
    assert lines[0].startswith(f"{path}: REJECTED: none of its 3 row(s)")
    assert lines[1:3] == [
        "  line 3: Post Created: not a time: 'kemarin'",
        "  line 4: Post Created: not a time: 'kemarin'",
    ]


def test_a_post_repeated_in_one_file_is_named(config: Config, engine: Engine, tmp_path: Path) -> None:
    rows = [
        ct_row("7", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=1),
        ct_row("8", "2022-10-01 08:00:00 WIB", "#WeLoveCities"),
        ct_row("7", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=5),
    ]
    result = ingest_file(config, engine, write_ct(tmp_path / "twice.csv", rows))
    assert result.repeated == 1
    assert "post 7 appears on lines 2 and 4; the later row wins" in result.notes
    assert "1 repeating an earlier row" in summary_lines([result])[0]
    assert scalar(engine, "select likes from posts where post_key = '7'") == 5


def test_repeats_across_batches_are_found(
    config: Config, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.ingest.BATCH_SIZE", 2)  # lines 2-3, 4-5, 6
    keys = ["7", "8", "9", "7", "8"]
    rows = [ct_row(k, "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=n) for n, k in enumerate(keys)]
    result = ingest_file(config, engine, write_ct(tmp_path / "batches.csv", rows))
    assert result.repeated == 2
    assert "post 7 appears again on line 5; the later row wins" in result.notes
    assert "post 8 appears again on line 6; the later row wins" in result.notes
    assert scalar(engine, "select likes from posts where post_key = '7'") == 3


def test_only_posts_this_run_stored_count_as_repeats(config: Config, engine: Engine) -> None:
    # A post stored by an earlier import is an update, not a repeat; one this run stored is.
    earlier = start_run(engine, "crowdtangle-facebook", "old.csv")
    post = lambda key: PostRecord("facebook", key, dt.datetime(2022, 10, 1, tzinfo=dt.UTC), "t")  # noqa: E731
    write_batch(engine, earlier, [post("1")], ZoneInfo("UTC"))
    run_id = start_run(engine, "crowdtangle-facebook", "x.csv")
    assert write_batch(engine, run_id, [post("2"), post("3")], ZoneInfo("UTC")).stored_earlier_in_run == []
    again = write_batch(engine, run_id, [post("5"), post("2"), post("1")], ZoneInfo("UTC"))
    assert again.stored_earlier_in_run == ["2"]  # "1" was stored, but not by this run: no repeat


def test_many_repeats_are_counted(config: Config, engine: Engine, tmp_path: Path) -> None:
    rows = [ct_row("7", "2022-10-01 08:00:00 WIB", "#WeLoveCities", likes=n) for n in range(6)]
    result = ingest_file(config, engine, write_ct(tmp_path / "six.csv", rows))
    assert result.repeated == 5
    assert sum("appears on lines 2 and" in n for n in result.notes) == 3
    assert "5 rows in all repeat the post of an earlier row; the later row wins" in result.notes


def test_ambiguous_zone_needs_config(write_config: Callable[..., Path], tmp_path: Path) -> None:
    rows = [ct_row("1", "2022-10-01 08:00:00 CST", "#WeLoveCities")]
    path = write_ct(tmp_path / "cst.csv", rows)
    plain = load_config(write_config())
    engine = open_engine(plain.storage.url)
    result = ingest_file(plain, engine, path)
    assert result.status == "rejected" and '[zones] CST = "-06:00"' in result.message
    mapped = load_config(write_config('[zones]\nCST = "Asia/Shanghai"\n'))
    assert ingest_file(mapped, engine, path).status == "ok"
    assert str(scalar(engine, "select created_at from posts")).startswith("2022-10-01 00:00:00")
    engine.dispose()


def test_forced_format(config: Config, engine: Engine) -> None:
    path = EXPORTS / "socialstats_singletweet.csv"
    assert ingest_file(config, engine, path, format_name="twitter-analytics").status == "ok"
    wrong = ingest_file(config, engine, path, format_name="twarc-csv")
    assert wrong.status == "rejected" and "missing columns" in wrong.message


def test_custom_format_from_config(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = load_config(
        write_config(
            """
[[formats]]
name = "kim-weekly-sheet"
platform = "instagram"
id = "Link Postingan"
time = "Tanggal"
time_format = "%d/%m/%Y %H:%M"
author = "Akun"
text = "Caption"
likes = "Suka"
comments = "Komentar"
"""
        )
    )
    engine = open_engine(config.storage.url)
    sheet = tmp_path / "rekap.csv"
    sheet.write_text(
        "Akun;Link Postingan;Tanggal;Caption;Suka;Komentar\n"
        "@kim_pilang;https://www.instagram.com/p/CjAbc12345/;05/10/2022 19:30;Ayo #WeLoveCities;1.204;7\n",
        encoding="utf-8",
    )
    result = ingest_file(config, engine, sheet)
    assert (result.format, result.status, result.counts.new) == ("kim-weekly-sheet", "ok", 1)
    assert campaign_posts(engine) == 1
    engine.dispose()


def test_folders_import_their_csv_files_by_name(config: Config, engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(EXPORTS / "socialstats_twotweets_updated.csv", folder / "b.csv")
    shutil.copy(EXPORTS / "socialstats_twotweets.csv", folder / "a.csv")
    (folder / "notes.txt").write_text("not an export")
    os.utime(folder / "a.csv", (1_664_000_000, 1_664_000_000))
    os.utime(folder / "b.csv", (1_664_100_000, 1_664_100_000))
    results = ingest_paths(config, engine, [folder])
    assert [r.path.name for r in results] == ["a.csv", "b.csv"]
    # b is the later export (its modification time): its metrics win
    assert scalar(engine, "select views from posts where post_key = '1225785799146430465'") == 332


def test_samples_import_as_documented(config: Config, engine: Engine) -> None:
    results: list[FileResult] = ingest_paths(config, engine, sample_files())
    assert [r.format for r in results] == [
        "crowdtangle-facebook",
        "crowdtangle-instagram",
        "mbs-instagram",
        "twarc-csv",
        "twitter-analytics",
        "zeeschuimer",
        "tiktok-studio",
    ]
    # 05's Excel-mangled tweet id is read from its permalink; 06 has one line cut short
    assert [r.rejected_total for r in results] == [0, 1, 0, 1, 0, 1, 0]
    assert results[6].counts.new == 0 and results[6].counts.updated > 0  # the city's videos, again
    assert "Excel mangled 1 value(s) of Tweet id" in results[4].message
    assert results[2].counts.new == 0 and results[2].counts.updated > 0  # the city's IG posts, again
    assert results[4].counts.new == 0 and results[4].counts.updated > 0
    assert scalar(engine, "select count(*) from posts where is_repost") > 0
    assert 0 < campaign_posts(engine) < scalar(engine, "select count(*) from posts")  # type: ignore[operator]
    assert sum(p.stat().st_size for p in sample_files()) < 1_000_000


def test_samples_are_deterministic(tmp_path: Path) -> None:
    for made in make_samples(tmp_path):
        assert made.read_bytes() == (sample_files()[0].parent / made.name).read_bytes()
    assert (tmp_path / "roster.csv").read_bytes() == (sample_files()[0].parent / "roster.csv").read_bytes()


# ---------------------------------------------------------------------------------------------------------
# The command


def run_cli(config_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config_path), "ingest", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_all_imported_exits_0(config_path: Path) -> None:
    code, out = run_cli(config_path, str(EXPORTS / "socialstats_twotweets.csv"))
    assert code == 0
    assert "2 rows read, 2 new, 0 updated, 0 unchanged, 0 rejected" in out


def test_cli_rejects_exit_1_and_are_listed(config_path: Path, tmp_path: Path) -> None:
    rows = [ct_row(str(i), "kemarin", "x") for i in range(8)]
    path = write_ct(tmp_path / "bad.csv", rows)
    code, out = run_cli(config_path, str(EXPORTS / "socialstats_twotweets.csv"), str(path))
    assert code == 1
    assert "line 2: Post Created: not a time: 'kemarin'" in out
    assert "... and 3 more rejected rows" in out
    assert "total: 2 file(s), 10 rows read, 2 new, 0 updated, 0 unchanged, 8 rejected" in out


def test_cli_file_rejected_whole_exits_1(config_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, out = run_cli(config_path, str(path))
    assert code == 1 and "REJECTED" in out and "Traceback" not in out


def test_cli_usage_errors_exit_2(config_path: Path, tmp_path: Path) -> None:
    code, out = run_cli(config_path, str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file or folder" in out
    code, out = run_cli(config_path, "--format", "excel", str(EXPORTS / "socialstats_twotweets.csv"))
    assert code == 2 and "use one of: crowdtangle-facebook" in out


def test_cli_help_names_the_formats() -> None:
    out = CliRunner().invoke(main, ["ingest", "--help"]).output
    assert "twitter-analytics" in out and "[[formats]]" in out


def test_started_at_is_recent(config: Config, engine: Engine) -> None:
    result = ingest_file(config, engine, EXPORTS / "socialstats_singletweet.csv")
    started = scalar(engine, "select started_at from collection_runs where id = :i", i=result.run_id)
    assert str(started)[:4] == str(dt.date.today().year)
