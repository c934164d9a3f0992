"""report.xlsx: the report's tables as a workbook an Indonesian-locale Excel opens right.

One sheet per table (summary, daily, top posts, hashtags, and the roster when there is one), names
in the report's language. Numbers and dates are real number and date cells (Excel formats them in
its own locale, so no `;`/`,` question arises); ids, handles, links and post texts are text cells,
so a post id never becomes `1,22E+17` and nothing a post says can run: a text is always stored as a
string (never as a formula), and one that begins like a formula (= + - @) is also marked with
Excel's quote prefix, so editing the cell keeps it text. The header row is frozen and every column
is as wide as its content (within bounds).

A new section adds a `Sheet` in `sheets()`.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reports.files import FORMULA_STARTS, atomic_write_bytes
from reports.labels import labels_for
from reports.palette import platform_name

if TYPE_CHECKING:
    from reports.build import ReportData
    from reports.summary import Headline

log = logging.getLogger(__name__)
CellKind = Literal["text", "int", "date", "pct", "platform"]
MIN_WIDTH, MAX_WIDTH = 6, 60  # characters
DATE_FORMAT = "yyyy-mm-dd"
PCT_FORMAT = "0.0"
INT_FORMAT = "#,##0"


@dataclass(frozen=True)
class Column:
    label: str
    kind: CellKind


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    notes: Sequence[tuple[str, str]] = ()  # (label, text) lines below the table (the summary sheet)


def sheets(data: ReportData, headline: Headline, language: str, generated: str) -> list[Sheet]:
    """Every sheet of the workbook, in order."""
    L = labels_for(language)
    previous_label = L["last7"] if headline.basis == "last7" else L["value"]
    summary = Sheet(
        L["sheet_summary"],
        [
            Column(L["measure"], "text"),
            Column(L["value"], "int"),
            Column(f"{L['compared_period']}: {previous_label}", "int"),
            Column(L["previous_period"], "int"),
            Column(L["change"], "int"),
            Column(L["change_pct"], "pct"),
            Column("", "text"),
        ],
        [[f.label, f.value, f.current, f.previous, f.change, f.change_pct, f.note] for f in headline.figures],
        notes=[
            (L["range"], headline.period),
            (L["compared_period"], _span(headline.current_period)),
            (L["previous_period"], _span(headline.previous_period) + f" ({headline.comparison_text})"),
            (L["filter"], headline.filter_text or L["no_filter"]),
            (L["generated"], generated),
            *[("", note) for note in headline.notes],
        ],
    )
    daily = Sheet(
        L["sheet_daily"],
        [
            Column(L["date"], "date"),
            Column(L["campaign_day"], "int"),
            Column(L["platform"], "platform"),
            Column(L["posts"], "int"),
            Column(L["accounts"], "int"),
            Column(L["likes"], "int"),
            Column(L["comments"], "int"),
            Column(L["shares"], "int"),
            Column(L["interactions"], "int"),
        ],
        [
            [
                L["all_platforms"] if column == 2 and value == "all" else value
                for column, value in enumerate(row)
            ]
            for row in _records(
                data.daily,
                [
                    "date",
                    "campaign_day",
                    "platform",
                    "posts",
                    "authors",
                    "likes",
                    "comments",
                    "shares",
                    "interactions",
                ],
            )
        ],
    )
    top = Sheet(
        L["sheet_top"],
        [
            Column(L["rank"], "int"),
            Column(L["platform"], "platform"),
            Column(L["date"], "date"),
            Column(L["author"], "text"),
            Column(L["post_id"], "text"),
            Column(L["link"], "text"),
            Column(L["likes"], "int"),
            Column(L["comments"], "int"),
            Column(L["shares"], "int"),
            Column(L["interactions"], "int"),
            Column(L["views"], "int"),
            Column(L["text"], "text"),
        ],
        _records(
            data.top_posts,
            [
                "rank",
                "platform",
                "date",
                "author",
                "post_key",
                "url",
                "likes",
                "comments",
                "shares",
                "interactions",
                "views",
                "text",
            ],
        ),
    )
    tags = Sheet(
        L["sheet_hashtags"],
        [
            Column(L["date"], "date"),
            Column(L["hashtag"], "text"),
            Column(L["posts"], "int"),
            Column(L["interactions"], "int"),
        ],
        _records(data.hashtags, ["date", "hashtag", "posts", "interactions"]),
    )
    result = [summary, daily, top, tags]
    if data.roster is not None:
        result.append(
            Sheet(
                L["sheet_roster"],
                [
                    Column(L["roster_name"], "text"),
                    Column(L["roster_group"], "text"),
                    Column(L["roster_kecamatan"], "text"),
                    Column(L["roster_kelurahan"], "text"),
                    Column(L["posts"], "int"),
                    Column(L["interactions"], "int"),
                    Column(L["active_days"], "int"),
                    Column(L["roster_last_post"], "date"),
                    Column(L["roster_waiting"], "int"),
                ],
                _records(
                    data.roster.table,
                    [
                        "name",
                        "group",
                        "kecamatan",
                        "kelurahan",
                        "posts",
                        "interactions",
                        "active_days",
                        "last_post_date",
                        "waiting",
                    ],
                ),
            )
        )
    return result


def _span(period: tuple[dt.date, dt.date]) -> str:
    return f"{period[0].isoformat()} – {period[1].isoformat()}"


def _records(frame: Any, columns: list[str]) -> list[list[Any]]:
    return [list(row) for row in frame[columns].itertuples(index=False)]


def write_workbook(path: Path, language: str, data: ReportData, headline: Headline, generated: str) -> Path:
    """Write report.xlsx atomically and return its path."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets(data, headline, language, generated):
        _write_sheet(book, sheet)
    book.properties.title = headline.title
    book.properties.creator = "campaign-monitor"
    # Built in memory, then written: a failing disk is then one clean OSError, not a half-closed zip
    # archive complaining again when it is garbage collected.
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except OSError as exc:
        _give_up_quietly(exc)
        raise
    content = buffer.getvalue()
    return atomic_write_bytes(path, content)


