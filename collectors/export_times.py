"""When an export says it was made: the observation time of its metrics (DESIGN 5).

The metrics of a post are those of its latest observation. For an export that is the time it was
made where the export says so (a column, handled by the format's `observed` column; or the
timestamp a platform writes into its file names, here), else the file's modification time (the
importer's fallback), else the import time.

File names that carry the export time (FORMATS.md 2, FORMATS-2026.md 1, 5):
- CrowdTangle: `2021-07-05-22-49-20-BRT-search-csv-export.csv` (local time of the dashboard user and
  its zone abbreviation);
- Apify datasets: `dataset_instagram-hashtag-scraper_2023-09-27_19-54-19-495.csv` (UTC);
- Zeeschuimer: `zeeschuimer-export-tiktok.com-2022-03-30T034532.ndjson` (UTC).
Meta Business Suite (`Sep-19-2022_Oct-31-2022_<asset>.csv`) and Twitter Analytics
(`tweet_activity_metrics_<user>_<from>_<to>_en.csv`) name the range exported, not when: not used.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from collectors.csv_reader import ZONES

_CROWDTANGLE = re.compile(r"(?<!\d)(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-([A-Za-z]{1,5})-")
_APIFY = re.compile(r"(?<!\d)(\d{4})-(\d\d)-(\d\d)_(\d\d)-(\d\d)-(\d\d)(?:-\d{3})?(?!\d)")
_ZEESCHUIMER = re.compile(r"(?<!\d)(\d{4})-(\d\d)-(\d\d)T(\d\d)(\d\d)(\d\d)(?!\d)")


def time_in_file_name(name: str, zones: Mapping[str, dt.tzinfo] = ZONES) -> dt.datetime | None:
    """The export time a platform wrote into a file name, as an aware datetime, or None."""
    match = _CROWDTANGLE.search(name)
    if match:
        zone = zones.get(match.group(7).upper())
        if zone is None:
            return None  # a zone we do not know is never guessed (DESIGN 5)
        return _when(match.groups()[:6], zone)
    for pattern in (_APIFY, _ZEESCHUIMER):
        match = pattern.search(name)
        if match:
            return _when(match.groups()[:6], dt.UTC)
    return None


def _when(parts: tuple[str | None, ...], zone: dt.tzinfo) -> dt.datetime | None:
    year, month, day, hour, minute, second = (int(p or 0) for p in parts)
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def export_time(path: Path, zones: Mapping[str, dt.tzinfo] = ZONES) -> tuple[dt.datetime, str]:
    """When an export file was made, and how we know: its file name, else its modification time."""
    named = time_in_file_name(path.name, zones)
    if named is not None:
        return named, "time in the file name"
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC), "file modified"
