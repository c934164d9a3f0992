"""Two `ingest` processes importing the same file at the same moment give exactly what importing it
twice in a row gives: each post, tag and metric snapshot once, and run logs that add up to one import
of new posts and one of unchanged ones (on PostgreSQL the batches take an advisory lock, as SQLite's
BEGIN IMMEDIATE does)."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.config import load_config
from monitor.db import open_engine
from monitor.ingest import FileResult, ingest_file
from monitor.samples.make_samples import CT_FB_HEADER

ROWS = 6000


def write_export(path: Path) -> Path:
    """A CrowdTangle-like export with ROWS posts, all in the campaign, two hashtags each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CT_FB_HEADER)
        for n in range(ROWS):
            row = dict.fromkeys(CT_FB_HEADER, "")
            row.update(
                {
                    "Page Name": "KIM Pilang",
                    "User Name": "kim_pilang",
                    "Facebook Id": "111",
                    "Post Created": f"2022-09-{19 + n % 10} 10:{n % 60:02d}:00 WIB",
                    "Likes": str(n % 17),
                    "Comments": str(n % 5),
                    "Shares": "0",
                    **{r: "0" for r in ("Love", "Wow", "Haha", "Sad", "Angry", "Care")},
                    "URL": f"https://www.facebook.com/111/posts/{1000 + n}",
                    "Message": "Ayo vote #WeLoveProbolinggo #WeLoveCities",
                }
            )
            writer.writerow([row[name] for name in CT_FB_HEADER])
    return path


def test_two_imports_of_one_file_at_once_give_the_sequential_result(
    config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two importers (each with its own engine, as two processes have) started at the same instant,
    # with small batches so that they interleave many times.
    monkeypatch.setattr("monitor.ingest.BATCH_SIZE", 300)
    config = load_config(config_path)
    open_engine(config.storage.url).dispose()  # schema first, as init or an earlier command does
    export = write_export(tmp_path / "inbox" / "export.csv")
    start = threading.Barrier(2)
    results: list[FileResult] = []
    errors: list[BaseException] = []

    def import_it() -> None:
        engine = open_engine(config.storage.url)
        try:
            start.wait(timeout=60)
            results.append(ingest_file(config, engine, export))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=import_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert [r.status for r in results] == ["ok", "ok"]

    engine = open_engine(config.storage.url)
    try:
        with engine.connect() as conn:

            def count(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            assert count("SELECT count(*) FROM posts") == ROWS
            assert count("SELECT count(*) FROM post_hashtags") == 2 * ROWS
            assert count("SELECT count(*) FROM metric_snapshots") == ROWS  # one per post: no duplicates
            runs = conn.execute(
                text("SELECT rows_read, rows_new, rows_updated, rows_unchanged, status FROM collection_runs")
            ).all()
    finally:
        engine.dispose()
    assert len(runs) == 2 and all(r.status == "ok" and r.rows_read == ROWS for r in runs), runs
    assert sum(r.rows_new for r in runs) == ROWS  # as if one ran after the other
    assert sum(r.rows_unchanged for r in runs) == ROWS
    assert sum(r.rows_updated for r in runs) == 0
    assert sum(r.counts.new for r in results) == ROWS
