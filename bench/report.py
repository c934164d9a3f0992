"""Report benchmark (DESIGN 7): build_report over 2k posts and over 200k posts, same process, warm.

The aggregation happens in SQL, so the big report should cost at most 2x the small one (charts, the
workbook, the PDF and the page cost the same at any size), and the 2k report (every file) at most
3.3 s, half of the 6.6 s it took before the charts were drawn in parallel processes.
Run by hand:  python bench/report.py [--small 2000] [--big 200000]
It prints both timings (median of --repeat runs after one warm-up each; the two sizes take turns)
and the ratio. On a busy machine the wall times grow with the load; compare runs made together.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import Config, load_config
from monitor.db import open_engine
from reports.build import build_report
from reports.synthetic import add_sent_reminders, load_synthetic

CONFIG = """\
[roster]
path = "roster.csv"

[campaign]
name = "We Love Cities 2022 - Kota Probolinggo"
city = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo", "WeLoveCities"]

[storage]
url = "sqlite:///monitor.db"
"""
TARGET_RATIO = 2.0
TARGET_SMALL_S = 3.3
ROSTER_MEMBERS = 94  # the size of the Probolinggo KIM/LPM roster
KECAMATAN = ["mayangan", "kanigaran", "kademangan", "wonoasih", "kedopok"]


def write_roster(path: Path) -> None:
    """A roster like the office's: one member per synthetic core account, on all three platforms."""
    lines = ["name,group,kelurahan,kecamatan,facebook,instagram,twitter"]
    for i in range(ROSTER_MEMBERS):
        kecamatan = KECAMATAN[i % 5]
        handle = f"kim_{kecamatan}_{i}"
        lines.append(f"Anggota {i},KIM {kecamatan.title()},,{kecamatan.title()},{handle},@{handle},@{handle}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Bench:
    """One database of synthetic posts, ready to report on."""

    posts: int
    config: Config
    engine: Engine
    out: Path
    calendar: CampaignCalendar
    runs: list[float] = field(default_factory=list)

    def build(self) -> float:
        started = time.perf_counter()
        build_report(self.config, self.engine, self.out, calendar=self.calendar)
        return time.perf_counter() - started


def prepare(folder: Path, posts: int) -> Bench:
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    write_roster(folder / "roster.csv")
    config = load_config(folder / "config.toml")
    engine = open_engine(config.storage.url)
    started = time.perf_counter()
    load_synthetic(engine, config.campaign, posts)  # through store.write_batch, like a real import
    add_sent_reminders(engine, config.campaign, config.campaign.end)
    print(f"  stored {posts:>7} posts in {time.perf_counter() - started:6.1f} s")
    engine.dispose()  # the report runs in its own process after the imports: a fresh engine
    after = CampaignCalendar(
        config.campaign, fixed_clock(dt.datetime(2022, 11, 1, 9, 0, tzinfo=config.campaign.tz))
    )
    bench = Bench(posts, config, open_engine(config.storage.url), folder / "out", after)
    bench.build()  # warm-up: imports, fonts, SQLite cache
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        sizes = [prepare(Path(tmp) / "small", args.small), prepare(Path(tmp) / "big", args.big)]
        # The two sizes take turns, so a change in the machine's speed during the run (other work,
        # another virtual machine on the host) weighs on both alike instead of on the ratio.
        for _ in range(args.repeat):
            for bench in sizes:
                bench.runs.append(bench.build())
        for bench in sizes:
            bench.engine.dispose()
    small, big = medians = [statistics.median(b.runs) for b in sizes]
    for bench, median in zip(sizes, medians, strict=True):
        runs = " ".join(f"{r:.2f}" for r in bench.runs)
        print(f"report over {bench.posts:>7} posts: {median:6.2f} s  (runs: {runs})")
    ratio = big / small
    pairs = sorted(b / s for s, b in zip(sizes[0].runs, sizes[1].runs, strict=True))
    verdict = "ok" if ratio <= TARGET_RATIO else "SLOWER than the target"
    print(
        f"ratio {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x): {verdict}"
        f"  (run by run: {pairs[0]:.2f}x to {pairs[-1]:.2f}x)"
    )
    small_verdict = "ok" if small <= TARGET_SMALL_S else "SLOWER than the target"
    print(
        f"2k report {small:.2f} s (target <= {TARGET_SMALL_S} s on an idle 2-core machine): {small_verdict}"
    )


if __name__ == "__main__":
    main()
