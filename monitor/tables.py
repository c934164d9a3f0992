"""Plain-text tables for the terminal: the logs and listings the CLI prints (alerts, reminders, vote
readings, submissions).

Every such table has one layout, so that they read alike side by side: columns two spaces apart,
each padded to its widest cell, the last column (free text: a message, a note, a link) not padded.
"""

from __future__ import annotations

from collections.abc import Sequence


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and the rows as aligned lines, without trailing spaces."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in (header, *rows)
    ]
    return [line.rstrip() for line in lines]


def table_cell(text: str, limit: int) -> str:
    """A text for one cell: on one line, cut at `limit` characters with "..." (ASCII, unlike the
    composed messages' `messages.one_line`: a table is for any terminal)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
