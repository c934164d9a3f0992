"""Import export files: detect the format, stream the rows, store them in batches, log the run.

Library API (the CLI `ingest` command and the scheduler's inbox job call these):

    ingest_file(config, engine, path, format_name=None, skip_known=False, progress=None) -> FileResult
    ingest_paths(config, engine, paths, format_name=None, progress=None) -> list[FileResult]

Files are imported in the order given (a folder: its CSV files by name); the metrics of a post are
those of its latest observation (DESIGN 5: the export's own time from a column or its file name,
else the file's modification time; ties go to the later import), whatever the order. Each batch of
store.BATCH_SIZE rows is one transaction (its posts and its rejected rows together), so a kill loses
nothing committed; posts are upserted by (platform, post_key), so running the same import again adds
no duplicates. Every file's result says what counted (monitor/counting.py). The file's sha256 goes to
`imported_files` in a final transaction, unless the file was rejected (then the inbox may retry it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import cast

from sqlalchemy import Engine, Table, select

from collectors.csv_formats import (
    ExportFormat,
    all_formats,
    detect_format,
    find_format,
    missing_columns,
    row_key,
    row_mapper,
)
from collectors.csv_reader import (
    ExportFile,
    RowError,
    date_order_of,
    has_slashed_dates,
    open_export,
    raw_record,
    zone_table,
)
from collectors.export_times import export_time
from collectors.item_formats import FAMILIES
from collectors.json_reader import ItemFile, is_item_file
from monitor.config import Config
from monitor.counting import CampaignRule, Tally
from monitor.errors import ExportFormatError, UsageError
from monitor.models import ImportedFile, Post
from monitor.pg_bulk import refresh_statistics
from monitor.records import PostRecord
from monitor.redaction import printable
from monitor.store import BATCH_SIZE, BatchCounts, Rejection, finish_run, start_run, upsert_into, write_batch

Progress = Callable[[int], None]  # called with the number of bytes read since the last call
SHOWN_REJECTIONS = 10
SHOWN_REPEATS = 3  # rows repeating a post are counted; the first few are named in the notes
LARGE_IMPORT = 10_000  # new posts after which a file refreshes the database's statistics (PostgreSQL)
# What a folder stands for; the format itself is told by content (an instaloader folder holds
# `<date>_UTC.json.xz` files beside its pictures).
EXPORT_SUFFIXES = (".csv", ".tsv", ".json", ".ndjson", ".jsonl", ".xz")
# A `rejects --file NAME --csv` sheet carries the id of each reject: a fixed row that imports cleanly
# resolves its reject (see monitor/rejects.py).
REJECT_ID_COLUMN = "reject id"

imported_t = cast(Table, ImportedFile.__table__)
posts_t = cast(Table, Post.__table__)


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    format: str | None
    sha256: str | None
    status: str  # "ok" | "partial" | "rejected" | "already_imported"
    counts: BatchCounts = field(default_factory=BatchCounts)
    rejections: list[Rejection] = field(default_factory=list)  # the first SHOWN_REJECTIONS
    rejected_total: int = 0
    message: str = ""  # the notes joined with "; ", or why the whole file was rejected
    run_id: int | None = None
    repeated: int = 0  # rows whose post an earlier row of the same file already had (the later wins)
    notes: list[str] = field(default_factory=list)  # encoding, date order, Excel damage, repeated posts
    tally: Tally = field(default_factory=Tally)  # what counted: campaign posts and why not
    counted: str = ""  # the tally in words: "12 campaign posts; not counted: 9 before 19 Sep, ..."
    warning: str | None = None  # a file with no campaign post at all: why
    observed_at: dt.datetime | None = None  # when the export was made (DESIGN 5), see observed_how
    observed_how: str = ""  # "time in the file name", "file modified", "column __twarc.retrieved_at"

    @property
    def rows_read(self) -> int:
        return self.counts.read

    @property
    def had_problems(self) -> bool:
        return self.status in ("partial", "rejected")


def export_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files in the order given; a folder stands for its CSV files sorted by name.

    The order only breaks ties: the latest observation's metrics win (see the module docstring).
    Raises UsageError when a path does not exist.
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            # Every CSV-named entry but folders: a link that leads nowhere or a file that cannot be
            # read is rejected with its reason (and the rest imported), not silently left out.
            found.extend(
                sorted(
                    (p for p in path.iterdir() if p.suffix.lower() in EXPORT_SUFFIXES and not p.is_dir()),
                    key=lambda p: p.name,
                )
            )
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return found


def ingest_paths(
    config: Config,
    engine: Engine,
    paths: Iterable[Path | str],
    format_name: str | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Import files and folders in the order given (see `export_paths`)."""
    files = export_paths(paths)
    if format_name is not None and format_name not in FAMILIES:
        find_format(format_name, all_formats(config.formats))  # a bad name fails before any import
    return [ingest_file(config, engine, path, format_name, progress=progress) for path in files]


