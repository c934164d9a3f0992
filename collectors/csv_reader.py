"""Reading export files: encoding, delimiter, records with their line numbers, counts and times.

Shared by every export format. Nothing here knows a format's columns: it turns bytes into header +
records and cell text into ints and aware datetimes, and raises `RowError` (one row) or
`ExportFormatError` (the whole file) with a message a person can act on.

Rules (DESIGN 5, FORMATS.md section 0 and 8):
- UTF-8 with or without BOM, else cp1252 (Excel's "CSV" save on Indonesian Windows); the result says
  which was used. A UTF-8 BOM is trusted, and a file that is mostly UTF-8 (an export cut mid-character)
  stays UTF-8: bytes that cannot be decoded become U+FFFD and are counted, never a crash.
- `,` `;` or tab, sniffed from the header line; quoted newlines; huge fields; CRLF.
- A record's line number is where it starts in a text editor (the header is line 1).
- Counts: `1,234` `1.234` `1203.0` `"15,000"`; empty, `-`, `N/A` mean unknown (None).
- Times: ISO 8601 (`Z`, `+0000`), `... +0000`, a trailing zone abbreviation from an explicit map
  (never guessed: ambiguous ones such as CST need config [zones]), slashed dates in a per-file
  day/month order (dotted ones are day-first), and zone-less local times (campaign zone). Years
  outside 2000-2100 are rejects (the store could not convert them).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ExportFormatError

# Fields such as a page description or a tweet thread can exceed csv's 128 KiB default.
csv.field_size_limit(2**31 - 1)

CHUNK = 1 << 20
RUNAWAY_LINES = 1000  # a quoted field over more lines than this is a quote that never closed
MAX_RECOVERIES = 20  # runaway quotes recovered from per file (each re-reads the file up to its line)
DELIMITERS = (",", ";", "\t")
# The bytes cp1252 leaves undefined: frequent inside UTF-8 emoji, so read with errors="replace".
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


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
    replaced: int = 0  # bytes that could not be decoded and were read as U+FFFD

    @property
    def encoding_note(self) -> str:
        """A sentence for the import summary when the encoding is not clean UTF-8."""
        if self.encoding == "cp1252":
            note = "read as cp1252 (not UTF-8: probably re-saved by Excel; emoji may be lost)"
            if self.replaced:
                note += f"; {self.replaced} byte(s) cp1252 does not define were read as \ufffd"
            return note
        if self.replaced:
            return (
                f"read as UTF-8, but {self.replaced} damaged character(s) were read as \ufffd "
                "(the file was cut short or edited?)"
            )
        return ""

    def index_of(self, name: str) -> int:
        """The position of a column (case-insensitive; the first of duplicated names, as row_mapper)."""
        folded = name.casefold()
        for i, h in enumerate(self.header):
            if h.casefold() == folded:
                return i
        raise ValueError(f"no column {name!r}")

    def records(
        self,
        progress: Callable[[int], None] | None = None,
        on_runaway: Callable[[int, int, bool, list[str]], None] | None = None,
    ) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) for every non-blank record after the header, streaming.

        `line` is the physical line the record starts on, header = line 1. `progress`, when given, is
        called now and then with the number of bytes read since its last call. A record the csv module
        cannot parse (a NUL byte) raises ExportFormatError naming its line: the file is rejected whole.

        A quote that opens a field and never closes where it should swallows the lines after it into
        one field. Such a record (it runs over several lines and has another number of fields than the
        header, or over more than RUNAWAY_LINES lines, or to the end of the file) is not yielded:
        `on_runaway(line, lines_spanned, to_end_of_file, fields)` is called, and reading starts again
        on the line after the one where the quote opened, so the good rows that follow are kept. After
        MAX_RECOVERIES of them the file is hopeless: ExportFormatError, as for an unreadable line.
        """
        width = len(self.header)
        restart_at = 0  # physical line to start from again after a runaway quote (0: the first pass)
        reported = recoveries = 0
        while True:
            with self.path.open("rb") as raw:
                text = io.TextIOWrapper(raw, encoding=self.encoding, errors="replace", newline="")
                if restart_at:
                    for _ in range(restart_at - 1):
                        if not text.readline():
                            break
                    offset = restart_at - 1
                else:
                    offset = 0
                lines: list[str] = []  # the physical lines of the record being read
                reader = csv.reader(_kept(text, lines), delimiter=self.delimiter)
                runaway: tuple[int, int, bool, list[str]] | None = None
                try:
                    if not restart_at:
                        next(reader, None)  # the header, already read by open_export
                        lines.clear()
                    last_line = reader.line_num
                    count = 0
                    for fields in reader:
                        start = last_line + 1
                        last_line = reader.line_num
                        spanned = last_line - start + 1
                        if spanned > 1 and (
                            len(fields) != width or spanned > RUNAWAY_LINES or not self._sound(lines, fields)
                        ):
                            lines.clear()
                            to_end = next(reader, None) is None
                            runaway = (start + offset, spanned, to_end, fields)
                            break
                        lines.clear()
                        if not fields or (len(fields) == 1 and not fields[0].strip()):
                            continue
                        yield start + offset, fields
                        count += 1
                        if progress is not None and not restart_at and count % 2000 == 0:
                            pos = raw.tell()
                            progress(pos - reported)
                            reported = pos
                except csv.Error as exc:
                    raise ExportFormatError(
                        f"line {reader.line_num + offset} cannot be read as CSV ({exc})"
                    ) from None
            if runaway is None:
                break
            recoveries += 1
            if recoveries > MAX_RECOVERIES:
                raise ExportFormatError(
                    f"line {runaway[0]}: more than {MAX_RECOVERIES} quoted fields do not close where they "
                    "should; fix the quotes in the file"
                )
            if on_runaway is not None:
                on_runaway(*runaway)
            restart_at = runaway[0] + 1
        if progress is not None:
            progress(self.size - reported)

    def _sound(self, lines: list[str], fields: list[str]) -> bool:
        """A record over several lines reads the same when its quotes are checked strictly: a quote
        that opened a field and closed only at the next row's quote (`"post 6"` -> `..."p`) does not."""
        try:
            strict = list(
                csv.reader(io.StringIO("".join(lines), newline=""), delimiter=self.delimiter, strict=True)
            )
        except csv.Error:
            return False
        return strict == [fields]

    def column(self, name: str) -> Generator[str, None, None]:
        """Every value of one column (for per-file checks such as the date order)."""
        index = self.index_of(name)
        for _line, fields in self.records():
            if len(fields) > index:
                yield fields[index]


