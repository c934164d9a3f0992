"""Reading export files: encoding, delimiter, records with their line numbers, counts and times.

Shared by every export format. Nothing here knows a format's columns: it turns bytes into header +
records and cell text into ints and aware datetimes, and raises `RowError` (one row) or
`ExportFormatError` (the whole file) with a message a person can act on.

Rules (DESIGN 5, FORMATS.md section 0 and 8):
- UTF-8 with or without BOM, else cp1252 (Excel's "CSV" save on Indonesian Windows); the result says
  which was used.
- `,` `;` or tab, sniffed from the header line; quoted newlines; huge fields; CRLF.
- A record's line number is where it starts in a text editor (the header is line 1).
- Counts: `1,234` `1.234` `1203.0` `"15,000"`; empty, `-`, `N/A` mean unknown (None).
- Times: ISO 8601 (`Z`, `+0000`), `... +0000`, a trailing zone abbreviation from an explicit map
  (never guessed), slashed dates in a per-file day/month order, and zone-less local times (campaign zone).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ExportFormatError

# Fields such as a page description or a tweet thread can exceed csv's 128 KiB default.
csv.field_size_limit(2**31 - 1)

CHUNK = 1 << 20
DELIMITERS = (",", ";", "\t")


class RowError(ValueError):
    """One record cannot be imported; the message is the reason shown to the team."""


# ---------------------------------------------------------------------------------------------------------
# Files


@dataclass
class ExportFile:
    """An export opened for reading: how it is encoded and delimited, and its header."""

    path: Path
    encoding: str  # "utf-8-sig" (with BOM), "utf-8" or "cp1252"
    delimiter: str
    header: list[str]
    sha256: str
    size: int

    @property
    def encoding_note(self) -> str:
        """A sentence for the import summary when the encoding is not plain UTF-8."""
        if self.encoding == "cp1252":
            return "read as cp1252 (not UTF-8: probably re-saved by Excel; emoji may be lost)"
        return ""

    def records(self, progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) for every non-blank record after the header, streaming.

        `line` is the physical line the record starts on, header = line 1. `progress`, when given, is
        called now and then with the number of bytes read since its last call.
        """
        with self.path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)  # the header, already read by open_export
            last_line = reader.line_num
            reported = 0
            count = 0
            for fields in reader:
                start = last_line + 1
                last_line = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                yield start, fields
                count += 1
                if progress is not None and count % 2000 == 0:
                    pos = raw.tell()
                    progress(pos - reported)
                    reported = pos
            if progress is not None:
                progress(self.size - reported)

    def column(self, name: str) -> Iterator[str]:
        """Every value of one column (for per-file checks such as the date order)."""
        index = self.header.index(name)
        for _line, fields in self.records():
            if len(fields) > index:
                yield fields[index]


def open_export(path: Path) -> ExportFile:
    """Hash the file, choose its encoding and delimiter, and read its header.

    Raises ExportFormatError naming the file when it is empty or binary.
    """
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    size = 0
    head = b""
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if not head:
                head = chunk[:65536]
            size += len(chunk)
            digest.update(chunk)
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
        if is_utf8:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                is_utf8 = False
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise ExportFormatError(f"{path}: the file is empty; export it again")
    if b"\x00" in head[:8192]:
        raise ExportFormatError(
            f"{path}: this is a binary file, not a CSV export (an .xlsx? save it as CSV UTF-8)"
        )
    encoding = "cp1252"  # Excel's "CSV" save on Indonesian Windows
    if is_utf8:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    first_line = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0]
    delimiter = sniff_delimiter(first_line)
    with path.open(encoding=encoding, newline="", errors="replace") as text:
        header_fields = next(csv.reader(text, delimiter=delimiter), [])
    header = [h.strip().lstrip("\ufeff").strip() for h in header_fields]
    if not any(header):
        raise ExportFormatError(f"{path}: the first line is empty; it must hold the column names")
    return ExportFile(path, encoding, delimiter, header, digest.hexdigest(), size)


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: whichever of `,` `;` tab occurs most outside quotes."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def raw_record(fields: list[str], delimiter: str) -> str:
    """A record written back as one CSV line, kept with a reject so the team can fix it."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------------
# Counts

_DIGITS = re.compile(r"\d+")
_GROUPED = re.compile(r"[1-9]\d{0,2}(?:([.,])\d{3})(?:\1\d{3})*")  # 1,234 / 1.234 / 1.234.567
_WHOLE_FLOAT = re.compile(r"(\d+)[.,]0+")  # 1203.0 / 4,0 (pandas float upcast)
_GROUPED_FLOAT = re.compile(r"(\d{1,3}(?:,\d{3})+)\.0+")  # 1,203.0
_ABBREVIATED = re.compile(r"(\d+(?:[.,]\d+)?)\s*(k|rb|ribu|jt|juta)", re.IGNORECASE)
_SCALE = {"k": 1000, "rb": 1000, "ribu": 1000, "jt": 1_000_000, "juta": 1_000_000}
UNKNOWN = frozenset({"", "-", "n/a", "na", "none", "null", "nan", "--"})


def parse_count(value: str) -> int | None:
    """A count cell as an int; None when unknown (empty, `-`, `N/A`). Raises RowError otherwise.

    `1.234` and `1,234` are thousands (a count has no fraction), `1203.0` is a pandas float.
    """
    if value.isdigit():  # the common case, first
        return int(value)
    text = value.strip().strip('"').strip()
    if text.isdigit():
        return int(text)
    if text.casefold() in UNKNOWN:
        return None
    if _GROUPED.fullmatch(text):
        return int(text.replace(",", "").replace(".", ""))
    match = _WHOLE_FLOAT.fullmatch(text) or _GROUPED_FLOAT.fullmatch(text)
    if match:
        return int(match.group(1).replace(",", ""))
    match = _ABBREVIATED.fullmatch(text)
    if match:
        return round(float(match.group(1).replace(",", ".")) * _SCALE[match.group(2).casefold()])
    raise RowError(f"not a count: {value!r}")


# ---------------------------------------------------------------------------------------------------------
# IDs

_MANGLED = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")


def check_id(value: str, column: str) -> str:
    """A platform id kept as text; an id Excel turned into `1,22158E+17` is a reject, not a guess."""
    text = value.strip()
    if _MANGLED.fullmatch(text):
        raise RowError(
            f"{column} {text!r} was mangled by Excel (scientific notation) and cannot be restored; "
            "import the original download instead"
        )
    return text


# ---------------------------------------------------------------------------------------------------------
# Times

_H = 3600
# Explicit: an abbreviation we do not list is an error, never silently dropped (DESIGN 5).
# Ambiguous ones take the meaning an export for this audience most likely has (CST = US Central,
# IST = India, BST = British Summer Time).
ZONE_OFFSETS: dict[str, int] = {
    "WIB": 7 * _H,
    "WITA": 8 * _H,
    "WIT": 9 * _H,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "UT": 0,
    "EST": -5 * _H,
    "EDT": -4 * _H,
    "CST": -6 * _H,
    "CDT": -5 * _H,
    "MST": -7 * _H,
    "MDT": -6 * _H,
    "PST": -8 * _H,
    "PDT": -7 * _H,
    "AKST": -9 * _H,
    "AKDT": -8 * _H,
    "HST": -10 * _H,
    "BRT": -3 * _H,
    "BRST": -2 * _H,
    "ART": -3 * _H,
    "WET": 0,
    "WEST": 1 * _H,
    "BST": 1 * _H,
    "CET": 1 * _H,
    "CEST": 2 * _H,
    "EET": 2 * _H,
    "EEST": 3 * _H,
    "MSK": 3 * _H,
    "IST": 5 * _H + 1800,
    "ICT": 7 * _H,
    "SGT": 8 * _H,
    "MYT": 8 * _H,
    "PHT": 8 * _H,
    "HKT": 8 * _H,
    "AWST": 8 * _H,
    "JST": 9 * _H,
    "KST": 9 * _H,
    "ACST": 9 * _H + 1800,
    "AEST": 10 * _H,
    "AEDT": 11 * _H,
    "NZST": 12 * _H,
    "NZDT": 13 * _H,
}
ZONES: dict[str, dt.tzinfo] = {
    name: dt.UTC if secs == 0 else dt.timezone(dt.timedelta(seconds=secs), name)
    for name, secs in ZONE_OFFSETS.items()
}

_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")
_SLASHED = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d\d)(?::(\d\d))?)?\s*(AM|PM)?"
)

DAY_FIRST, MONTH_FIRST = "dmy", "mdy"


def split_zone(value: str) -> tuple[str, dt.tzinfo | None]:
    """Split a trailing zone (abbreviation or `+0000`) off a time text."""
    text = value.strip()
    stamp, sep, last = text.rpartition(" ")
    if not sep:
        return text, None
    zone = ZONES.get(last.upper())
    if zone is not None:
        return stamp.strip(), zone
    match = _OFFSET.fullmatch(last)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        secs = sign * (int(match.group(2)) * 3600 + int(match.group(3)) * 60)
        return stamp.strip(), dt.timezone(dt.timedelta(seconds=secs)) if secs else dt.UTC
    if last in ("AM", "PM"):
        return text, None
    if last.isalpha() and last.isupper() and 2 <= len(last) <= 5 and stamp[:1].isdigit():
        raise RowError(f"unknown time zone {last!r} in {value!r}; add it to collectors.csv_reader.ZONES")
    return text, None


def parse_time(value: str, local_zone: dt.tzinfo, date_order: str = MONTH_FIRST) -> dt.datetime:
    """An aware datetime from an export's time text. Zone-less times are in `local_zone`.

    `date_order` decides slashed dates such as `07/08/2022` ("mdy" or "dmy").
    """
    stamp, zone = split_zone(value)
    if not stamp:
        raise RowError("the time is empty")
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        moment = _parse_slashed(stamp, date_order, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or local_zone)
    elif zone is not None:
        raise RowError(f"two time zones in {value!r}")
    return moment


def _parse_slashed(stamp: str, date_order: str, original: str) -> dt.datetime:
    match = _SLASHED.fullmatch(stamp)
    if not match:
        raise RowError(f"not a time: {original!r}")
    first, _sep, second, year, hour, minute, second_s, ampm = match.groups()
    day, month = (first, second) if date_order == DAY_FIRST else (second, first)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    h = int(hour or 0)
    if ampm:
        if not 1 <= h <= 12:
            raise RowError(f"not a time: {original!r}")
        h = h % 12 + (12 if ampm == "PM" else 0)
    try:
        return dt.datetime(full_year, int(month), int(day), h, int(minute or 0), int(second_s or 0))
    except ValueError:
        raise RowError(f"not a time: {original!r} (read as {date_order})") from None


def date_order_of(values: Iterator[str] | list[str]) -> str | None:
    """The day/month order of one file's slashed dates, from its values: "dmy" when a first number
    is above 12, "mdy" when a second one is; None when every date reads either way (or both occur,
    which leaves the rows that do not fit the format's documented order to be rejected)."""
    day_first = month_first = False
    for value in values:
        match = _SLASHED.match(value.strip())
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12:
            day_first = True
        elif second > 12:
            month_first = True
        if day_first and month_first:
            break
    if day_first and not month_first:
        return DAY_FIRST
    if month_first and not day_first:
        return MONTH_FIRST
    return None


def has_slashed_dates(value: str) -> bool:
    """True when a time text starts with a slashed (or dotted) date, whose order must be decided."""
    return _SLASHED.match(value.strip()) is not None


def strptime_time(value: str, fmt: str, local_zone: dt.tzinfo) -> dt.datetime:
    """A time in a user-given strptime format (config [[formats]] time_format)."""
    try:
        moment = dt.datetime.strptime(value.strip(), fmt)
    except ValueError:
        raise RowError(f"time {value!r} does not match the format {fmt!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=local_zone)
