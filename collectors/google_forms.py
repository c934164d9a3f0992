"""A Google Form responses sheet (File -> Download -> CSV) -> the members' link answers.

The sheet the form writes (FORMATS-2026 §6): column 1 `Timestamp` (English UI) or `Stempel waktu`
(Indonesian UI), then one column per question, headed by the question's title. Which columns hold
the member and the links is configuration ([submissions.form]); one cell may hold several links
separated by spaces, commas or new lines. The timestamp's layout follows the spreadsheet's locale:
`9/16/2025 10:15:30` (United States) or `16/09/2025 10.15.30` (Indonesia); the day/month order is
decided from all the sheet's dates, or stated in config. No zone is written: the campaign's is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from collectors.links import SubmittedMessage, day_month_order, links_in, local_time
from monitor.config import FormConfig
from monitor.errors import ExportFormatError

TIMESTAMP_HEADERS = ("timestamp", "stempel waktu")
_TIMESTAMP = re.compile(
    r"^\s*(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})[ ,]+(\d{1,2})[.:](\d{2})(?:[.:](\d{2}))?"
    r"(?:\s*([AaPp])\.?\s?[Mm]\.?)?\s*$"
)


@dataclass
class FormSheet:
    """What a responses sheet gave: the answers with links (or with text where a link belongs) and
    the rows that could not be read, as (line, reason)."""

    messages: list[SubmittedMessage] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def is_form_sheet(header: list[str]) -> bool:
    return bool(header) and header[0].strip().lstrip("\ufeff").casefold() in TIMESTAMP_HEADERS


def read_sheet(path: Path, form: FormConfig, tz: dt.tzinfo, date_order: str | None = None) -> FormSheet:
    """The answers of a responses sheet. Raises ExportFormatError when a configured column is missing
    or the date order cannot be told (every date fits both orders and none is configured)."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(content, newline=""))
    first = next(reader, None)
    if first is None:
        raise ExportFormatError(f"{path}: the file is empty")
    header = [h.strip().lstrip("\ufeff") for h in first]
    lowered = [h.casefold() for h in header]

    def column(name: str, what: str) -> int:
        if name.strip().casefold() in lowered:
            return lowered.index(name.strip().casefold())
        raise ExportFormatError(
            f"{path}: no column {name!r} ({what}); the sheet's columns are {', '.join(header)} "
            "- name the right ones under [submissions.form] in config.toml"
        )

    if form.timestamp:
        ts_col = column(form.timestamp, "the timestamp")
    else:
        ts_col = next((i for i, h in enumerate(lowered) if h in TIMESTAMP_HEADERS), -1)
        if ts_col < 0:
            raise ExportFormatError(
                f"{path}: no Timestamp / Stempel waktu column; name it as [submissions.form] timestamp"
            )
    member_col = column(form.member, "the member's name, [submissions.form] member")
    link_cols = [column(name, "links, [submissions.form] links") for name in form.links]

    parsed: list[tuple[int, list[str], tuple[str, ...] | None]] = []
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span lines; report the first
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        match = _TIMESTAMP.match(cells[ts_col])
        parsed.append((start, cells, match.groups() if match else None))

    sheet = FormSheet()
    order = date_order if date_order in ("dmy", "mdy") else None
    if order is None:
        dates = [(int(g[0]), int(g[1])) for _, _, g in parsed if g is not None]
        if any(int(g[0]) > 31 for _, _, g in parsed if g is not None):
            order = "ymd"
        else:
            order = day_month_order(dates)
    if order is None and parsed:
        # Sheets in the Indonesia locale write dots in the time; the US locale writes colons.
        dotted = [g for _, c, g in parsed if g is not None and "." in c[ts_col].split()[-1]]
        if header[ts_col].casefold() == "stempel waktu" or dotted:
            order = "dmy"
        else:
            raise ExportFormatError(
                f"{path}: every timestamp fits both day/month and month/day; set [submissions.form] "
                'date_order = "dmy" or "mdy" (the spreadsheet\'s locale), or pass --date-order'
            )

    for start, cells, groups in parsed:
        if groups is None:
            sheet.problems.append((start, f"timestamp {cells[ts_col]!r} is not a date and time"))
            continue
        a, b, c, hour, minute, second, ampm = groups
        try:
            when = local_time(
                (int(a), int(b), int(c)), order or "dmy", (int(hour), int(minute), int(second or 0)), ampm, tz
            )
        except ValueError as exc:
            sheet.problems.append((start, f"timestamp {cells[ts_col]!r}: {exc}"))
            continue
        member = " ".join(cells[member_col].split())
        if not member:
            sheet.problems.append((start, f"no name in column {header[member_col]!r}"))
            continue
        text = "\n".join(cells[i].strip() for i in link_cols if cells[i].strip())
        if not text:
            continue  # the question was not answered: nothing submitted
        digest = hashlib.sha1("\x1f".join([cells[ts_col], member, text]).encode("utf-8")).hexdigest()[:20]
        links = tuple(links_in(text)) or (text,)  # text without a link is refused, not lost
        sheet.messages.append(
            SubmittedMessage(
                origin=digest,
                via="form",
                sender=member,
                submitted_at=when,
                text=text,
                links=links,
                line=start,
            )
        )
    return sheet
