#!/usr/bin/env python3
"""Import speed as a ratio to the hand-written floor (DESIGN 7), and a correctness check.

    python bench/ingest.py [--rows 200000] [--shared ../shared]

Builds a CrowdTangle export with the shared make_export.py, then times, in one run and on the same
file with fresh databases, `python floor_ingest.py` and `campaign-monitor ingest` (both as
subprocesses, alternating, --repeat times; the fastest run of each is compared). Prints the times,
the ratio (target: at most 1.5) and the peak memory of the children, and checks campaign posts and
interactions against OUT.csv.expected.json.
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
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