def _give_up_quietly(exc: BaseException) -> None:
    """openpyxl writes each sheet through a temporary file; when that write fails (a full disk, a
    file size limit) the sheet's writer is left open, and closing it when it is collected fails again
    and prints "Exception ignored ... Traceback" on stderr, beside the one-line error the user gets.
    Release the failed save's frames now, with that second failure logged at debug level instead."""
    log.debug("writing the workbook failed", exc_info=exc)
    previous = sys.unraisablehook
    sys.unraisablehook = lambda failed: log.debug("while giving up the workbook: %s", failed.exc_value)
    try:
        exc.__traceback__ = None  # the frames hold the open sheet writers
        gc.collect()
    finally:
        sys.unraisablehook = previous


def _write_sheet(book: Any, sheet: Sheet) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(_sheet_title(sheet.title))
    widths = [len(column.label) for column in sheet.columns]
    bold = Font(bold=True)
    for c, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=c)
        _set_text(cell, column.label)
        cell.font = bold
    for r, row in enumerate(sheet.rows, start=2):
        for c, (column, value) in enumerate(zip(sheet.columns, row, strict=True), start=1):
            shown = _set(ws.cell(row=r, column=c), column.kind, value)
            widths[c - 1] = max(widths[c - 1], len(shown))
    row_at = len(sheet.rows) + 3
    for label, text in sheet.notes:
        _set_text(ws.cell(row=row_at, column=1), label).font = bold
        _set_text(ws.cell(row=row_at, column=2), text)
        row_at += 1
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(MIN_WIDTH, min(MAX_WIDTH, width + 2))
    ws.freeze_panes = "A2"  # the header row stays on screen


def _sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]


def _set(cell: Any, kind: CellKind, value: Any) -> str:
    """Put one value in a cell with its type; returns the text it shows (for the column width)."""
    if value is None or (isinstance(value, float) and value != value):  # unknown: an empty cell
        return ""
    if kind == "int":
        cell.value = int(value)
        cell.number_format = INT_FORMAT
        return f"{int(value):,}"
    if kind == "pct":
        cell.value = round(float(value), 1)
        cell.number_format = PCT_FORMAT
        return f"{float(value):.1f}"
    if kind == "date":
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        cell.value = day
        cell.number_format = DATE_FORMAT
        return "2022-10-31"
    text = platform_name(str(value)) if kind == "platform" else str(value)
    _set_text(cell, text)
    return text


def _set_text(cell: Any, text: str) -> Any:
    """A text cell that stays text: stored as a string, never as a formula; one that starts like a
    formula also gets Excel's quote prefix. Characters XML cannot hold are dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell
