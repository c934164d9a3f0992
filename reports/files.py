"""Writing report files so that a reader never sees half of one, and CSV files safe to open in Excel.

Each file is written under a temporary name in the same folder and renamed into place (os.replace is
atomic on one file system). CSV files for people are UTF-8 with a BOM (Excel then reads the accents
right), and a text cell beginning with = + - @, a tab or a carriage return gets a leading apostrophe,
so a hostile post text cannot become a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call write(file) on a temporary file next to `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name lets the next build remove it if this process is killed (reports.leftovers).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.p{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; a report is for reading
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return atomic_write(path, write)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def neutralize(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_people_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV for people: UTF-8 with BOM, formula cells neutralized, written atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return atomic_write_text(path, buffer.getvalue(), encoding="utf-8-sig")
