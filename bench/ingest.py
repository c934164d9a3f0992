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

The NDJSON case: the same posts written as a Zeeschuimer capture (Threads items, whose likes,
replies and reposts are the export's reactions, comments and shares), imported the same way; it
prints its time as a ratio to the CSV import, its peak memory (of that child alone), and checks the
same campaign totals (DESIGN 7: NDJSON captures stream like CSV).
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


def timed_peak(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Time and peak memory (MB) of one command alone, measured in a wrapper process."""
    wrapper = (
        "import resource, subprocess, sys;"
        " subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
        " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) / 1024


def write_capture(export: Path, capture: Path) -> int:
    """The export's posts as a Zeeschuimer NDJSON capture of Threads posts; returns the lines written."""
    sys.path.insert(0, str(REPO))
    from zoneinfo import ZoneInfo

    from collectors.csv_reader import MONTH_FIRST, open_export, parse_time, zone_table

    source = open_export(export)
    col = {name: i for i, name in enumerate(source.header)}
    zones, tz = zone_table(), ZoneInfo("Asia/Jakarta")
    reactions = [col[c] for c in ("Likes", "Love", "Wow", "Haha", "Sad", "Angry", "Care")]
    captured = 1_667_260_800_000  # 2022-11-01 00:00 UTC, in ms
    lines = 0
    with capture.open("w", encoding="utf-8") as out:
        for n, (_line, row) in enumerate(source.records(), start=1):
            created = parse_time(row[col["Post Created"]], tz, MONTH_FIRST, zones)
            handle = row[col["User Name"]]
            data = {
                "pk": str(3_000_000_000_000_000_000 + n),
                "id": f"{3_000_000_000_000_000_000 + n}_{row[col['Facebook Id']]}",
                "code": f"B{n:010d}",
                "taken_at": int(created.timestamp()),
                "caption": {"text": row[col["Message"]]},
                "user": {"pk": row[col["Facebook Id"]], "username": handle},
                "like_count": sum(int(row[i] or 0) for i in reactions),
                "text_post_app_info": {
                    "direct_reply_count": int(row[col["Comments"]] or 0),
                    "repost_count": int(row[col["Shares"]] or 0),
                    "quote_count": 0,
                },
            }
            envelope = {
                "nav_index": "1:2:0",
                "item_id": data["id"],
                "timestamp_collected": captured + n,
                "source_platform": "threads.net",
                "source_platform_url": "https://www.threads.com/search?q=%23WeLoveProbolinggo",
                "source_url": "https://www.threads.com/graphql/query",
                "user_agent": "Mozilla/5.0 (bench)",
                "data": data,
                "id": n,
            }
            out.write(json.dumps(envelope, separators=(",", ":")) + "\n")
            lines += 1
    return lines


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

        capture = work / "capture.ndjson"
        write_capture(export, capture)
        csv_runs, ndjson_runs, peaks = [], [], []
        for _ in range(args.repeat):
            for leftover in work.glob("ours.db*"):
                leftover.unlink()
            csv_runs.append(timed([*ours_cmd, str(export)], work))
            for leftover in work.glob("ours.db*"):
                leftover.unlink()
            took, peak = timed_peak([*ours_cmd, str(capture)], work)
            ndjson_runs.append(took)
            peaks.append(peak)
        with sqlite3.connect(work / "ours.db") as con:
            nd_posts, nd_interactions = con.execute(CAMPAIGN_TOTALS).fetchone()
        nd_ratio = min(ndjson_runs) / min(csv_runs)
        nd_correct = (nd_posts, nd_interactions) == (
            expected["campaign_posts"],
            expected["campaign_interactions"],
        )
        print("NDJSON capture (the same posts as Zeeschuimer Threads items)")
        print(f"  file                 {capture.stat().st_size / 1e6:.0f} MB")
        print("  runs (s)       csv   " + " ".join(f"{t:.2f}" for t in csv_runs))
        print("                 ndjson " + " ".join(f"{t:.2f}" for t in ndjson_runs))
        print(f"  ratio to the CSV     {nd_ratio:7.2f}x")
        print(f"  peak memory          {min(peaks):7.0f} MB")
        print(
            f"  campaign totals      {nd_posts:,} posts, {nd_interactions:,} interactions: "
            f"{'correct' if nd_correct else 'NOT the expected ones'}"
        )
    return 0 if correct and nd_correct and pg_correct else 1


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