def _kept(text: Iterable[str], lines: list[str]) -> Iterator[str]:
    """The lines of `text`, each also appended to `lines` (the caller clears it per record)."""
    for line in text:
        lines.append(line)
        yield line


def open_export(path: Path) -> ExportFile:
    """Hash the file, choose its encoding and delimiter, and read its header.

    Raises ExportFormatError when it is empty, binary or UTF-16; the message does not repeat the
    file's name (the caller shows it once).
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
        raise ExportFormatError("the file is empty; export it again")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ExportFormatError(
            'this is UTF-16 text (Excel\'s "Unicode Text"), not a CSV export; '
            'save it again as "CSV UTF-8 (Comma delimited)"'
        )
    if b"\x00" in head[:8192]:
        raise ExportFormatError("this is a binary file, not a CSV export (an .xlsx? save it as CSV UTF-8)")
    has_bom = head.startswith(codecs.BOM_UTF8)
    encoding = "utf-8-sig" if has_bom else "utf-8"
    replaced = 0
    if not is_utf8:
        encoding, replaced = _damaged_encoding(path, has_bom)
    first_line = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0]
    delimiter = sniff_delimiter(first_line)
    with path.open(encoding=encoding, newline="", errors="replace") as text:
        try:
            header_fields = next(csv.reader(text, delimiter=delimiter), [])
        except csv.Error as exc:
            raise ExportFormatError(f"the first line cannot be read as CSV ({exc})") from None
    header = [h.strip().lstrip("\ufeff").strip() for h in header_fields]
    if not any(header):
        raise ExportFormatError("the first line is empty; it must hold the column names")
    return ExportFile(path, encoding, delimiter, header, digest.hexdigest(), size, replaced)


def _damaged_encoding(path: Path, has_bom: bool) -> tuple[str, int]:
    """The encoding of a file that is not clean UTF-8, and how many bytes it leaves unreadable.

    A BOM says UTF-8, and so does a file with at least as many good multi-byte characters as bad
    bytes (an export cut mid-emoji): cp1252 text almost never forms a valid UTF-8 sequence, as its
    accented letters stand between plain ones. Otherwise it is cp1252. Either way it is read with
    errors="replace", so a bad byte is never a crash.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    bad = good = undefined = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            text = decoder.decode(chunk)
            wrong = text.count("\ufffd")
            bad += wrong
            good += len(text) - len(text.encode("ascii", "ignore")) - wrong
            undefined += sum(chunk.count(b) for b in CP1252_UNDEFINED)
        bad += decoder.decode(b"", final=True).count("\ufffd")
    if has_bom:
        return "utf-8-sig", bad
    if good >= bad:
        return "utf-8", bad
    return "cp1252", undefined


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
# No post has a trillion likes: a larger "count" is a reject, and with every count below this bound no
# sum over the posts of a campaign can overflow the database's 64-bit integers (docs/formats.md).
MAX_COUNT = 10**12


