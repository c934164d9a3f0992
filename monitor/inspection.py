"""`campaign-monitor inspect FILE...`: what an export is before importing it.

For each file: the detected format, encoding, delimiter, date order and row count. For a file no
format matches: the nearest formats by shared columns (most shared first) with the columns each
lacks, and a `[[formats]]` entry to paste into config.toml: `base = "<built-in>"` with renamed
columns where a built-in format fits once known translations of its headers are applied (Meta
translates headers into the account's language), else a custom entry with guessed columns.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from collectors.csv_formats import (
    BUILTIN_FORMATS,
    FROM_LINK,
    ExportFormat,
    Nearby,
    all_formats,
    detect_format,
    missing_columns,
    nearest_formats,
    platform_of_link,
)
from collectors.csv_reader import ORDER_NAMES, ExportFile, RowError, open_export
from collectors.item_formats import FAMILIES, detect_family, match_item, to_record
from collectors.json_reader import ItemError, is_item_file, open_items
from monitor.config import CampaignConfig, CustomFormat
from monitor.errors import ExportFormatError

# Known translations of built-in headers: the localized name -> the English one. Swedish names are
# from real mappings (FORMATS.md 3); the Indonesian ones are the alias seeds of FORMATS-2026.md 8
# (inferred, not yet seen in a real export), so the entry inspect writes says to check them.
HEADER_TRANSLATIONS: dict[str, str] = {
    # Indonesian (Bahasa Indonesia) Meta Business Suite
    "ID Postingan": "Post ID",
    "ID Kiriman": "Post ID",
    "ID Halaman": "Page ID",
    "Nama Halaman": "Page name",
    "Judul": "Title",
    "Deskripsi": "Description",
    "Waktu publikasi": "Publish time",
    "Tautan permanen": "Permalink",
    "Reaksi": "Reactions",
    "Komentar": "Comments",
    "Dibagikan": "Shares",
    "Bagikan": "Shares",
    "Suka": "Likes",
    "Tayangan": "Views",
    "ID Akun": "Account ID",
    "Nama pengguna akun": "Account username",
    "Nama akun": "Account name",
    # Swedish
    "Publicerings-id": "Post ID",
    "Sid-id": "Page ID",
    "Sidnamn": "Page name",
    "Titel": "Title",
    "Beskrivning": "Description",
    "Publiceringstid": "Publish time",
    "Permalänk": "Permalink",
    "Konto-id": "Account ID",
    "Kontonamn": "Account name",
    "Kontots användarnamn": "Account username",
}
_TRANSLATED = {k.casefold(): v for k, v in HEADER_TRANSLATIONS.items()}

# Column names a team's own sheet may use for each field of a custom format (first match wins).
GUESSES: dict[str, tuple[str, ...]] = {
    "id": ("link", "url", "tautan", "id"),
    "time": ("tanggal", "waktu", "date", "time", "tgl"),
    "author": ("akun", "account", "user", "username", "author", "nama"),
    "text": ("caption", "keterangan", "text", "teks", "isi", "description", "deskripsi"),
    "likes": ("suka", "like", "reaksi", "reaction"),
    "comments": ("komentar", "comment"),
    "shares": ("bagikan", "dibagikan", "share", "retweet"),
    "views": ("tayangan", "view", "impression", "play"),
}
SAMPLE_ROWS = 200


@dataclass
class Inspection:
    path: Path
    error: str = ""  # the file cannot be read at all
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)
    format: ExportFormat | None = None
    date_order: str = ""
    rows: int = 0
    blank_rows: int = 0
    nearest: list[Nearby] = field(default_factory=list)
    entry: str = ""  # a [[formats]] entry to paste, for an unknown file
    json_family: str = ""  # a JSON input (capture, dataset): its family (collectors/item_formats.py)
    json_layout: str = ""  # ndjson, list or document
    platforms: dict[str, int] = field(default_factory=dict)  # JSON items by platform
    bad_items: int = 0  # JSON items that would be rejected
    first_bad: str = ""


def inspect_file(
    path: Path, custom: Sequence[CustomFormat] = (), campaign: CampaignConfig | None = None
) -> Inspection:
    """Everything `inspect` says about one file (reads it; stores nothing)."""
    result = Inspection(path)
    if is_item_file(path):
        return _inspect_items(path, result)
    try:
        export = open_export(path)
    except ExportFormatError as exc:
        result.error = str(exc)
        return result
    result.encoding, result.header = export.encoding, export.header
    result.delimiter = {",": "comma", ";": "semicolon", "\t": "tab"}.get(export.delimiter, export.delimiter)
    formats = all_formats(custom)
    try:
        for _line, fields in export.records():
            if any(cell.strip() for cell in fields):
                result.rows += 1
            else:
                result.blank_rows += 1
    except ExportFormatError as exc:
        result.error = str(exc)
    try:
        result.format = detect_format(export.header, formats)
    except ExportFormatError:
        result.nearest = nearest_formats(export.header, formats)[:3]
        result.entry = suggest_entry(export, campaign)
        return result
    result.date_order = _date_order_text(export, result.format, campaign)
    return result


def _inspect_items(path: Path, result: Inspection) -> Inspection:
    """A JSON input: its layout and family, its items by platform, and how many would be rejected."""
    try:
        items = open_items(path)
        result.json_layout = items.layout
        for number, obj, _raw in items.items():
            result.rows += 1
            try:
                if isinstance(obj, ItemError):
                    raise RowError(obj.reason)
                if not result.json_family:
                    result.json_family = detect_family(obj)
                fmt, item, seen = match_item(result.json_family, obj)
                record = to_record(fmt, item, seen)
            except (RowError, ValueError) as exc:
                result.bad_items += 1
                result.first_bad = result.first_bad or f"{items.number_word} {number}: {exc}"
            except ExportFormatError as exc:  # no family yet: this item shows none
                result.bad_items += 1
                result.first_bad = result.first_bad or f"{items.number_word} {number}: {exc}"
            else:
                result.platforms[record.platform] = result.platforms.get(record.platform, 0) + 1
    except ExportFormatError as exc:
        result.error = str(exc)
    return result


def _date_order_text(export: ExportFile, fmt: ExportFormat, campaign: CampaignConfig | None) -> str:
    from monitor.ingest import _date_order  # the importer's own decision, so inspect says the same

    if fmt.time_format:
        return f"by the format's time_format {fmt.time_format!r}"
    window = (campaign.start, campaign.end) if campaign else None
    try:
        order, note = _date_order(export, fmt, window) if window else (None, "")
    except ExportFormatError as exc:
        return str(exc)
    if order is None:
        return "not needed (no slashed dates)" if window else "not checked (no campaign window)"
    return ORDER_NAMES[order] + (f" ({note})" if note else "")


def suggest_entry(export: ExportFile, campaign: CampaignConfig | None = None) -> str:
    """A [[formats]] entry for a file no format matches: a built-in base with renamed columns when
    one fits through known translations, else a custom entry with guessed columns."""
    translated = [_TRANSLATED.get(h.casefold(), h) for h in export.header]
    renames = {english: h for h, english in zip(export.header, translated, strict=True) if english != h}
    stem = "".join(c if c.isalnum() else "-" for c in export.path.stem.lower()).strip("-")[:30] or "my-export"
    fits = [(fmt, missing_columns(fmt, translated)) for fmt in BUILTIN_FORMATS]
    fits = [(fmt, missing) for fmt, missing in fits if renames and len(missing) < len(fmt.signature) / 2]
    if fits:
        fmt, missing = min(fits, key=lambda fit: (len(fit[1]), -len(fit[0].signature)))
        lines = ["[[formats]]", f'name = "{stem}"', f'base = "{fmt.name}"']
        if _slashed_day_first(export, fmt, renames):
            lines.append('date_order = "day-first"')
        lines.append("[formats.columns]  # built-in name = the name in this file (check each one)")
        lines.extend(f"{json.dumps(english)} = {json.dumps(local)}" for english, local in renames.items())
        lines.extend(
            f'# {json.dumps(name)} = "?"   # not found in this file: name its column' for name in missing
        )
        return "\n".join(lines)
    return _custom_entry(export, stem)


def _slashed_day_first(export: ExportFile, fmt: ExportFormat, renames: dict[str, str]) -> bool:
    time_column = renames.get(fmt.time, fmt.time)
    try:
        values = list(islice((v for v in export.column(time_column) if v.strip()), SAMPLE_ROWS))
    except (ValueError, ExportFormatError):
        return False
    return any(v.strip()[:2].isdigit() and int(v.strip()[:2]) > 12 for v in values if "/" in v[:6])


def _custom_entry(export: ExportFile, stem: str) -> str:
    header = export.header
    chosen: dict[str, str] = {}
    for key, words in GUESSES.items():
        for word in words:
            match = next((h for h in header if word in h.casefold() and h not in chosen.values()), None)
            if match:
                chosen[key] = match
                break
    platform = _platform_guess(export, chosen.get("id"))
    lines = ["[[formats]]", f'name = "{stem}"', f'platform = "{platform}"']
    for key in ("id", "time", "author", "text", "likes", "comments", "shares", "views"):
        if key in chosen:
            lines.append(f"{key} = {json.dumps(chosen[key])}")
        elif key in ("id", "time"):
            lines.append(f'{key} = "?"   # required: the column that holds the post {key}')
    lines.append('# time_format = "%d/%m/%Y %H:%M"   # only when the times are not read as they are')
    lines.append(f"# columns of this file: {', '.join(header)}")
    return "\n".join(lines)


def _platform_guess(export: ExportFile, id_column: str | None) -> str:
    """The platform of the links in the id column; "from-link" when they mix platforms."""
    if id_column is None:
        return "?"
    try:
        links = list(islice(export.column(id_column), SAMPLE_ROWS))
    except (ValueError, ExportFormatError):
        return "?"
    seen = Counter(p for p in map(platform_of_link, links) if p)
    if len(seen) > 1:
        return FROM_LINK
    return next(iter(seen), "?")


def describe(result: Inspection) -> str:
    """The inspection of one file, for people."""
    lines = [f"{result.path}:"]
    if result.json_layout:
        lines.append(f"  JSON ({result.json_layout}); items: {result.rows}")
        if result.json_family:
            lines.append(f"  format: {result.json_family} ({FAMILIES[result.json_family]})")
            platforms = ", ".join(f"{p} {n}" for p, n in sorted(result.platforms.items())) or "none"
            lines.append(f"  posts by platform: {platforms}")
        else:
            lines.append(f"  format: none of the JSON formats ({'; '.join(FAMILIES.values())})")
        if result.bad_items:
            lines.append(f"  {result.bad_items} item(s) would be rejected, the first: {result.first_bad}")
        if result.error:
            lines.append(f"  problem: {result.error}")
        return "\n".join(lines)
    if result.error and not result.header:
        lines.append(f"  cannot be read: {result.error}")
        return "\n".join(lines)
    lines.append(f"  encoding: {result.encoding}; delimiter: {result.delimiter}")
    rows = f"  rows: {result.rows}"
    if result.blank_rows:
        rows += f" (and {result.blank_rows} blank rows, which are skipped)"
    lines.append(rows)
    if result.error:
        lines.append(f"  problem: {result.error}")
    if result.format is not None:
        fmt = result.format
        platform = "each row's link" if fmt.platform == FROM_LINK else fmt.platform
        lines.append(f"  format: {fmt.name} ({fmt.title}); platform: {platform}")
        lines.append(f"  date order: {result.date_order}")
        return "\n".join(lines)
    lines.append(
        f"  format: none matches its columns ({', '.join(result.header[:8])}"
        + (", ...)" if len(result.header) > 8 else ")")
    )
    if result.nearest:
        lines.append("  nearest formats (most shared columns first):")
        for near in result.nearest:
            lines.append(
                f"    {near.format.name}: shares {near.shared} columns, lacks {', '.join(near.missing)}"
            )
    lines.append("  a [[formats]] entry for config.toml (check it, then `campaign-monitor inspect` again):")
    lines.extend(f"    {line}" for line in result.entry.splitlines())
    return "\n".join(lines)
