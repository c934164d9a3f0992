"""Building blocks of a composed message: lines of plain text, bold text and links, rendered either
as plain text (log, webhook) or in Telegram's HTML parse mode with every piece of text escaped.

A message is a list of sections; a section is a title and its lines. The digest composes its text
from these, and a new section is one more function that returns a Section.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bold:
    text: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


Part = str | Bold | Link
Line = tuple[Part, ...]


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


def line(*parts: Part) -> Line:
    return tuple(parts)


def plain(sections: Sequence[Section]) -> str:
    """The message as plain text: titles on their own line, links as `label: url`."""
    blocks = []
    for section in sections:
        rows = [section.title] if section.title else []
        rows += ["".join(_plain_part(p) for p in ln) for ln in section.lines]
        blocks.append("\n".join(rows))
    return "\n\n".join(block for block in blocks if block).strip()


def telegram_html(sections: Sequence[Section]) -> str:
    """The message in Telegram's HTML parse mode: titles bold, every text escaped (post texts and
    account names are untrusted), links as <a href>."""
    blocks = []
    for section in sections:
        rows = [f"<b>{_escape(section.title)}</b>"] if section.title else []
        rows += ["".join(_html_part(p) for p in ln) for ln in section.lines]
        blocks.append("\n".join(rows))
    return "\n\n".join(block for block in blocks if block).strip()


def _plain_part(part: Part) -> str:
    if isinstance(part, Bold):
        return part.text
    if isinstance(part, Link):
        return f"{part.label}: {part.url}" if part.label else part.url
    return part


def _html_part(part: Part) -> str:
    if isinstance(part, Bold):
        return f"<b>{_escape(part.text)}</b>"
    if isinstance(part, Link):
        label = part.label or part.url
        return f'<a href="{html.escape(part.url, quote=True)}">{_escape(label)}</a>'
    return _escape(part)


def _escape(text: str) -> str:
    # Telegram's HTML mode knows &lt; &gt; &amp; &quot; - exactly what html.escape writes.
    return html.escape(text, quote=True).replace("&#x27;", "'")


def one_line(text: str, limit: int) -> str:
    """A post text on one line, cut at `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