def ingest_file(
    config: Config,
    engine: Engine,
    path: Path | str,
    format_name: str | None = None,
    skip_known: bool = False,
    progress: Progress | None = None,
) -> FileResult:
    """Import one export file; bad rows are rejected one by one, a file we cannot read as a whole.

    `format_name` forces a format (UsageError if unknown). With `skip_known`, a file whose content was
    imported before is not read again (status "already_imported"). A file is "rejected" (its hash not
    recorded) when it cannot be read, matches no format, or none of its rows could be stored; the
    message says why without repeating the path (FileResult.path has it).
    """
    path = Path(path)
    formats = all_formats(config.formats)
    json_family = format_name if format_name in FAMILIES else None
    forced = find_format(format_name, formats) if format_name and not json_family else None
    unreadable = unreadable_reason(path)
    if unreadable:
        return _reject_file(engine, path, None, None, unreadable, progress, 0)
    if is_item_file(path):  # by content: a capture or a scraper's dataset (monitor.item_import)
        if forced is not None:
            reason = f"this is a JSON file, not a {forced.title} export"
            return _reject_file(engine, path, None, None, reason, progress, path.stat().st_size)
        from monitor.item_import import ingest_items

        return ingest_items(config, engine, path, json_family, skip_known, progress)
    if json_family is not None:
        reason = f"not a {FAMILIES[json_family]} file: its content is not JSON"
        return _reject_file(engine, path, None, None, reason, progress, path.stat().st_size)
    try:
        export = open_export(path)
    except ExportFormatError as exc:
        return _reject_file(engine, path, None, None, str(exc), progress, path.stat().st_size)
    except OSError as exc:  # vanished, or unreadable after all (the check above raced with it)
        return _reject_file(engine, path, None, None, _os_reason(exc), progress, 0)
    if skip_known and _already_imported(engine, export.sha256):
        if progress:
            progress(export.size)
        return FileResult(path, None, export.sha256, "already_imported", message="imported before")
    try:
        if forced is not None:
            missing = missing_columns(forced, export.header)
            if missing:
                raise ExportFormatError(f"not a {forced.title} export; missing columns: {', '.join(missing)}")
            fmt = forced
        else:
            fmt = detect_format(export.header, formats)
    except ExportFormatError as exc:
        return _reject_file(engine, path, None, export.sha256, str(exc), progress, export.size)
    return _import_rows(config, engine, export, fmt, progress)


def unreadable_reason(path: Path) -> str:
    """Why `path` cannot be imported as a file ('' when it can be opened for reading)."""
    if path.is_symlink() and not path.exists():
        return "is a symbolic link to nothing (its target is gone); import the file itself"
    if not path.exists():
        return "no such file (it went away)"
    if path.is_dir():
        return "is a folder; give its files, or the folder itself, to `ingest`"
    if not path.is_file():
        return "is not a regular file (a pipe or a device); nothing to import"
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return _os_reason(exc)
    return ""


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file (it went away)"
    if isinstance(exc, PermissionError):
        return f"cannot be read ({exc.strerror}); give this user read access and import it again"
    return f"cannot be read ({exc.strerror or exc})"