def parse_count(value: str) -> int | None:
    """A count cell as an int; None when unknown (empty, `-`, `N/A`). Raises RowError otherwise,
    also for a count above MAX_COUNT (negative ones are not counts either).

    `1.234` and `1,234` are thousands (a count has no fraction), `1203.0` is a pandas float.
    """
    count = _parse_count(value)
    if count is not None and count > MAX_COUNT:
        raise RowError(f"{value.strip()[:30]} is too large for a count (more than 10^12)")
    return count


def _parse_count(value: str) -> int | None:
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

_MANGLED = re.compile(r"\d+(?:[.,]\d+)?[eE]\+\d+")  # Excel always writes the +


def is_mangled(value: str) -> bool:
    """True for an id Excel turned into scientific notation (`1,22158E+17`): its digits are lost."""
    text = value.strip()
    return not text.isdigit() and _MANGLED.fullmatch(text) is not None


def mangled_message(column: str, value: str) -> str:
    """The reason for rejecting a row whose key Excel mangled (and no intact column holds)."""
    return (
        f"{column} {value.strip()!r} was mangled by Excel (scientific notation) and cannot be restored; "
        "import the original download instead"
    )


# ---------------------------------------------------------------------------------------------------------
# Times

_H = 3600
# Explicit: an abbreviation we do not list is an error, never silently dropped (DESIGN 5).
ZONE_OFFSETS: dict[str, int] = {
    "WIB": 7 * _H,
    "WITA": 8 * _H,
    "WIT": 9 * _H,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "UT": 0,
    "EST": -5 * _H,  # Australia wrote EST/EDT until 2014; it has long been AEST/AEDT
    "EDT": -4 * _H,
    "MDT": -6 * _H,
    "PDT": -7 * _H,
    "AKST": -9 * _H,
    "AKDT": -8 * _H,
    "HST": -10 * _H,
    "BRT": -3 * _H,
    "BRST": -2 * _H,
    "ART": -3 * _H,
    "WET": 0,
    "WEST": 1 * _H,
    "CET": 1 * _H,
    "CEST": 2 * _H,
    "EET": 2 * _H,
    "EEST": 3 * _H,
    "MSK": 3 * _H,
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
# Abbreviations that mean different offsets in different places (tzdata writes PST for Manila and CST
# for Shanghai and Taipei): a row using one is rejected until config [zones] says which it is.
AMBIGUOUS_ZONES: dict[str, tuple[tuple[str, str], ...]] = {
    "AST": (("Atlantic", "-04:00"), ("Arabia", "+03:00")),
    "BST": (("British summer", "+01:00"), ("Bangladesh", "+06:00")),
    "CST": (("US Central", "-06:00"), ("China/Taiwan", "+08:00"), ("Cuba", "-05:00")),
    "CDT": (("US Central daylight", "-05:00"), ("Cuba daylight", "-04:00")),
    "GST": (("Gulf", "+04:00"), ("South Georgia", "-02:00")),
    "IST": (("India", "+05:30"), ("Ireland", "+01:00"), ("Israel", "+02:00")),
    "MST": (("US Mountain", "-07:00"), ("Malaysia", "+08:00")),
    "PST": (("US Pacific", "-08:00"), ("Philippines", "+08:00")),
    "SST": (("Samoa", "-11:00"), ("Singapore", "+08:00")),
}

_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")
_SLASHED = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d\d)(?::(\d\d))?)?\s*([AaPp][Mm])?"
)
# A post time outside these years is a typo or a placeholder (0001-01-01), not a post.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

