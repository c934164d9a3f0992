"""A WhatsApp chat export ("Export chat" -> "Without media") -> the messages that carry links.

WhatsApp publishes no specification; the layouts below are those of real exports (FORMATS-2026 §10):

- Android: `<date>, <time> - <sender>: <text>`, or `<date>, <time> - <system text>` (no sender);
  Indonesian phones write `16/09/22 10.15 - ` (no comma, a dot in the time).
- iOS: `[<date>, <time>] <author>: <text>` on every line, system lines included; their text (and
  every placeholder: "image omitted", "This message was deleted.") starts with U+200E, which a
  typed message never does. A ZIP (`WhatsApp Chat - <group>.zip`) holds `_chat.txt`.
- Lines that do not start with a full date belong to the message above (several-line messages).
- The day/month order is a property of the file (the exporting phone's settings), decided from all
  its dates; a file whose dates fit both orders needs the order stated (`date_order`).

Only text messages with a sender and a link to one of the five platforms are kept (a group chat
shares news and map links too); system lines (joined, left, added, encryption notices), media
placeholders and deleted messages carry no post link and are skipped. The time is the phone's local
time without a zone: it is read in the campaign's zone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.links import SubmittedMessage, day_month_order, is_platform_link, links_in, local_time
from monitor.errors import ExportFormatError

# The one header regex of FORMATS-2026 §10b (after Pustur/whatsapp-chat-parser's sharedRegex, MIT).
HEADER = re.compile(
    r"^[\u200e\u200f\ufeff]*(\[)?(\d{1,4})([/.\-])(\d{1,2})\3(\d{1,4}),?[ \u00a0]"
    r"(\d{1,2})[.:](\d{2})(?:[.:](\d{2}))?(?:[ \u00a0\u202f]?([AaPp])\.?\s?[Mm]\.?)?(?:\] | - )"
)
LRM = "\u200e"
# WhatsApp's own suffixes on edited messages (English and Indonesian).
EDITED = re.compile(r"\s*\u200e?<(?:This message was edited|Pesan ini diedit)>\s*$")
DATE_ORDERS = ("dmy", "mdy")


@dataclass(frozen=True)
class _Raw:
    line: int
    bracket: bool
    date: tuple[int, int, int]
    clock: tuple[int, int, int]
    ampm: str | None
    rest: str


def read_text(path: Path) -> str:
    """The export's text: a `.txt` file, or the single `.txt` inside an iOS `.zip`."""
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".txt")]
            if len(names) != 1:
                raise ExportFormatError(
                    f"{path}: a WhatsApp export ZIP holds one .txt (_chat.txt); this one has {len(names)}"
                )
            raw = archive.read(names[0])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExportFormatError(f"{path}: not UTF-8 text, so not a WhatsApp chat export") from None


def looks_like_export(text: str) -> bool:
    """Whether the text starts like a chat export (its first non-empty line has a message header)."""
    for line in text.splitlines()[:5]:
        if line.strip():
            return HEADER.match(line) is not None
    return False


def _raw_messages(text: str) -> Iterator[_Raw]:
    current: _Raw | None = None
    extra: list[str] = []
    for number, line in enumerate(re.split(r"\r?\n", text), start=1):
        match = HEADER.match(line)
        if match is None:
            if current is not None:
                extra.append(line)
            continue
        if current is not None:
            yield _with_extra(current, extra)
        extra = []
        bracket, a, _sep, b, c, hour, minute, second, ampm = match.groups()
        current = _Raw(
            line=number,
            bracket=bool(bracket),
            date=(int(a), int(b), int(c)),
            clock=(int(hour), int(minute), int(second or 0)),
            ampm=ampm,
            rest=line[match.end() :],
        )
    if current is not None:
        yield _with_extra(current, extra)


def _with_extra(raw: _Raw, extra: list[str]) -> _Raw:
    if not extra:
        return raw
    return _Raw(raw.line, raw.bracket, raw.date, raw.clock, raw.ampm, "\n".join([raw.rest, *extra]).rstrip())


def file_order(raws: list[_Raw], stated: str | None, name: str) -> str:
    """The file's date order: year first when a first field has 4 digits, else from the dates."""
    if any(r.date[0] > 31 for r in raws):
        return "ymd"
    found = day_month_order((r.date[0], r.date[1]) for r in raws)
    if found is not None:
        return found
    if stated in DATE_ORDERS:
        return stated
    raise ExportFormatError(
        f"{name}: every date in this export fits both day/month and month/day; say which the "
        "exporting phone uses with --date-order dmy (Indonesia, UK) or --date-order mdy (US)"
    )


def read_export(path: Path, tz: dt.tzinfo, date_order: str | None = None) -> list[SubmittedMessage]:
    """The text messages of a chat export that carry at least one link, oldest line first.

    `origin` is the minute, the sender and a hash of the text (FORMATS-2026 §10g: overlapping exports
    have no message ids), so a later export of the same group adds only its new messages.
    Raises ExportFormatError when the file is not a chat export or its date order is ambiguous.
    """
    text = read_text(path)
    if not looks_like_export(text):
        raise ExportFormatError(
            f"{path}: not a WhatsApp chat export (its first line has no `date, time - name:` header); "
            "export the chat with 'Without media' and import the .txt (or the iOS .zip)"
        )
    raws = list(_raw_messages(text))
    order = file_order(raws, date_order, str(path))
    messages = []
    for raw in raws:
        message = _message(raw, order, tz)
        if message is not None and message.links:
            messages.append(message)
    return messages


def _message(raw: _Raw, order: str, tz: dt.tzinfo) -> SubmittedMessage | None:
    sender, sep, body = raw.rest.partition(": ")
    if not sep:
        return None  # an Android system line: "X joined using this group's invite link"
    if raw.bracket and body.startswith(LRM):
        return None  # iOS: system lines and placeholders start with U+200E
    body = EDITED.sub("", body)
    try:
        when = local_time(raw.date, order, raw.clock, raw.ampm, tz)
    except ValueError:
        return None  # not a real date: a pasted copy of a header inside a message
    clean_sender = sender.strip()
    digest = hashlib.sha1(body.encode("utf-8")).hexdigest()[:16]
    origin = f"{when.strftime('%Y-%m-%dT%H:%M')}|{clean_sender}|{digest}"
    return SubmittedMessage(
        origin=origin,
        via="whatsapp",
        sender=clean_sender,
        submitted_at=when,
        text=body,
        # A group chat shares other links too (news, maps): only the platforms' links are submissions.
        links=tuple(link for link in links_in(body) if is_platform_link(link)),
        line=raw.line,
    )