def _import_rows(
    config: Config, engine: Engine, export: ExportFile, fmt: ExportFormat, progress: Progress | None
) -> FileResult:
    tz = config.campaign.tz
    result = FileResult(export.path, fmt.name, export.sha256, "ok")
    notes = result.notes
    if export.encoding_note:
        notes.append(export.encoding_note)
    try:
        order, order_note = _date_order(export, fmt, (config.campaign.start, config.campaign.end))
    except ExportFormatError as exc:
        return _reject_file(engine, export.path, fmt.name, export.sha256, str(exc), progress, export.size)
    if order_note:
        notes.append(order_note)
    damaged: Counter[str] = Counter()
    to_record = row_mapper(fmt, export.header, tz, order, zones=config.zones, damaged=damaged)
    key_of = row_key(fmt, export.header)
    observed, how = export_time(export.path, zone_table(config.zones))
    result.observed_at, result.observed_how = observed, how
    if fmt.observed:
        result.observed_how = f"column {fmt.observed} where set, else {how}"
    rule = CampaignRule(config.campaign)
    window_first, window_after, tracked = rule.first, rule.after, rule.tags
    peer_tags, own_tags = rule.peer_tags, rule.own_tags
    tally = result.tally
    header_line = raw_record(export.header, export.delimiter)
    reject_ids = _reject_id_column(export.header)
    width = len(export.header)
    name = str(export.path)
    result.run_id = run_id = start_run(engine, fmt.name, name)
    records: list[PostRecord] = []
    rejections: list[Rejection] = []
    resolved: list[int] = []  # rejects of a `rejects --csv` sheet whose fixed row imported
    campaign_posts: list[PostRecord] = []  # this batch's campaign posts
    lines: dict[str, int] = {}  # post key -> its first line in the current batch

    def repeated(key: str, first: int | None, line: int) -> None:
        note_repeat(result, key, first, line, "row", "line")

    def flush() -> None:
        counts = write_batch(
            engine,
            run_id,
            records,
            tz,
            rejections,
            observed=observed,
            resolves=resolved,
            sha256=export.sha256,
        )
        for key in counts.stored_earlier_in_run:  # an earlier batch of this file had the post
            repeated(key, None, lines[key])
        count_campaign_posts(tally, campaign_posts, counts)
        result.counts += counts
        records.clear()
        rejections.clear()
        resolved.clear()
        campaign_posts.clear()
        lines.clear()

    def reject(line: int, reason: str, fields: list[str]) -> None:
        if not any(cell.strip() for cell in fields):
            tally.blank += 1  # a blank row (Excel leaves them): skipped, not a reject
            return
        key = key_of(fields) if len(fields) == width else None
        rejection = Rejection(
            name,
            line,
            reason,
            raw_record(fields, export.delimiter),
            sha256=export.sha256,
            header=header_line,
            platform=key[0] if key else None,
            post_key=key[1] if key else None,
        )
        rejections.append(rejection)
        count_reject(result, rejection)

    def runaway(line: int, spanned: int, to_end: bool, fields: list[str]) -> None:
        where = "to the end of the file" if to_end else f"over {spanned} lines"
        reason = (
            f"a quoted field opens on line {line} and does not close where it should (it runs {where}); "
            f"this row is rejected and the rows after it were read again from line {line + 1}: "
            "check the quotes on that line"
        )
        reject(line, reason, [f[:200] for f in fields[:width]])

    try:
        try:
            for line, fields in export.records(progress, on_runaway=runaway):
                if len(fields) != width:
                    reject(line, f"has {len(fields)} fields, the header has {width}", fields)
                else:
                    try:
                        record = to_record(fields)
                    except (RowError, ValueError) as exc:
                        reject(line, str(exc), fields)
                    else:
                        records.append(record)
                        first = lines.setdefault(record.post_key, line)
                        if first != line:
                            repeated(record.post_key, first, line)
                            tally.repeated += 1
                        # CampaignRule.reason, inlined: this runs for every row (DESIGN 7).
                        elif record.is_repost:
                            tally.reposts += 1
                        elif record.created_at < window_first:
                            tally.before += 1
                        elif record.created_at >= window_after:
                            tally.after += 1
                        elif tracked.isdisjoint(record.hashtags):
                            tally.untagged += 1
                        elif (
                            peer_tags
                            and not peer_tags.isdisjoint(record.hashtags)
                            and own_tags.isdisjoint(record.hashtags)
                        ):
                            tally.peers += 1  # a [[peers]] city's post (kept, not the campaign's)
                        else:
                            campaign_posts.append(record)
                        if reject_ids is not None and (rid := fields[reject_ids].strip()).isdigit():
                            resolved.append(int(rid))
                if len(records) + len(rejections) >= BATCH_SIZE:
                    flush()
        except ExportFormatError as exc:
            # A record the csv module cannot parse: keep the rows before it, reject the file.
            flush()
            stopped_at_unreadable(result, exc, "row")
        else:
            flush()
            file_read(engine, result, export, fmt.name, run_id)
    except BaseException as exc:
        run_broke(engine, run_id, exc)
        raise
    result.counted = rule.describe(tally, "retweet" if fmt.platform == "twitter" else "repost")
    result.warning = rule.warning(tally)
    damage = [f"Excel mangled {n} value(s) of {what}" for what, n in damaged.items()]
    return finish_file(engine, result, run_id, [*repeats_note(result, "row"), *damage], "row", "line")


def _reject_id_column(header: Sequence[str]) -> int | None:
    folded = [h.casefold() for h in header]
    return folded.index(REJECT_ID_COLUMN) if REJECT_ID_COLUMN in folded else None


