"""Whether a PostRecord from an API can be stored: one impossible item is one reject, not a lost page.

The collectors map JSON they do not control. A field of the wrong type, a date no post can have or a
count beyond any post's (collectors.csv_reader.MAX_COUNT, 10^12) would make the page's whole
transaction fail in the database; `record_problem` finds it first, so the item is rejected alone with
its id and the reason, and the rest of the page is stored.
"""

from __future__ import annotations

import datetime as dt

from collectors.csv_reader import EARLIEST_YEAR, LATEST_YEAR, MAX_COUNT
from monitor.records import PostRecord

METRICS = ("likes", "comments", "shares", "views")
TEXT_FIELDS = ("text", "url", "author_id", "author_handle", "author_name")
MAX_KEY_LENGTH = 64  # posts.post_key is String(64)


def record_problem(record: PostRecord) -> str | None:
    """Why `record` cannot be stored (naming its id), or None when it can."""
    key = record.post_key
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        return f"item with an unusable id {str(key)[:80]!r}"
    where = f"item {key}"
    created = record.created_at
    if not isinstance(created, dt.datetime) or created.tzinfo is None:
        return f"{where}: the time {created!r} is not a date-time with a zone"
    try:
        year = created.astimezone(dt.UTC).year
    except (OverflowError, ValueError):
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return f"{where}: {created.isoformat()} is not a post time (years {EARLIEST_YEAR}-{LATEST_YEAR} only)"
    for name in METRICS:
        value = getattr(record, name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{where}: {name} {str(value)[:40]!r} is not a count"
        if not 0 <= value <= MAX_COUNT:
            return f"{where}: {name} {value} is not a possible count (0 to 10^12)"
    for name in TEXT_FIELDS:
        value = getattr(record, name)
        if value is not None and not isinstance(value, str):
            return f"{where}: {name} is a {type(value).__name__}, not text"
    if not isinstance(record.is_repost, bool):
        return f"{where}: is_repost is not true or false"
    return None
