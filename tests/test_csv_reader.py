"""The shared reading rules: encodings, delimiters, line numbers, counts, ids and times."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from collectors.csv_reader import (
    DAY_FIRST,
    MONTH_FIRST,
    RowError,
    date_order_of,
    is_mangled,
    open_export,
    parse_count,
    parse_time,
    sniff_delimiter,
    strptime_time,
    zone_table,
)
from monitor.errors import ExportFormatError

JAKARTA = ZoneInfo("Asia/Jakarta")
EXPORTS = Path(__file__).parent / "data" / "exports"


@pytest.mark.parametrize(
    ("cell", "count"),
    [
        ("0", 0),
        ("1234", 1234),
        ("1,234", 1234),
        ("1.234", 1234),  # id-ID / pt-BR thousands
        ("407.137", 407137),
        ("1.234.567", 1234567),
        ("15,000", 15000),
        ('"15,000"', 15000),
        ("1203.0", 1203),  # Twitter Analytics / pandas float upcast
        ("5321.0", 5321),
        (" 42 ", 42),
        ("1,2 rb", 1200),
        ("3,4 jt", 3400000),
        ("1.2K", 1200),
        ("", None),
        ("-", None),
        ("N/A", None),
    ],
)
def test_counts(cell: str, count: int | None) -> None:
    assert parse_count(cell) == count


@pytest.mark.parametrize("cell", ["abc", "1,5", "0,135", "-3", "12.5", "1.22158E+17"])
def test_bad_counts_are_row_errors(cell: str) -> None:
    with pytest.raises(RowError, match="not a count"):
        parse_count(cell)


@pytest.mark.parametrize("cell", ["1,22158E+17", "1.22158E+17", "1.57E+18", "1E+17", " 1,5E+14 "])
def test_excel_mangled_ids(cell: str) -> None:
    assert is_mangled(cell)


@pytest.mark.parametrize("cell", ["122158001234567890", "100050295107499_345428873810280", "C9AbCdEfGhI", ""])
def test_intact_ids(cell: str) -> None:
    assert not is_mangled(cell)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-09-19 00:00:00 WIB", utc(2022, 9, 18, 17, 0, 0)),
        ("2022-09-19 08:00:00 WITA", utc(2022, 9, 19, 0, 0, 0)),
        ("2022-09-19 09:00:00 WIT", utc(2022, 9, 19, 0, 0, 0)),
        ("2021-07-05 18:02:45 BRT", utc(2021, 7, 5, 21, 2, 45)),
        ("2021-07-06 16:45:20 EDT", utc(2021, 7, 6, 20, 45, 20)),
        ("2022-10-01 10:00:00 CEST", utc(2022, 10, 1, 8, 0, 0)),
        ("2022-10-01 10:00:00 PDT", utc(2022, 10, 1, 17, 0, 0)),
        ("2022-10-01 10:00:00 GMT", utc(2022, 10, 1, 10, 0, 0)),
        ("2020-02-10 18:00 +0000", utc(2020, 2, 10, 18, 0)),
        ("2022-10-01 18:00 +0700", utc(2022, 10, 1, 11, 0)),
        ("2021-05-18T19:24:56.000Z", utc(2021, 5, 18, 19, 24, 56)),
        ("2016-05-23T19:28:12+0000", utc(2016, 5, 23, 19, 28, 12)),
        ("2022-10-01 07:00:00", utc(2022, 10, 1, 0, 0, 0)),  # zone-less: campaign zone
        ("2022-10-01", utc(2022, 9, 30, 17, 0)),
    ],
)
def test_times(text: str, expected: dt.datetime) -> None:
    assert parse_time(text, JAKARTA) == expected


def test_slashed_dates_follow_the_order() -> None:
    assert parse_time("07/08/2022 10:15", JAKARTA, MONTH_FIRST) == utc(2022, 7, 8, 3, 15)
    assert parse_time("07/08/2022 10:15", JAKARTA, DAY_FIRST) == utc(2022, 8, 7, 3, 15)
    assert parse_time("20.09.2022 18:00", JAKARTA, DAY_FIRST) == utc(2022, 9, 20, 11, 0)
    assert parse_time("09/20/2022 06:08:30 PM", JAKARTA, MONTH_FIRST) == utc(2022, 9, 20, 11, 8, 30)


def test_dotted_dates_are_day_first_and_am_pm_any_case() -> None:
    assert parse_time("01.10.2022 18:00", JAKARTA, MONTH_FIRST) == utc(2022, 10, 1, 11, 0)
    assert parse_time("09/20/2022 06:08 pm", JAKARTA, MONTH_FIRST) == utc(2022, 9, 20, 11, 8)
    assert parse_time("09/20/2022 12:30 am", JAKARTA, MONTH_FIRST) == utc(2022, 9, 19, 17, 30)


@pytest.mark.parametrize("text", ["0001-01-01 00:00 WIB", "9999-12-31 23:59 -0100", "01/01/1900 10:00"])
def test_times_outside_sane_years_are_row_errors(text: str) -> None:
    with pytest.raises(RowError, match="not a post time"):
        parse_time(text, JAKARTA)
    with pytest.raises(RowError, match="not a post time"):
        strptime_time("01/01/0001", "%d/%m/%Y", JAKARTA)


@pytest.mark.parametrize("abbreviation", ["CST", "PST", "IST", "BST", "AST", "MST"])
def test_ambiguous_zones_are_rejected_with_the_fix(abbreviation: str) -> None:
    with pytest.raises(RowError, match=rf"'{abbreviation}' .* is ambiguous .*\[zones\] {abbreviation} = "):
        parse_time(f"2022-10-01 10:00:00 {abbreviation}", JAKARTA)


def test_config_zones_map_abbreviations() -> None:
    manila = dt.timezone(dt.timedelta(hours=8), "PST")
    zones = zone_table({"PST": manila, "WIB": ZoneInfo("Asia/Makassar")})
    assert parse_time("2022-10-01 10:00:00 PST", JAKARTA, zones=zones) == utc(2022, 10, 1, 2, 0)
    assert parse_time("2022-10-01 10:00:00 wib", JAKARTA, zones=zones) == utc(2022, 10, 1, 2, 0)  # theirs win
    assert parse_time("2022-10-01 10:00:00 WITA", JAKARTA, zones=zones) == utc(2022, 10, 1, 2, 0)


@pytest.mark.parametrize("text", ["kemarin", "2022-13-45 10:00", "20/09/2022 10:00", "2022-10-01 10:00 XYZ"])
def test_bad_times_are_row_errors(text: str) -> None:
    with pytest.raises(RowError):
        parse_time(text, JAKARTA, MONTH_FIRST)  # 20/09 cannot be month-first


def test_unknown_zone_is_named_not_dropped() -> None:
    with pytest.raises(RowError, match=r"unknown time zone 'XYZ'.*config\.toml, e\.g\. \[zones\] XYZ = "):
        parse_time("2022-10-01 10:00:00 XYZ", JAKARTA)


WINDOW = (dt.date(2022, 9, 19), dt.date(2022, 10, 31))


def test_date_order_from_values() -> None:
    assert date_order_of(["01/02/2022 10:00", "20/09/2022 10:00"]) == (DAY_FIRST, "")
    assert date_order_of(["01/02/2022 10:00", "09/20/2022 10:00"], DAY_FIRST) == (MONTH_FIRST, "")
    assert date_order_of(["2022-09-20 10:00"]) == (MONTH_FIRST, "")
    assert date_order_of(["01.10.2022 10:00", "02.10.2022"]) == (MONTH_FIRST, "")  # dots decide nothing
    order, note = date_order_of(["01/02/2022 10:00", "03/04/2022"])
    assert order == MONTH_FIRST and "documented order (month/day/year)" in note


def test_a_file_mixing_both_orders_says_so() -> None:
    order, note = date_order_of(["20/09/2022 10:00", "01/10/2022", "09/21/2022 08:00"], MONTH_FIRST)
    assert order == MONTH_FIRST
    assert note.startswith("this file mixes day-first dates ('20/09/2022 10:00') and month-first dates")
    assert "could be" not in note


def test_ambiguous_dates_take_the_order_that_fits_the_campaign() -> None:
    values = ["01/10/2022 10:00", "05/10/2022 19:00", "10/10/2022 07:00"]  # 1, 5, 10 October day-first
    order, note = date_order_of(values, MONTH_FIRST, WINDOW)
    assert order == DAY_FIRST
    assert "read as day/month/year, which puts 3 of 3 inside the campaign (month/day/year: 1)" in note
    # a tie or a lead for the documented order keeps it
    assert date_order_of(["10/01/2022", "10/05/2022"], MONTH_FIRST, WINDOW)[0] == MONTH_FIRST
    assert date_order_of(["01/01/2022"], DAY_FIRST, WINDOW)[0] == DAY_FIRST


@pytest.mark.parametrize(
    ("line", "delimiter"), [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"x;y",b,c', ","), ("a", ",")]
)
def test_delimiter_sniffing(line: str, delimiter: str) -> None:
    assert sniff_delimiter(line) == delimiter


def write(tmp_path: Path, data: bytes, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    body = "a,b\n1,Sunrise di Bromo 🌄\n".encode()
    with_bom = open_export(write(tmp_path, codecs.BOM_UTF8 + body, "bom.csv"))
    without = open_export(write(tmp_path, body, "plain.csv"))
    assert with_bom.encoding == "utf-8-sig" and with_bom.header == ["a", "b"]
    assert without.encoding == "utf-8" and without.header == ["a", "b"]
    assert [f for _, f in with_bom.records()] == [["1", "Sunrise di Bromo 🌄"]]
    assert with_bom.encoding_note == ""


def test_cp1252_fallback_is_reported(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, "a;b\r\n1;Café\r\n".encode("cp1252")))
    assert export.encoding == "cp1252"
    assert export.delimiter == ";"
    assert [f for _, f in export.records()] == [["1", "Café"]]
    assert "cp1252" in export.encoding_note


def test_line_numbers_count_quoted_newlines_and_crlf(tmp_path: Path) -> None:
    data = b'id,text\r\n1,"two\nlines"\r\n\r\n2,plain\r\n3,"three\r\nphysical\r\nlines"\r\n4,last\r\n'
    export = open_export(write(tmp_path, data))
    assert [(line, f[0]) for line, f in export.records()] == [(2, "1"), (5, "2"), (6, "3"), (9, "4")]
    assert export.column("text").__next__() == "two\nlines"


def test_tab_delimited(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, b"a\tb\n1\t2\n"))
    assert export.delimiter == "\t" and [f for _, f in export.records()] == [["1", "2"]]


def test_huge_field(tmp_path: Path) -> None:
    big = "x" * 300_000
    export = open_export(write(tmp_path, f'a,b\n1,"{big}"\n'.encode()))
    assert [len(f[1]) for _, f in export.records()] == [300_000]


def test_progress_reports_every_byte(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\n" + b"1,2\n" * 5000)
    seen: list[int] = []
    list(open_export(path).records(seen.append))
    assert sum(seen) == path.stat().st_size


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data, "empty.csv")
    with pytest.raises(ExportFormatError, match=r"^the file is empty"):  # the caller names the file
        open_export(path)


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" * 20, "report.csv")
    with pytest.raises(ExportFormatError, match=r"^this is a binary file"):
        open_export(path)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_utf16_file_says_save_as_csv_utf8(tmp_path: Path, bom: bytes) -> None:
    codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    path = write(tmp_path, bom + "a\tb\r\n1\t2\r\n".encode(codec), "unicode.txt")
    with pytest.raises(ExportFormatError, match=r'UTF-16 .*"Unicode Text".*save it again as "CSV UTF-8'):
        open_export(path)


# An export cut mid-character: the last emoji lost its last two bytes. The other emoji (U+1F61D) ends in
# 0x9D, a byte cp1252 does not define: reading the file as cp1252 strictly crashed.
CUT = "a,b\n1,Lucu \U0001f61d\n2,Sunrise \U0001f304\n".encode()[:-3] + b"\n"


@pytest.mark.parametrize(("bom", "encoding"), [(b"", "utf-8"), (codecs.BOM_UTF8, "utf-8-sig")])
def test_mostly_utf8_file_stays_utf8(tmp_path: Path, bom: bytes, encoding: str) -> None:
    export = open_export(write(tmp_path, bom + CUT))
    assert (export.encoding, export.header, export.replaced) == (encoding, ["a", "b"], 1)
    assert [f for _, f in export.records()] == [["1", "Lucu \U0001f61d"], ["2", "Sunrise \ufffd"]]
    assert "1 damaged character(s)" in export.encoding_note


def test_trusted_bom_even_when_mostly_broken(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, codecs.BOM_UTF8 + "a,b\n1,Café\n".encode("cp1252")))
    assert export.encoding == "utf-8-sig" and export.header == ["a", "b"]  # not ï»¿a
    assert [f for _, f in export.records()] == [["1", "Caf\ufffd"]]


def test_cp1252_undefined_bytes_do_not_crash(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, b"a;b\r\n1;Caf\xe9 \x81\x9d\r\n"))
    assert (export.encoding, export.replaced) == ("cp1252", 2)
    assert [f for _, f in export.records()] == [["1", "Café \ufffd\ufffd"]]
    assert "2 byte(s) cp1252 does not define" in export.encoding_note


@pytest.fixture
def small_field_limit() -> Iterator[int]:
    """csv.Error is rare in Python 3.11 (NUL and stray quotes are read); a field over the limit is one."""
    old = csv.field_size_limit(100)
    yield 100
    csv.field_size_limit(old)


@pytest.mark.usefixtures("small_field_limit")
def test_unparseable_record_is_a_file_error_naming_the_line(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, b"a,b\n" + b"1,2\n" * 3000 + b"3," + b"x" * 200 + b"\n4,5\n"))
    with pytest.raises(ExportFormatError, match=r"^line 3002 cannot be read as CSV \(field larger"):
        list(export.records())


def test_duplicated_column_name_means_the_first(tmp_path: Path) -> None:
    export = open_export(write(tmp_path, b"id,Time,time\n1,first,second\n"))
    assert export.index_of("TIME") == 1
    assert list(export.column("time")) == ["first"]


def test_same_content_same_hash(tmp_path: Path) -> None:
    a = open_export(write(tmp_path, b"a,b\n1,2\n", "one.csv"))
    b = open_export(write(tmp_path, b"a,b\n1,2\n", "two.csv"))
    c = open_export(write(tmp_path, b"a,b\n1,3\n", "three.csv"))
    assert a.sha256 == b.sha256 != c.sha256