# ---------------------------------------------------------------------------------------------------------
# The end of a file's import: what CSV rows and JSON items (monitor/item_import.py) have in common. A
# "unit" is what the file holds (row, item), a "place" what its rejects are numbered by (line, item).


def note_repeat(
    result: FileResult, key: str, first: int | None, number: int | None, unit: str, place: str
) -> None:
    """A unit repeating the post of an earlier one (the later wins): counted, the first few named in
    the notes (`first` None: the earlier one was in an earlier batch, its number not kept; `number`
    None: this one's number is not known either)."""
    result.repeated += 1
    if result.repeated <= SHOWN_REPEATS:
        if first and number:
            where = f"on {place}s {first} and {number}"
        else:
            where = f"again on {place} {number}" if number else "again"
        result.notes.append(f"post {key} appears {where}; the later {unit} wins")


def count_reject(result: FileResult, rejection: Rejection) -> None:
    """A rejected unit in the result: counted, the first SHOWN_REJECTIONS kept to show."""
    result.tally.rejected += 1
    result.rejected_total += 1
    if len(result.rejections) < SHOWN_REJECTIONS:
        result.rejections.append(rejection)


def count_campaign_posts(tally: Tally, campaign_posts: Sequence[PostRecord], counts: BatchCounts) -> None:
    """A stored batch's campaign posts in the tally: known (stored before, unchanged), older (an
    earlier observation than the stored one), or campaign posts this import brought."""
    if not (counts.unchanged_keys or counts.older_keys):  # all new or changed (a first import)
        tally.campaign += len(campaign_posts)  # no look-up per post
        return
    for rec in campaign_posts:
        pk = (rec.platform, rec.post_key)
        if pk in counts.unchanged_keys:
            tally.known += 1
        elif pk in counts.older_keys:
            tally.older += 1
        else:
            tally.campaign += 1


def stopped_at_unreadable(result: FileResult, exc: Exception, unit: str) -> None:
    """The file broke off at a record that cannot be parsed: the units before it stay, the file is
    rejected (so the inbox may retry it once fixed)."""
    result.status = "rejected"
    result.message = (
        f"{exc}; the {result.counts.read} {unit}s before it were imported, the rest was not read: "
        "fix the file and import it again"
    )


def file_read(engine: Engine, result: FileResult, file: ExportFile | ItemFile, fmt: str, run_id: int) -> None:
    """The whole file was read and its last batch stored: its status, its hash recorded unless it
    was rejected, and PostgreSQL's statistics refreshed after a large import."""
    result.status = _file_status(result)
    if result.status != "rejected":
        _record_import(engine, file, fmt, run_id)
    if result.counts.new >= LARGE_IMPORT:
        refresh_statistics(engine)  # PostgreSQL: plan the next imports for the table's real size


def run_broke(engine: Engine, run_id: int, exc: BaseException) -> None:
    """An import interrupted by an error or a kill: batches already committed stay; the run shows
    how far it got."""
    finish_run(engine, run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])


def repeats_note(result: FileResult, unit: str) -> list[str]:
    """The note on repeated posts in all, once more of them repeat than the notes name one by one."""
    if result.repeated <= SHOWN_REPEATS:
        return []
    return [f"{result.repeated} {unit}s in all repeat the post of an earlier {unit}; the later {unit} wins"]


def finish_file(
    engine: Engine, result: FileResult, run_id: int, more_notes: Sequence[str], unit: str, place: str
) -> FileResult:
    """Close the file's run with its notes (and `more_notes`) as the message; a file none of whose
    units could be stored says so first, naming its first reject."""
    if result.status == "rejected" and result.message:  # rejected at an unreadable record
        finish_run(engine, run_id, "failed", error=result.message, counted=result.counted)
        return result
    notes = result.notes
    notes.extend(more_notes)
    if result.status == "rejected":
        first_reject = result.rejections[0]
        notes.insert(
            0,
            f"none of its {result.rejected_total} {unit}(s) could be imported, nothing was stored "
            f"({place} {first_reject.line}: {first_reject.reason})",
        )
    result.message = "; ".join(notes)
    run_status = "failed" if result.status == "rejected" else result.status
    finish_run(engine, run_id, run_status, error=result.message or None, counted=result.counted)
    return result


def _file_status(result: FileResult) -> str:
    """ok; partial when some rows were rejected; rejected when rows were read and none was stored
    (blank rows are neither)."""
    if not result.rejected_total:
        return "ok"
    return "partial" if result.counts.read > result.rejected_total else "rejected"


