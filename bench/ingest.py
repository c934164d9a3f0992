#!/usr/bin/env python3
"""Import speed as a ratio to the hand-written floor (DESIGN 7), and a correctness check.

    python bench/ingest.py [--rows 200000] [--shared ../shared] [--url postgresql+psycopg://...]

Builds a CrowdTangle export with the shared make_export.py, then times, in one run and on the same
file with fresh databases, `python floor_ingest.py` and `campaign-monitor ingest` (both as
subprocesses, alternating, --repeat times; the fastest run of each is compared). Prints the times,
the ratio (target: at most 1.5) and the peak memory of the children, and checks campaign posts and
interactions against OUT.csv.expected.json.

With --url (a PostgreSQL database the bench may empty: its tables are dropped before each run), the
same import also runs on PostgreSQL, side by side with SQLite, and then `campaign-monitor report` on
each database: it prints both ratios to SQLite (import and report; target: at most 1.5 each).
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5

CONFIG = """\
[campaign]
name = "bench"
city = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo", "WeLoveCities"]

[storage]
url = "sqlite:///ours.db"
"""

CAMPAIGN_TOTALS = """
select count(*), coalesce(sum(coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0)), 0)
from posts p
where not p.is_repost and p.local_date between '2022-09-19' and '2022-10-31'
  and exists (select 1 from post_hashtags h where h.post_id = p.id
              and h.tag in ('weloveprobolinggo', 'welovecities'))
"""


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_children_mb() -> float:
    # ru_maxrss is in KiB on Linux: the largest single child so far
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--url", help="also import into this PostgreSQL database (emptied first) and compare with SQLite"
    )
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each, alternating; the fastest of each is compared"
    )
    args = parser.parse_args()
    bench = args.shared / "bench"
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        export = work / "export.csv"
        print(f"making a {args.rows:,}-row CrowdTangle export ...", flush=True)
        subprocess.run(
            [sys.executable, str(bench / "make_export.py"), str(args.rows), str(export)], check=True
        )
        expected = json.loads(Path(f"{export}.expected.json").read_text())
        (work / "config.toml").write_text(CONFIG, encoding="utf-8")

        floor_cmd = [sys.executable, str(bench / "floor_ingest.py"), str(export), str(work / "floor.db")]
        ours_cmd = [sys.executable, "-m", "monitor", "--config", str(work / "config.toml"), "-q", "ingest"]
        floors, ours_runs = [], []
        # Alternate the two and keep the fastest of each: a shared machine only ever adds time.
        for _ in range(args.repeat):
            floors.append(timed(floor_cmd, work))
            for leftover in work.glob("ours.db*"):
                leftover.unlink()  # every import starts from an empty database, like the floor
            ours_runs.append(timed([*ours_cmd, str(export)], work))
        floor, ours = min(floors), min(ours_runs)
        print("runs (s)               floor " + " ".join(f"{t:.2f}" for t in floors))
        print("                       ours  " + " ".join(f"{t:.2f}" for t in ours_runs))
        peak_mb = peak_children_mb()  # the larger of the two children (RUSAGE_CHILDREN keeps the max)

        with sqlite3.connect(work / "ours.db") as con:
            posts, interactions = con.execute(CAMPAIGN_TOTALS).fetchone()
        pg_correct = True
        if args.url:
            pg_correct = compare_postgresql(args.url, work, export, ours_runs, args.repeat, expected)
        ratio = ours / floor
        print(f"rows                   {args.rows:,} ({export.stat().st_size / 1e6:.0f} MB)")
        print(f"floor_ingest.py        {floor:7.2f} s")
        print(f"campaign-monitor       {ours:7.2f} s")
        print(f"ratio                  {ratio:7.2f}x  (target <= {TARGET_RATIO}x)")
        print(f"peak memory (children) {peak_mb:7.0f} MB")
        correct = posts == expected["campaign_posts"] and interactions == expected["campaign_interactions"]
        print(
            f"campaign posts         {posts:,} (expected {expected['campaign_posts']:,})\n"
            f"campaign interactions  {interactions:,} (expected {expected['campaign_interactions']:,})\n"
            f"correct                {'yes' if correct else 'NO'}"
        )
    return 0 if correct and pg_correct else 1


def reset_postgresql(url: str) -> None:
    """Drop the project's tables (and Alembic's) so the next import starts from an empty database."""
    from sqlalchemy import create_engine

    from monitor.db import database_url
    from monitor.models import Base

    engine = create_engine(database_url(url))
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def compare_postgresql(
    url: str, work: Path, export: Path, sqlite_runs: list[float], repeat: int, expected: dict[str, int]
) -> bool:
    """The same import and report on PostgreSQL, side by side with SQLite; prints both ratios."""
    from sqlalchemy import create_engine, text

    from monitor.db import database_url

    pg = work / "pg"
    pg.mkdir()
    (pg / "config.toml").write_text(CONFIG.replace('"sqlite:///ours.db"', json.dumps(url)), encoding="utf-8")
    monitor = [sys.executable, "-m", "monitor", "-q", "--config"]
    pg_cmd = [*monitor, str(pg / "config.toml"), "ingest", str(export)]
    sqlite_cmd = [*monitor, str(work / "config.toml"), "ingest"]
    pg_runs, sqlite_again = [], []
    print("importing the same file into PostgreSQL and SQLite, alternating ...", flush=True)
    for _ in range(repeat):
        reset_postgresql(url)
        pg_runs.append(timed(pg_cmd, pg))
        for leftover in work.glob("ours.db*"):
            leftover.unlink()
        sqlite_again.append(timed([*sqlite_cmd, str(export)], work))
    sqlite_best = min(sqlite_runs + sqlite_again)
    pg_best = min(pg_runs)
    pg_report, sqlite_report = [], []
    for _ in range(repeat):
        pg_report.append(timed([*monitor, str(pg / "config.toml"), "report", "--out", str(pg / "r")], pg))
        sqlite_report.append(
            timed([*monitor, str(work / "config.toml"), "report", "--out", str(work / "r")], work)
        )
    engine = create_engine(database_url(url))
    with engine.connect() as conn:
        posts, interactions = conn.execute(text(CAMPAIGN_TOTALS)).one()
    engine.dispose()
    import_ratio = pg_best / sqlite_best
    report_ratio = min(pg_report) / min(sqlite_report)
    print("runs (s)               sqlite " + " ".join(f"{t:.2f}" for t in sqlite_runs + sqlite_again))
    print("                       pg     " + " ".join(f"{t:.2f}" for t in pg_runs))
    print(f"import on SQLite       {sqlite_best:7.2f} s")
    print(f"import on PostgreSQL   {pg_best:7.2f} s")
    print(f"import ratio PG/SQLite {import_ratio:7.2f}x  (target <= {TARGET_RATIO}x)")
    print(f"report on SQLite       {min(sqlite_report):7.2f} s")
    print(f"report on PostgreSQL   {min(pg_report):7.2f} s")
    print(f"report ratio PG/SQLite {report_ratio:7.2f}x  (target <= {TARGET_RATIO}x)")
    same = (pg / "r" / "daily.csv").read_bytes() == (work / "r" / "daily.csv").read_bytes()
    print(f"daily.csv identical    {'yes' if same else 'NO'}")
    correct = posts == expected["campaign_posts"] and interactions == expected["campaign_interactions"]
    print(f"PostgreSQL correct     {'yes' if correct else 'NO'} ({posts:,} posts)")
    return correct and same


if __name__ == "__main__":
    sys.exit(main())
