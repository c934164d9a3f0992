"""Import JSON inputs (captures, scraper datasets, instaloader files) the way `ingest` imports CSVs.

`ingest_file` hands a file here when its content is JSON (collectors.json_reader.is_item_file). The
first item decides the family (collectors.item_formats); every item is then mapped alone, so a bad
item is one reject with its line (NDJSON) or position (a JSON list) and the reason, and the good items
of the same file are kept. Items stream in batches of store.BATCH_SIZE: an NDJSON capture of any size
is read in bounded memory. A Zeeschuimer item's capture time is its observation time (observed_at).
"""

from __future__ import annotations

from collections.abc import Generator
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from collectors.csv_reader import RowError, zone_table
from collectors.export_times import export_time
from collectors.item_formats import FAMILIES, check_family, detect_family, match_item, to_record
from collectors.json_reader import ItemError, ItemFileError, open_items, raw_text
from monitor.config import Config
from monitor.counting import CampaignRule
from monitor.errors import ExportFormatError
from monitor.ingest import (
    FileResult,
    Progress,
    _already_imported,
    _os_reason,
    _reject_file,
    count_campaign_posts,
    count_reject,
    file_read,
    finish_file,
    note_repeat,
    repeats_note,
    run_broke,
    stopped_at_unreadable,
)
from monitor.records import PostRecord
from monitor.store import BATCH_SIZE, Rejection, start_run, write_batch

DETECT_WITHIN = 100  # items read to find the family when a file opens with bad lines or error rows


def _detect(
    stream: Generator[tuple[int, Any, str], None, None], word: str
) -> tuple[list[tuple[int, Any, str]], str]:
    """The family from the first item that shows one (a scraper's dataset may open with error rows, a
    capture with a broken line), and the items read so far; ExportFormatError naming the first item."""
    head: list[tuple[int, Any, str]] = []
    first_error: ExportFormatError | None = None
    for entry in stream:
        head.append(entry)
        number, obj, _raw = entry
        try:
            if isinstance(obj, ItemError):
                raise ExportFormatError(f"{word} {number} is {obj.reason}")
            return head, detect_family(obj)
        except ExportFormatError as exc:
            first_error = first_error or exc
        if len(head) >= DETECT_WITHIN:
            break
    raise first_error or ExportFormatError("the file holds no items")


def ingest_items(
    config: Config,
    engine: Engine,
    path: Path,
    family: str | None = None,
    skip_known: bool = False,
    progress: Progress | None = None,
) -> FileResult:
    """Import one JSON/NDJSON file; `family` forces the format family (UsageError if unknown)."""
    if family is not None:
        check_family(family)
    try:
        items = open_items(path)
    except ExportFormatError as exc:
        return _reject_file(engine, path, None, None, str(exc), progress, path.stat().st_size)
    except OSError as exc:  # vanished or unreadable since ingest_file looked
        return _reject_file(engine, path, None, None, _os_reason(exc), progress, 0)
    if skip_known and _already_imported(engine, items.sha256):
        if progress:
            progress(items.size)
        return FileResult(path, None, items.sha256, "already_imported", message="imported before")
    stream: Generator[tuple[int, Any, str], None, None] = items.items(progress)
    try:
        head, detected = _detect(stream, items.number_word)
        if family is not None and detected != family:
            raise ExportFormatError(
                f"not a {FAMILIES[family]} file; its first item looks like {FAMILIES[detected]}"
            )
    except ExportFormatError as exc:
        stream.close()
        return _reject_file(engine, path, None, items.sha256, str(exc), progress, items.size)
    family = detected

    tz = config.campaign.tz
    result = FileResult(path, family, items.sha256, "ok")
    name = str(path)
    # Items that do not say when they were seen (a scraper's dataset) were seen when the file was
    # made: its name's timestamp (Apify), else its modification time. A capture's items say it.
    observed, how = export_time(path, zone_table(config.zones))
    result.observed_at, result.observed_how = observed, how
    if family == "zeeschuimer":
        result.observed_how = f"each item's capture time, else {how}"
    rule = CampaignRule(config.campaign)
    tally = result.tally
    result.run_id = run_id = start_run(engine, family, name)
    records: list[PostRecord] = []
    rejections: list[Rejection] = []
    campaign_posts: list[PostRecord] = []  # this batch's campaign posts
    lines: dict[tuple[str, str], int] = {}  # (platform, key) -> its first number in the current batch
    platforms: dict[str, int] = {}
    word = items.number_word

    def repeated(key: str, first: int | None, number: int | None) -> None:
        note_repeat(result, key, first, number, "item", word)

    def flush() -> None:
        counts = write_batch(engine, run_id, records, tz, rejections, observed=observed, sha256=items.sha256)
        for key in counts.stored_earlier_in_run:
            first_seen = next((n for (_p, k), n in lines.items() if k == key), None)
            repeated(key, None, first_seen)
        count_campaign_posts(tally, campaign_posts, counts)
        result.counts += counts
        records.clear()
        rejections.clear()
        campaign_posts.clear()
        lines.clear()

    def handle(number: int, obj: object, raw: str) -> None:
        try:
            if isinstance(obj, ItemError):
                raise RowError(obj.reason)
            fmt, item, seen = match_item(family, obj)
            record = to_record(fmt, item, seen)
        except (RowError, ValueError) as exc:
            rejection = Rejection(name, number, str(exc), raw_text(raw, obj), sha256=items.sha256)
            rejections.append(rejection)
            count_reject(result, rejection)
            return
        records.append(record)
        platforms[record.platform] = platforms.get(record.platform, 0) + 1
        pk = (record.platform, record.post_key)
        first_seen = lines.setdefault(pk, number)
        if first_seen != number:
            repeated(record.post_key, first_seen, number)
            tally.repeated += 1
        elif (why := rule.reason(record)) is not None:
            rule.count(tally, why)
        else:
            campaign_posts.append(record)

    try:
        try:
            for number, obj, raw in chain(head, stream):
                handle(number, obj, raw)
                if len(records) + len(rejections) >= BATCH_SIZE:
                    flush()
        except ItemFileError as exc:
            flush()
            stopped_at_unreadable(result, exc, "item")
        else:
            flush()
            file_read(engine, result, items, family, run_id)
    except BaseException as exc:
        run_broke(engine, run_id, exc)
        raise
    result.counted = rule.describe(tally)
    result.warning = rule.warning(tally)
    platform_mix = (
        ["platforms: " + ", ".join(f"{p} {n}" for p, n in sorted(platforms.items()))]
        if len(platforms) > 1
        else []
    )
    return finish_file(engine, result, run_id, [*platform_mix, *repeats_note(result, "item")], "item", word)