def _date_order(
    export: ExportFile, fmt: ExportFormat, window: tuple[dt.date, dt.date]
) -> tuple[str | None, str]:
    """The day/month order of this file's slashed dates, from its values in one pass (FORMATS.md 8).

    Raises ExportFormatError when the file cannot be read as CSV.
    """
    if fmt.time_format:
        return None, ""
    with closing(export.column(fmt.time)) as column:  # closes the file even when stopped early
        values: Iterator[str] = (v for v in column if v.strip())
        first = next(values, "")
        if not has_slashed_dates(first):
            return None, ""
        return date_order_of(chain([first], values), fmt.date_order, window)


def _reject_file(
    engine: Engine,
    path: Path,
    fmt: str | None,
    sha256: str | None,
    reason: str,
    progress: Progress | None,
    size: int,
) -> FileResult:
    """A file rejected whole is still logged: a failed run with the reason."""
    run_id = start_run(engine, fmt or "csv", str(path))
    finish_run(engine, run_id, "failed", error=reason)
    if progress:
        progress(size)
    return FileResult(path, fmt, sha256, "rejected", message=reason, run_id=run_id)


def _already_imported(engine: Engine, sha256: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(imported_t.c.id).where(imported_t.c.sha256 == sha256)).first() is not None


def _record_import(engine: Engine, export: ExportFile | ItemFile, fmt: str, run_id: int) -> None:
    with engine.begin() as conn:
        stmt = upsert_into(conn, imported_t).values(
            sha256=export.sha256,
            path=str(export.path),
            format=fmt,
            run_id=run_id,
            imported_at=dt.datetime.now(dt.UTC),
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["sha256"],
                set_={
                    "path": stmt.excluded.path,
                    "format": stmt.excluded.format,
                    "run_id": stmt.excluded.run_id,
                    "imported_at": stmt.excluded.imported_at,
                },
            )
        )


def summarize(results: Sequence[FileResult]) -> BatchCounts:
    """The counts of several files added up."""
    total = BatchCounts()
    for r in results:
        total += r.counts
    return total


def summary_lines(results: Sequence[FileResult], config: Config | None = None, shown: int = 5) -> list[str]:
    """The import summary for people: one line per file (naming it once), what counted and when the
    export was observed, a warning for a file with no campaign post, its notes and first rejects,
    then the totals (with what counted in all when `config` is given)."""
    lines: list[str] = []
    total_tally = Tally()
    for r in results:
        c = r.counts
        name = printable(r.path)  # a name with a newline or an escape cannot forge a summary line
        if r.status == "already_imported":
            lines.append(f"{name}: already imported, skipped")
            continue
        total_tally += r.tally
        if r.status == "rejected":
            lines.append(f"{name}: REJECTED: {r.message}")
        else:
            lines.append(
                f"{name} [{r.format}]: {c.read} rows read, {c.new} new, {c.updated} updated, "
                f"{c.unchanged} unchanged, {r.rejected_total} rejected"
                + (f", {c.older} older than stored" if c.older else "")
                + (f", {r.repeated} repeating an earlier row" if r.repeated else "")
            )
        if r.status != "rejected":  # a file rejected whole says why in its first line
            if r.counted:
                lines.append(f"  counted: {r.counted}")
            if r.observed_at is not None:
                when = r.observed_at.astimezone(config.campaign.tz) if config else r.observed_at
                lines.append(f"  observed: {when:%Y-%m-%d %H:%M %Z} ({r.observed_how})")
            if r.warning:
                lines.append(f"  warning: {r.warning}")
        if r.status != "rejected":
            lines.extend(f"  note: {note}" for note in r.notes or ([r.message] if r.message else []))
        # A file rejected because no row could be stored names its first reject in the message already.
        for rej in r.rejections[1 if r.status == "rejected" else 0 : shown]:
            lines.append(f"  line {rej.line}: {rej.reason}")
        if r.rejected_total > shown:
            lines.append(
                f"  ... and {r.rejected_total - shown} more rejected rows "
                "(`campaign-monitor rejects` lists them)"
            )
    total = summarize(results)
    whole = sum(1 for r in results if r.status == "rejected")
    lines.append(
        f"total: {len(results)} file(s), {total.read} rows read, {total.new} new, {total.updated} updated, "
        f"{total.unchanged + total.older} unchanged, {total.rejected} rejected"
        + (f"; {whole} file(s) rejected whole" if whole else "")
    )
    if config is not None and total_tally.rows:
        lines.append(f"counted in all: {CampaignRule(config.campaign).describe(total_tally)}")
    return lines