DAY_FIRST, MONTH_FIRST = "dmy", "mdy"
ORDER_NAMES = {DAY_FIRST: "day/month/year", MONTH_FIRST: "month/day/year"}


def zone_table(extra: Mapping[str, dt.tzinfo] | None = None) -> Mapping[str, dt.tzinfo]:
    """The abbreviations a file's times may use: the built-in ones and config [zones] (which win)."""
    return {**ZONES, **extra} if extra else ZONES


def split_zone(value: str, zones: Mapping[str, dt.tzinfo] = ZONES) -> tuple[str, dt.tzinfo | None]:
    """Split a trailing zone (abbreviation or `+0000`) off a time text."""
    text = value.strip()
    stamp, sep, last = text.rpartition(" ")
    if not sep:
        return text, None
    name = last.upper()
    zone = zones.get(name)
    if zone is not None:
        return stamp.strip(), zone
    match = _OFFSET.fullmatch(last)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        secs = sign * (int(match.group(2)) * 3600 + int(match.group(3)) * 60)
        return stamp.strip(), dt.timezone(dt.timedelta(seconds=secs)) if secs else dt.UTC
    if name in ("AM", "PM"):
        return text, None
    if name in AMBIGUOUS_ZONES and stamp[:1].isdigit():
        meanings = AMBIGUOUS_ZONES[name]
        listed = ", ".join(f"{place} {offset}" for place, offset in meanings)
        raise RowError(
            f"the time zone {last!r} in {value!r} is ambiguous ({listed}); say which one in config.toml, "
            f'e.g. [zones] {name} = "{meanings[0][1]}"'
        )
    if last.isalpha() and last.isupper() and 2 <= len(last) <= 5 and stamp[:1].isdigit():
        raise RowError(
            f"unknown time zone {last!r} in {value!r}; map it in config.toml, "
            f'e.g. [zones] {name} = "+07:00" or "Asia/Jakarta"'
        )
    return text, None


def parse_time(
    value: str,
    local_zone: dt.tzinfo,
    date_order: str = MONTH_FIRST,
    zones: Mapping[str, dt.tzinfo] = ZONES,
) -> dt.datetime:
    """An aware datetime from an export's time text. Zone-less times are in `local_zone`.

    `date_order` decides slashed dates such as `07/08/2022` ("mdy" or "dmy"); dotted ones
    (`01.10.2022`) are always day-first. `zones` maps abbreviations (see `zone_table`).
    """
    stamp, zone = split_zone(value, zones)
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
    return _plausible(moment, value)


