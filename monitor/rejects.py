"""`campaign-monitor rejects`: the rejected rows the team can fix and import again.

A reject is kept once per file content and line (importing the same file again adds none) and is
no longer listed once its row imports cleanly: its post stored from other file content, or its
line of a `rejects --file NAME --csv` sheet imported (that sheet carries a `reject id` column).

`--csv` with one file's rejects writes that file's own columns (and three more: `rejected line`,
`reject reason`, `reject id`), so the sheet is an export of the same format: fix the cells, save as
CSV, `campaign-monitor ingest` it. Rejects of several files (different layouts) are written as
`file,line,reason,raw,reject id`. Either way UTF-8 with BOM, formula cells neutralised (DESIGN 4.3).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from sqlalchemy import Engine, or_, select

from collectors.csv_reader import sniff_delimiter
from monitor.db import readonly
from monitor.ingest import REJECT_ID_COLUMN
from monitor.models import RejectedRow
from reports.files import neutralize

EXTRA_COLUMNS = ("rejected line", "reject reason", REJECT_ID_COLUMN)
LIST_COLUMNS = ("file", "line", "reason", "raw", REJECT_ID_COLUMN)
_NUMBER = re.compile(r"[+-]?\d[\d.,]*|-")  # a count or the "-" of Twitter Analytics: never a formula risk


@dataclass(frozen=True)
class RejectEntry:
    id: int
    file: str
    line: int | None
    reason: str
    raw: str | None
    header: str | None


def open_rejects(engine: Engine, file: str | None = None) -> list[RejectEntry]:
    """The rejects not resolved yet, by file and line; `file` matches the path as imported or its
    file name."""
    query = select(
        RejectedRow.id,
        RejectedRow.file,
        RejectedRow.line,
        RejectedRow.reason,
        RejectedRow.raw,
        RejectedRow.header,
    ).where(RejectedRow.resolved_run_id.is_(None))
    if file:
        query = query.where(
            or_(RejectedRow.file == file, RejectedRow.file.endswith("/" + PurePath(file).name))
        )
    query = query.order_by(RejectedRow.file, RejectedRow.line, RejectedRow.id)
    with readonly(engine).connect() as conn:
        return [RejectEntry(*row) for row in conn.execute(query)]


def format_table(entries: Sequence[RejectEntry]) -> str:
    """The rejects for the terminal: file, line, reason and the raw row (shortened)."""
    if not entries:
        return "no rejected rows to fix"
    lines: list[str] = []
    current = None
    for e in entries:
        if e.file != current:
            current = e.file
            count = sum(1 for x in entries if x.file == e.file)
            lines.append(f"{e.file}: {count} rejected row(s)")
        raw = (e.raw or "").replace("\n", " ")
        lines.append(f"  line {e.line if e.line is not None else '-'}: {e.reason}")
        lines.append(f"    {raw[:150]}{'...' if len(raw) > 150 else ''}")
    lines.append(f"{len(entries)} rejected row(s); `--csv` writes them to fix and import again")
    return "\n".join(lines)


def _cells(line: str | None, delimiter: str) -> list[str]:
    if not line:
        return []
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def _safe(cell: str) -> str:
    """Neutralise formula cells, but leave counts as they are (a re-import must read them)."""
    return cell if _NUMBER.fullmatch(cell) else str(neutralize(cell))


def write_csv(entries: Sequence[RejectEntry], stream: IO[str]) -> None:
    """The rejects as an Excel-safe CSV (see the module docstring for the two layouts)."""
    stream.write("\ufeff")  # UTF-8 with BOM: Excel reads the accents and emoji right
    writer = csv.writer(stream, lineterminator="\r\n")
    headers = {e.header for e in entries}
    if len(headers) == 1 and None not in headers and len({e.file for e in entries}) == 1:
        header_line = entries[0].header or ""
        delimiter = sniff_delimiter(header_line)
        header = _cells(header_line, delimiter)
        writer.writerow([*header, *EXTRA_COLUMNS])
        for e in entries:
            cells = _cells(e.raw, delimiter)
            cells = (cells + [""] * len(header))[: len(header)] if len(cells) != len(header) else cells
            writer.writerow([*map(_safe, cells), e.line if e.line is not None else "", _safe(e.reason), e.id])
        return
    writer.writerow(LIST_COLUMNS)
    for e in entries:
        writer.writerow(
            [_safe(e.file), e.line if e.line is not None else "", _safe(e.reason), _safe(e.raw or ""), e.id]
        )
