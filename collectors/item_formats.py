"""The JSON item formats we read: one small declarative entry each, a registry, and detection.

The JSON twin of `csv_formats.py`. A browser capture (Zeeschuimer NDJSON), a scraper dataset (Apify
JSON) or an instaloader per-post file is a stream of items; each entry says how an item is recognised
(its envelope and the paths that must be there) and where each field of a PostRecord comes from.
FORMATS-2026.md has the evidence for every path. A new producer is one entry plus its fixture.

Paths are dotted (`stats.diggCount`); a number picks a list position (`edges.0.node.text`); `[]` maps
over a list (`textExtra[].hashtagName`). A field lists alternatives: the first present wins. Metrics
list summands (X shares = retweets + quotes); each summand may itself be alternatives.

Detection: the first item of a file decides its family (Zeeschuimer's envelope, Apify's Instagram or
TikTok items, instaloader's `{"node", "instaloader"}`); every item is then matched within the family,
so one capture may mix platforms (the envelope's `source_platform` says which) and an item that fits
no entry is rejected alone with the reason.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from collectors.csv_formats import KEY_READERS
from collectors.csv_reader import MAX_COUNT, RowError, parse_count
from monitor.errors import ExportFormatError, UsageError
from monitor.records import PostRecord, collect_hashtags

Ref = str | tuple[str, ...]  # one path, or alternatives of which the first present is used


@dataclass(frozen=True)
class Envelope:
    """How a producer wraps each item: the keys every wrapper has, where the item sits, and what the
    wrapper says about when it was seen and on which platform."""

    family: str
    marker: tuple[str, ...]  # keys every wrapper has
    data: str  # the key holding the item
    platform_key: str | None = None  # the wrapper's platform name (Zeeschuimer's source_platform)
    observed_ms: tuple[str, ...] = ()  # epoch milliseconds of the observation, first present wins


@dataclass(frozen=True)
class ItemFormat:
    """One kind of item: how to recognise it and where each field of a PostRecord comes from."""

    name: str  # posts.source
    family: str  # what --format takes: one file holds items of one family
    platform: str
    title: str
    signature: tuple[Ref, ...]  # paths that must all be present in the item
    key: Ref
    time: Ref  # unix seconds, or an ISO 8601 / X `Mon Sep 18 16:35:14 +0000 2023` string
    envelope: Envelope | None = None
    envelope_platform: str | None = None  # the wrapper's platform_key value for this entry
    text: Ref = ()
    url: Ref = ()
    url_template: tuple[str, ...] = ()  # {key} and {handle}; those needing an unknown handle are skipped
    author_id: Ref = ()
    author_handle: Ref = ()
    author_name: Ref = ()
    likes: tuple[Ref, ...] = ()
    comments: tuple[Ref, ...] = ()
    shares: tuple[Ref, ...] = ()
    views: tuple[Ref, ...] = ()
    hashtags: tuple[str, ...] = ()  # paths to lists of tags (without '#'), added to the text's tags
    likes_hidden: str | None = None  # a flag: when true the like count is a placeholder (Instagram's 3)
    repost: str | None = None  # a path whose presence marks a repost (it adds no post or interaction)
    drop: str | None = None  # a flag: when true the item is rejected (an ad)
    drop_reason: str = ""
    html_text: bool = False  # X's full_text is HTML-escaped (&amp;)


ZEESCHUIMER = Envelope(
    family="zeeschuimer",
    marker=("source_platform", "data", "timestamp_collected"),
    data="data",
    platform_key="source_platform",
    observed_ms=("last_updated", "timestamp_collected"),  # the capture time is the observation time
)
INSTALOADER = Envelope(family="instaloader", marker=("node", "instaloader"), data="node")

ITEM_FORMATS: tuple[ItemFormat, ...] = (
    # FORMATS-2026.md 1b: the item-list shape of 2024-26 (posts and reels).
    ItemFormat(
        name="zeeschuimer-instagram",
        family="zeeschuimer",
        platform="instagram",
        title="Zeeschuimer capture, Instagram posts and reels",
        envelope=ZEESCHUIMER,
        envelope_platform="instagram.com",
        signature=("code", "taken_at"),
        key="code",
        time="taken_at",
        text="caption.text",
        likes=("like_count",),
        comments=("comment_count",),
        views=(("view_count", "play_count"),),
        likes_hidden="like_and_view_counts_disabled",
        author_id=("user.pk", "user.id", "owner.id"),
        author_handle=("user.username", "owner.username"),
        author_name=("user.full_name",),
        url_template=("https://www.instagram.com/p/{key}/",),
    ),
    # The old GraphQL shape (GraphImage/GraphVideo/GraphSidecar).
    ItemFormat(
        name="zeeschuimer-instagram",
        family="zeeschuimer",
        platform="instagram",
        title="Zeeschuimer capture, Instagram (GraphQL shape)",
        envelope=ZEESCHUIMER,
        envelope_platform="instagram.com",
        signature=("shortcode", "taken_at_timestamp"),
        key="shortcode",
        time="taken_at_timestamp",
        text="edge_media_to_caption.edges.0.node.text",
        likes=(("edge_media_preview_like.count", "edge_liked_by.count"),),
        comments=(("edge_media_preview_comment.count", "edge_media_to_comment.count"),),
        views=("video_view_count",),
        author_id=("user.pk", "user.id", "owner.id"),
        author_handle=("user.username", "owner.username"),
        author_name=("user.full_name",),
        url_template=("https://www.instagram.com/p/{key}/",),
    ),
    # 1c.
    ItemFormat(
        name="zeeschuimer-tiktok",
        family="zeeschuimer",
        platform="tiktok",
        title="Zeeschuimer capture, TikTok videos",
        envelope=ZEESCHUIMER,
        envelope_platform="tiktok.com",
        signature=("id", "createTime"),
        key="id",
        time="createTime",
        text="desc",
        url_template=("https://www.tiktok.com/@{handle}/video/{key}",),
        author_id=("author.id",),
        author_handle=("author.uniqueId", "author"),  # an object from API responses, a string in pages
        author_name=("author.nickname", "nickname"),
        likes=(("stats.diggCount", "statsV2.diggCount"),),
        comments=(("stats.commentCount", "statsV2.commentCount"),),
        shares=(("stats.shareCount", "statsV2.shareCount"),),
        views=(("stats.playCount", "statsV2.playCount"),),
        hashtags=("textExtra[].hashtagName", "challenges[].title"),
        drop="isAd",
        drop_reason="an ad (isAd), not a post",
    ),
    # 1d. The key is rest_id, never data.id (a rounded number for some captures).
    ItemFormat(
        name="zeeschuimer-x",
        family="zeeschuimer",
        platform="twitter",
        title="Zeeschuimer capture, X posts",
        envelope=ZEESCHUIMER,
        envelope_platform="twitter.com",
        signature=("legacy.created_at", "legacy.full_text"),
        key=("rest_id", "legacy.id_str"),
        time="legacy.created_at",
        text="legacy.full_text",
        html_text=True,
        url_template=("https://x.com/{handle}/status/{key}", "https://x.com/i/web/status/{key}"),
        author_id=("legacy.user_id_str", "core.user_results.result.rest_id"),
        author_handle=(
            "core.user_results.result.core.screen_name",
            "core.user_results.result.legacy.screen_name",
        ),
        author_name=("core.user_results.result.core.name", "core.user_results.result.legacy.name"),
        likes=("legacy.favorite_count",),
        comments=("legacy.reply_count",),
        shares=("legacy.retweet_count", "legacy.quote_count"),
        views=("views.count",),
        hashtags=("legacy.entities.hashtags[].text",),
        repost="legacy.retweeted_status_result",
        drop="promoted",
        drop_reason="a promoted post (an ad), not a post",
    ),
    # 1e.
    ItemFormat(
        name="zeeschuimer-threads",
        family="zeeschuimer",
        platform="threads",
        title="Zeeschuimer capture, Threads posts",
        envelope=ZEESCHUIMER,
        envelope_platform="threads.net",
        signature=("code", "taken_at"),
        key="code",
        time="taken_at",
        text="caption.text",
        url_template=("https://www.threads.com/@{handle}/post/{key}",),
        author_id=("user.pk", "user.id"),
        author_handle=("user.username",),
        author_name=("user.full_name",),
        likes=("like_count",),
        comments=("text_post_app_info.direct_reply_count",),
        shares=("text_post_app_info.repost_count", "text_post_app_info.quote_count"),
    ),
    # 2a: apify/instagram-hashtag-scraper and apify/instagram-scraper dataset items (JSON).
    ItemFormat(
        name="apify-instagram",
        family="apify-instagram",
        platform="instagram",
        title="Apify Instagram hashtag/post scraper (JSON)",
        signature=("shortCode", "timestamp"),
        key="shortCode",
        time="timestamp",
        text="caption",
        url=("url",),
        url_template=("https://www.instagram.com/p/{key}/",),
        author_id=("ownerId",),
        author_handle=("ownerUsername",),
        author_name=("ownerFullName",),
        likes=("likesCount",),  # -1 when hidden: unknown
        comments=("commentsCount",),
        views=(("videoViewCount", "videoPlayCount"),),
        hashtags=("hashtags",),
    ),
    # 2b: clockworks/tiktok-scraper (and its hashtag scraper).
    ItemFormat(
        name="apify-tiktok",
        family="apify-tiktok",
        platform="tiktok",
        title="Apify TikTok scraper (clockworks, JSON)",
        signature=("id", "authorMeta", ("createTime", "createTimeISO")),
        key="id",
        time=("createTime", "createTimeISO"),
        text="text",
        url=("webVideoUrl",),
        url_template=("https://www.tiktok.com/@{handle}/video/{key}",),
        author_id=("authorMeta.id",),
        author_handle=("authorMeta.name",),  # the handle, despite the name
        author_name=("authorMeta.nickName",),
        likes=("diggCount",),
        comments=("commentCount",),
        shares=("shareCount",),
        views=("playCount",),
        hashtags=("hashtags[].name",),
        drop="isAd",
        drop_reason="an ad (isAd), not a post",
    ),
    # FORMATS.md 7: instaloader's per-post metadata ({"node": <GraphQL node>, "instaloader": {...}}).
    ItemFormat(
        name="instaloader",
        family="instaloader",
        platform="instagram",
        title="instaloader per-post metadata (.json / .json.xz)",
        envelope=INSTALOADER,
        signature=("shortcode", "taken_at_timestamp"),
        key="shortcode",
        time="taken_at_timestamp",
        text="edge_media_to_caption.edges.0.node.text",
        likes=(("edge_media_preview_like.count", "edge_liked_by.count"),),
        comments=(("edge_media_to_comment.count", "edge_media_preview_comment.count"),),
        views=("video_view_count",),
        author_id=("user.pk", "user.id", "owner.id"),
        author_handle=("user.username", "owner.username"),
        author_name=("user.full_name",),
        url_template=("https://www.instagram.com/p/{key}/",),
    ),
)

FAMILIES: dict[str, str] = {
    "zeeschuimer": "Zeeschuimer capture (NDJSON: Instagram, TikTok, X, Threads)",
    "apify-instagram": "Apify Instagram hashtag/post scraper (JSON)",
    "apify-tiktok": "Apify TikTok scraper (JSON)",
    "instaloader": "instaloader per-post metadata (.json / .json.xz)",
}


def family_names() -> list[str]:
    return list(FAMILIES)


def check_family(name: str) -> str:
    if name not in FAMILIES:
        raise UsageError(f"unknown JSON format {name!r}; use one of: {', '.join(FAMILIES)}")
    return name


# ---------------------------------------------------------------------------------------------------------
# Paths

_MISSING = object()


def _walk(value: Any, parts: Sequence[str]) -> Iterator[Any]:
    """Every value at the path below `value` (`[]` fans out over a list); None counts as absent."""
    if not parts:
        if value is not None:
            yield value
        return
    part, rest = parts[0], parts[1:]
    if part.endswith("[]"):
        inner = value.get(part[:-2]) if isinstance(value, dict) else None
        if isinstance(inner, list):
            for element in inner:
                yield from _walk(element, rest)
        return
    if isinstance(value, dict):
        if part in value:
            yield from _walk(value[part], rest)
    elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
        yield from _walk(value[int(part)], rest)


Getter = Callable[[Any, bool], Any]
SCALARS = (str, int, float)  # not bool: `type(True) is bool`


@cache
def _getter(path: str) -> Getter:
    """A function giving the value at `path` (or _MISSING; with `scalar`, only a string or number),
    compiled once per path: this runs for every field of every item, so a plain path is a loop of
    dict look-ups, not a recursive walk."""
    parts = tuple(path.split("."))
    if any(p.endswith("[]") for p in parts):

        def fan(item: Any, scalar: bool) -> Any:
            for value in _walk(item, parts):
                if not scalar or type(value) in SCALARS:
                    return value
            return _MISSING

        return fan

    def get(item: Any, scalar: bool) -> Any:
        value = item
        for part in parts:
            if type(value) is dict:
                value = value.get(part)
            elif type(value) is list and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
            if value is None:
                return _MISSING
        return _MISSING if scalar and type(value) not in SCALARS else value

    return get


@cache
def _getters(ref: Ref) -> tuple[Getter, ...]:
    return tuple(_getter(path) for path in ((ref,) if isinstance(ref, str) else ref))


def values_at(item: Any, path: str) -> list[Any]:
    return list(_walk(item, path.split(".")))


def first(item: Any, ref: Ref, scalar: bool = True) -> Any:
    """The value at the first present path of `ref` (only strings and numbers when `scalar`)."""
    for getter in _getters(ref):
        value = getter(item, scalar)
        if value is not _MISSING:
            return value
    return _MISSING


def has(item: Any, ref: Ref) -> bool:
    return first(item, ref, scalar=False) is not _MISSING


# ---------------------------------------------------------------------------------------------------------
# Detection


def unwrap(obj: Any) -> tuple[Envelope | None, Any]:
    """The envelope around an item (None: a bare item) and the item."""
    if isinstance(obj, dict):
        for envelope in (ZEESCHUIMER, INSTALOADER):
            if all(k in obj for k in envelope.marker):
                return envelope, obj[envelope.data]
    return None, obj


def detect_family(obj: Any, source: str | None = None) -> str:
    """The family of a file from its first item; ExportFormatError when none fits."""
    prefix = f"{source}: " if source else ""
    envelope, item = unwrap(obj)
    if envelope is not None:
        return envelope.family
    if isinstance(item, dict):
        for fmt in ITEM_FORMATS:
            if fmt.envelope is None and all(has(item, p) for p in fmt.signature):
                return fmt.family
        keys = ", ".join(list(item)[:8]) + (", ..." if len(item) > 8 else "")
        raise ExportFormatError(
            f"{prefix}no known JSON item format matches its first item (keys: {keys}); known: "
            f"{'; '.join(FAMILIES.values())}"
        )
    raise ExportFormatError(
        f"{prefix}the first item is not a JSON object; known: {'; '.join(FAMILIES.values())}"
    )


def match_item(family: str, obj: Any) -> tuple[ItemFormat, Any, dt.datetime | None]:
    """The entry of `family` that reads this item, the item, and when its envelope says it was seen.

    RowError with the reason when none does (another family's item, an unread platform, a grid tile
    without time, a scraper's error row).
    """
    if not isinstance(obj, dict):
        raise RowError("not a JSON object")
    envelope, item = unwrap(obj)
    platform = obj.get(envelope.platform_key) if envelope and envelope.platform_key else None
    candidates = [f for f in ITEM_FORMATS if f.family == family]
    wrapped_as = envelope.family if envelope is not None else None
    expected = candidates[0].envelope.family if candidates[0].envelope is not None else None
    if wrapped_as != expected:
        raise RowError(f"not a {FAMILIES[family]} item")
    if platform is not None:
        candidates = [f for f in candidates if f.envelope_platform == platform]
        if not candidates:
            raise RowError(f"items from {platform!r} are not read (Instagram, TikTok, X and Threads are)")
    if envelope is INSTALOADER:
        kind = (
            (obj.get("instaloader") or {}).get("node_type")
            if isinstance(obj.get("instaloader"), dict)
            else None
        )
        if kind not in (None, "Post"):
            raise RowError(
                f"instaloader {kind} metadata, not a post (instaloader writes it beside the posts)"
            )
    if not isinstance(item, dict):
        raise RowError("its item is not a JSON object")
    if "error" in item and not all(has(item, p) for p in candidates[0].signature):
        raise RowError(f"the scraper's error row: {str(item['error'])[:200]}")
    for fmt in candidates:
        if all(has(item, p) for p in fmt.signature):
            return fmt, item, _observed(envelope, obj)
    missing = [
        p if isinstance(p, str) else " or ".join(p) for p in candidates[0].signature if not has(item, p)
    ]
    raise RowError(f"no {candidates[0].title} item: it lacks {', '.join(missing)} (a partial or grid item?)")


def _observed(envelope: Envelope | None, obj: Mapping[str, Any]) -> dt.datetime | None:
    if envelope is None:
        return None
    for key in envelope.observed_ms:
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            try:
                return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
            except (OverflowError, OSError, ValueError):
                raise RowError(f"{key}: {value!r} is not a capture time") from None
    return None


# ---------------------------------------------------------------------------------------------------------
# Mapping

_X_TIME = "%a %b %d %H:%M:%S %z %Y"


def instant(value: Any, name: str) -> dt.datetime:
    """Unix seconds (a number or a string of digits), ISO 8601, or X's `Mon Sep 18 16:35:14 +0000 2023`."""
    moment: dt.datetime | None = None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        or (isinstance(value, str) and value.strip().isdigit())
    ):
        try:
            moment = dt.datetime.fromtimestamp(int(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
    elif isinstance(value, str):
        text = value.strip()
        for parse in (dt.datetime.fromisoformat, lambda t: dt.datetime.strptime(t, _X_TIME)):
            try:
                moment = parse(text)
                break
            except ValueError:
                continue
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)  # these producers write UTC
    if moment is None or not 2004 <= moment.year <= 2100:
        raise RowError(f"{name}: {value!r} is not a post time")
    return moment


def count(value: Any, name: str) -> int | None:
    """A count; None when unknown (null, or negative: a scraper's `-1` for hidden)."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        raise RowError(f"{name}: {value!r} is not a count")
    if isinstance(value, int):
        n: int | None = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise RowError(f"{name}: {value!r} is not a count")
        n = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("-") and text[1:].isdigit():
            return None
        try:
            n = parse_count(text)
        except RowError as exc:
            raise RowError(f"{name}: {exc}") from None
    else:
        raise RowError(f"{name}: {str(value)[:40]!r} is not a count")
    if n is not None and n < 0:
        return None
    if n is not None and n > MAX_COUNT:
        raise RowError(f"{name}: {n} is too large for a count")
    return n


def _name(ref: Ref) -> str:
    return ref if isinstance(ref, str) else ref[0]


def _metric(item: Any, summands: tuple[Ref, ...]) -> int | None:
    total: int | None = None
    for ref in summands:
        n = count(first(item, ref), _name(ref))
        if n is not None:
            total = n if total is None else total + n
    return total


def _text(item: Any, ref: Ref) -> str | None:
    value = first(item, ref) if ref else _MISSING
    if value is _MISSING:
        return None
    text = str(value)
    return text if text.strip() else None


def to_record(fmt: ItemFormat, item: Any, observed_at: dt.datetime | None) -> PostRecord:
    """A PostRecord from one item of this entry (RowError: reject it)."""
    if fmt.drop and first(item, fmt.drop, scalar=False) is True:
        raise RowError(fmt.drop_reason)
    raw_key = first(item, fmt.key)
    if raw_key is _MISSING or isinstance(raw_key, float):  # a float id has lost its last digits
        raise RowError(f"{_name(fmt.key)} is missing or not an exact id")
    key = KEY_READERS[fmt.platform](str(raw_key))
    created = instant(first(item, fmt.time), _name(fmt.time))
    text = _text(item, fmt.text)
    if text is not None and fmt.html_text:
        text = html.unescape(text)
    handle = _text(item, fmt.author_handle)
    if handle:
        handle = handle.lstrip("@")
    url = _text(item, fmt.url)
    if url is None:
        for template in fmt.url_template:
            if "{handle}" not in template or handle:
                url = template.format(key=key, handle=handle)
                break
    likes = _metric(item, fmt.likes)
    if fmt.likes_hidden and first(item, fmt.likes_hidden, scalar=False) is True:
        likes = None  # Instagram sends 3 as a placeholder when the owner hid the counts
    tags: list[str] = []
    for path in fmt.hashtags:
        tags.extend(str(v) for v in values_at(item, path) if isinstance(v, str))
    author_id = _text(item, fmt.author_id)
    return PostRecord(
        platform=fmt.platform,
        post_key=key,
        created_at=created,
        source=fmt.name,
        text=text,
        url=url,
        author_id=author_id,
        author_handle=handle,
        author_name=_text(item, fmt.author_name),
        likes=likes,
        comments=_metric(item, fmt.comments),
        shares=_metric(item, fmt.shares),
        views=_metric(item, fmt.views),
        is_repost=bool(fmt.repost and has(item, fmt.repost)),
        hashtags=collect_hashtags(text, tags),
        observed_at=observed_at,
    )