def _plausible(moment: dt.datetime, original: str) -> dt.datetime:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise RowError(f"{original!r} is not a post time (years {EARLIEST_YEAR}-{LATEST_YEAR} only)")
    return moment


def _parse_slashed(stamp: str, date_order: str, original: str) -> dt.datetime:
    match = _SLASHED.fullmatch(stamp)
    if not match:
        raise RowError(f"not a time: {original!r}")
    first, sep, second, year, hour, minute, second_s, ampm = match.groups()
    if sep == ".":
        date_order = DAY_FIRST  # 01.10.2022 is written day-first wherever dots are used
    day, month = (first, second) if date_order == DAY_FIRST else (second, first)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    h = int(hour or 0)
    if ampm:
        if not 1 <= h <= 12:
            raise RowError(f"not a time: {original!r}")
        h = h % 12 + (12 if ampm.upper() == "PM" else 0)
    try:
        return dt.datetime(full_year, int(month), int(day), h, int(minute or 0), int(second_s or 0))
    except ValueError:
        raise RowError(f"not a time: {original!r} (read as {ORDER_NAMES[date_order]})") from None


def date_order_of(
    values: Iterable[str], documented: str = MONTH_FIRST, window: tuple[dt.date, dt.date] | None = None
) -> tuple[str, str]:
    """The day/month order to read one file's slashed dates in, and a note for the summary ("" when
    the values settle it).

    A first number above 12 proves day-first, a second one month-first. A file with both is read in
    the `documented` order (the rows that do not fit it are rejected) and the note says it is mixed.
    When every date reads both ways, the order that puts more of them inside `window` (the campaign,
    inclusive) wins, the documented one on a tie. Dotted dates are day-first and prove nothing.
    """
    day_first = month_first = ""
    ambiguous = 0
    inside = {DAY_FIRST: 0, MONTH_FIRST: 0}
    for value in values:
        match = _SLASHED.match(value.strip())
        if not match or match.group(2) == ".":
            continue
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12:
            day_first = day_first or value.strip()
        elif second > 12:
            month_first = month_first or value.strip()
        else:
            ambiguous += 1
            if window is not None:
                year = int(match.group(4)) + (2000 if len(match.group(4)) == 2 else 0)
                for order, (day, month) in ((DAY_FIRST, (first, second)), (MONTH_FIRST, (second, first))):
                    if day and month and year and window[0] <= dt.date(year, month, day) <= window[1]:
                        inside[order] += 1
        if day_first and month_first:
            break
    if day_first and month_first:
        return documented, (
            f"this file mixes day-first dates ({day_first!r}) and month-first dates ({month_first!r}); "
            f"read as {ORDER_NAMES[documented]}, rows that do not fit are rejected"
        )
    if day_first or month_first:
        return (DAY_FIRST if day_first else MONTH_FIRST), ""
    if not ambiguous:
        return documented, ""
    other = MONTH_FIRST if documented == DAY_FIRST else DAY_FIRST
    if inside[other] > inside[documented]:
        return other, (
            f"every date could be day-first or month-first; read as {ORDER_NAMES[other]}, which puts "
            f"{inside[other]} of {ambiguous} inside the campaign ({ORDER_NAMES[documented]}: "
            f"{inside[documented]})"
        )
    return documented, (
        "every date could be day-first or month-first; used the format's documented order "
        f"({ORDER_NAMES[documented]})"
    )


def has_slashed_dates(value: str) -> bool:
    """True when a time text starts with a slashed (or dotted) date, whose order must be decided."""
    return _SLASHED.match(value.strip()) is not None


def strptime_time(value: str, fmt: str, local_zone: dt.tzinfo) -> dt.datetime:
    """A time in a user-given strptime format (config [[formats]] time_format)."""
    try:
        moment = dt.datetime.strptime(value.strip(), fmt)
    except ValueError:
        raise RowError(f"time {value!r} does not match the format {fmt!r}") from None
    return _plausible(moment if moment.tzinfo else moment.replace(tzinfo=local_zone), value)
