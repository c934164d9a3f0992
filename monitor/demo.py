"""`campaign-monitor demo`: the whole pipeline on the bundled synthetic samples, in one folder.

It writes its own config.toml (so it never touches the user's database), imports the sample exports
into a fresh SQLite file (or, with `--url`, into the given empty database, e.g. a PostgreSQL one),
logs the vote reminder for every campaign day as the scheduler would have on that morning, and
builds the report as it stood at the end of the campaign.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import load_config
from monitor.db import open_engine, where
from monitor.errors import UsageError

DEMO_CONFIG = """\
# The demo's own configuration (written by `campaign-monitor demo`; safe to delete with the folder).
[campaign]
name = "We Love Cities 2022 - Kota Probolinggo (demo, synthetic data)"
city = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo", "WeLoveCities"]
vote_url = "https://www.welovecities.org"
language = "{language}"

[storage]
url = {url}

[reports]
out_dir = "daily"

[reminders]
channels = ["log"]

[sources.inbox]
path = "inbox"

[roster]
path = "roster.csv"
"""


@dataclass
class DemoResult:
    folder: Path
    index: Path
    config: Path


def run_demo(
    out_dir: Path, say: Callable[[str], None] = print, language: str = "id", url: str | None = None
) -> DemoResult:
    """The demo in `out_dir`; its database is demo.db there, made afresh, or the empty database `url`."""
    from monitor import samples
    from monitor.ingest import ingest_paths
    from monitor.reminders import send_reminders
    from reports.build import build_report

    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "config.toml"
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            (out_dir / f"demo.db{suffix}").unlink(missing_ok=True)
    else:
        _require_empty(url)
    storage = json.dumps(url or "sqlite:///demo.db")  # a TOML basic string
    config_path.write_text(DEMO_CONFIG.format(language=language, url=storage), encoding="utf-8")
    shutil.copyfile(Path(samples.__file__).parent / "roster.csv", out_dir / "roster.csv")
    config = load_config(config_path)
    engine = open_engine(config.storage.url)
    try:
        files = samples.sample_files()
        say(f"importing {len(files)} synthetic sample exports into {where(config.storage.url)}")
        for result in ingest_paths(config, engine, files):
            c = result.counts
            say(
                f"  {result.path.name} ({result.format}): {c.new} new, {c.updated} updated, "
                f"{c.unchanged} unchanged, {result.rejected_total} rejected"
            )
            for rejection in result.rejections[:3]:
                say(f"    line {rejection.line}: {rejection.reason}")
        say("(the samples carry a few bad rows on purpose, to show how rejects are reported)")
        campaign = config.campaign
        # One line per day would drown the summary: the reminder log is in the report instead.
        logging.getLogger("campaign_monitor.reminders").setLevel(logging.WARNING)
        for day in CampaignCalendar(campaign).days():
            morning = CampaignCalendar(
                campaign, fixed_clock(dt.datetime.combine(day, config.reminders.at, campaign.tz))
            )
            send_reminders(config, engine, morning, day)
        total_days = (campaign.end - campaign.start).days + 1
        say(f"logged the vote reminder for each of the {total_days} campaign days")
        closing = dt.datetime.combine(campaign.end, config.reports.daily_at, campaign.tz)
        calendar = CampaignCalendar(campaign, fixed_clock(closing))
        report = build_report(config, engine, out_dir / "report", calendar=calendar)
    finally:
        engine.dispose()
    return DemoResult(folder=out_dir, index=report.index, config=config_path)


def _require_empty(url: str) -> None:
    """The demo never mixes its synthetic posts into a database that holds anything."""
    from monitor.schema import current

    engine = open_engine(url, create=False)
    try:
        empty = current(engine).empty
    finally:
        engine.dispose()
    if not empty:
        raise UsageError(
            f"demo --url needs an empty database and {where(url)} has tables already: "
            "create a new one for the demo (e.g. createdb campaign_demo)"
        )
