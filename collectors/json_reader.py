"""Reading JSON inputs item by item in bounded memory: NDJSON (one object a line), a JSON list, or one
JSON document; plain or compressed (`.json.xz` as instaloader writes it). Told apart by content, never
by the file's name.

    is_item_file(path) -> bool            does the content start like JSON (after decompression)?
    open_items(path) -> ItemFile          hash, size, layout
    ItemFile.items(progress)              (number, item | ItemError, raw text) for every item

An NDJSON line that is not JSON is one bad item (its line number and the parser's reason); a JSON list
broken in the middle cannot be read past that point (ItemFileError: the items before it count).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import lzma
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import ijson

from monitor.errors import ExportFormatError

CHUNK = 1 << 20
RAW_LIMIT = 20_000  # characters of a bad item kept in rejected_rows (a capture item can be 30 kB)
XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_MAGIC = b"\x1f\x8b"

NDJSON, LIST, DOCUMENT = "ndjson", "list", "document"


class ItemFileError(ExportFormatError):
    """The file as a whole cannot be read (any further) as JSON."""


@dataclass(frozen=True)
class ItemError:
    """One item that is not JSON, or not an object."""

    reason: str


def _open_raw(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is xz (instaloader's default) or gzip."""
    with path.open("rb") as f:
        magic = f.read(6)
    if magic.startswith(XZ_MAGIC):
        return lzma.open(path, "rb")
    if magic.startswith(GZIP_MAGIC):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _first_char(path: Path) -> str:
    """The first character after a BOM and white space ('' for an empty or unreadable file)."""
    try:
        with _open_raw(path) as f:
            head = f.read(4096)
    except (OSError, lzma.LZMAError, EOFError):
        return ""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return chr(text[0]) if text else ""


def is_item_file(path: Path) -> bool:
    """Whether the content is JSON (a `{` or `[` first), so the item registry reads it, not the CSV one."""
    return _first_char(path) in ("{", "[")


@dataclass
class ItemFile:
    path: Path
    layout: str  # NDJSON | LIST | DOCUMENT
    sha256: str
    size: int  # bytes on disk (progress counts these)
    compressed: bool

    @property
    def number_word(self) -> str:
        """What the numbers of items count: lines of NDJSON, positions in a list."""
        return "line" if self.layout == NDJSON else "item"

    def items(
        self, progress: Callable[[int], None] | None = None
    ) -> Generator[tuple[int, Any, str], None, None]:
        """(number, item or ItemError, raw text) for every item, streaming.

        The number is the line for NDJSON, the position (from 1) in a list, 1 for a document. Blank
        NDJSON lines are skipped. `progress` gets the bytes read on disk since its last call.
        """
        with self.path.open("rb") as disk, _decompressed(disk, self.compressed) as f:
            reported = 0

            def report(force: bool = False) -> None:
                nonlocal reported
                if progress is not None:
                    pos = self.size if force else disk.tell()
                    progress(pos - reported)
                    reported = pos

            if self.layout == NDJSON:
                yield from _ndjson(f, report)
            elif self.layout == LIST:
                yield from _json_list(f, report)
            else:
                try:
                    document = json.loads(f.read().decode("utf-8-sig"))
                except (ValueError, RecursionError) as exc:
                    raise ItemFileError(f"not valid JSON ({_short(exc)})") from None
                yield 1, document, ""
            report(force=True)


def _decompressed(disk: IO[bytes], compressed: bool) -> IO[bytes]:
    if not compressed:
        return disk
    disk.seek(0)
    magic = disk.read(6)
    disk.seek(0)
    return lzma.open(disk, "rb") if magic.startswith(XZ_MAGIC) else gzip.open(disk, "rb")  # type: ignore[return-value]


def _ndjson(f: IO[bytes], report: Callable[[], None]) -> Iterator[tuple[int, Any, str]]:
    for number, line in enumerate(f, start=1):
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        text = line.decode("utf-8", errors="replace").replace("\0", "").strip()
        if not text:
            continue
        try:
            item: Any = json.loads(text)
        except (ValueError, RecursionError) as exc:
            item = ItemError(f"not JSON ({_short(exc)})")
        yield number, item, text
        if number % 2000 == 0:
            report()


def _json_list(f: IO[bytes], report: Callable[[], None]) -> Iterator[tuple[int, Any, str]]:
    number = 0
    try:
        for number, item in enumerate(ijson.items(f, "item", use_float=True), start=1):
            yield number, item, ""
            if number % 2000 == 0:
                report()
    except ijson.JSONError as exc:
        raise ItemFileError(f"item {number + 1} of the JSON list cannot be read ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def raw_text(raw: str, item: Any) -> str:
    """What rejected_rows keeps of a bad item: its line, or the item written back as JSON; bounded."""
    text = raw or json.dumps(item, ensure_ascii=False, default=str)
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + " ...(cut)"


def open_items(path: Path) -> ItemFile:
    """Hash the file and tell its layout from the first item. Raises ItemFileError when it is empty
    or not JSON."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        magic = f.read(6)
        f.seek(0)
        while chunk := f.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    compressed = magic.startswith((XZ_MAGIC, GZIP_MAGIC))
    first = _first_char(path)
    if first == "[":
        layout = LIST
    elif first == "{":
        layout = NDJSON if _first_line_is_an_object(path) else DOCUMENT
    else:
        raise ItemFileError("the file is empty or not JSON; export it again")
    return ItemFile(path, layout, digest.hexdigest(), size, compressed)


def _first_line_is_an_object(path: Path) -> bool:
    """NDJSON when the first line alone is a whole JSON object; a pretty-printed document otherwise."""
    try:
        with _open_raw(path) as f:
            line = f.readline(64 << 20)
    except (OSError, lzma.LZMAError, EOFError):
        return False
    try:
        return isinstance(json.loads(line.removeprefix(codecs.BOM_UTF8).decode("utf-8", "replace")), dict)
    except (ValueError, RecursionError):
        return False
