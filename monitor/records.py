"""PostRecord, the one shape every source yields, and the hashtag rules of DESIGN 5."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field

PLATFORMS = ("facebook", "instagram", "twitter", "tiktok", "threads")

# '#' not preceded by a letter, digit or '_', then letters/digits/'_' (Unicode \w).
HASHTAG = re.compile(r"(?<!\w)#(\w+)")


def normalize_tag(tag: str) -> str:
    """The stored form of a tag: case-folded, without '#'."""
    return tag.strip().lstrip("#").casefold()


def hashtags_in(text: str | None) -> set[str]:
    """Case-folded hashtags in a text: `#WeLoveCities!` and `(#WeLoveCities)` match."""
    if not text or "#" not in text:
        return set()
    return {m.casefold() for m in HASHTAG.findall(text)}


def collect_hashtags(text: str | None, extra: Collection[str] = ()) -> frozenset[str]:
    """Tags from the text plus a source's own hashtag column (with or without '#')."""
    tags = hashtags_in(text)
    if extra:
        tags.update(t for t in map(normalize_tag, extra) if t)
    return frozenset(tags)


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One observation of a post by one source.

    `post_key` is the platform's native key (DESIGN 5): Facebook post id without the page prefix,
    Instagram shortcode, X tweet id, TikTok video id, Threads post code. Metrics are None where the
    source did not say (unknown, not 0).
    `created_at` is an aware datetime; the store converts it to UTC and the campaign's local day.
    """

    platform: str
    post_key: str
    created_at: dt.datetime
    source: str  # e.g. "crowdtangle_facebook", "x_api"
    text: str | None = None
    url: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    views: int | None = None
    is_repost: bool = False
    hashtags: frozenset[str] = field(default_factory=frozenset)
    observed_at: dt.datetime | None = None  # when the source saw these metrics; default: import time

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}")
        if not self.post_key:
            raise ValueError("post_key is empty")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be aware (give it the source's zone)")
