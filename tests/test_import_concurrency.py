"""Two `ingest` processes importing the same file at the same moment give exactly what importing it
twice in a row gives: each post, tag and metric snapshot once, and run logs that add up to one import
of new posts and one of unchanged ones (on PostgreSQL the batches take an advisory lock, as SQLite's
BEGIN IMMEDIATE does)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from monitor.config import load_config
from monitor.db import open_engine
from monitor.ingest import BATCH_SIZE
from monitor.samples.make_samples import CT_FB_HEADER

ROWS = BATCH_SIZE * 2 + 500  # three batches each: the two imports interleave batch by batch


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
    config_path: Path, tmp_path: Path
) -> None:
    config = load_config(config_path)
    open_engine(config.storage.url).dispose()  # schema first, as init or an earlier command does
    export = write_export(tmp_path / "inbox" / "export.csv")
    command = [sys.executable, "-m", "monitor", "--config", str(config_path), "-q", "ingest", str(export)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs

    engine = open_engine(config.storage.url)
    try:
        with engine.connect() as conn:

            def count(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            assert count("SELECT count(*) FROM posts") == ROWS
            assert count("SELECT count(DISTINCT post_key) FROM posts") == ROWS
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
