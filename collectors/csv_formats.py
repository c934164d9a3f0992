"""The export formats we read: one small declarative entry each, a registry, and detection.

A format is recognised by its header (never by the file name): every signature column must be there.
Each entry says which columns hold the key, time, text, author and metrics; `row_mapper` turns the
entry and a file's header into a fast function from a record to a PostRecord. User-defined layouts
from config ([[formats]]) become entries of the same kind (`custom_format`).

The rules the numbers follow are DESIGN 5: likes = all reactions, shares = shares or retweets +
quotes, empty = unknown; keys are the platform's native post key.

Excel damage (`1,22158E+17`) is handled per column: a mangled key is read from the format's
`key_fallback` column when that is intact, else the row is rejected; a mangled author id is stored as
unknown (counted for the summary); id columns that are not stored are not looked at.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter

from collectors.csv_reader import (
    DAY_FIRST,
    MAX_COUNT,
    MONTH_FIRST,
    RowError,
    is_mangled,
    mangled_message,
    parse_count,
    parse_time,
    strptime_time,
    zone_table,
)
from monitor.config import CustomFormat
from monitor.errors import ExportFormatError, UsageError
from monitor.records import PostRecord, collect_hashtags, hashtags_in

# A column reference: one name, or alternatives of which the first present in the header is used.
Column = str | tuple[str, ...]

# A format's platform when each row's link says it (a KIM sheet mixing FB/IG/X links).
FROM_LINK = "from-link"


@dataclass(frozen=True)
class ExportFormat:
    """One export layout: how to recognise it and where each field of a PostRecord comes from."""

    name: str  # what --format takes and what posts.source records
    platform: str
    title: str  # for people: "CrowdTangle Facebook (pages and groups)"
    signature: tuple[str, ...]  # all must be in the header
    key: Column  # the column the post key is read from
    time: str
    one_of: tuple[tuple[str, ...], ...] = ()  # at least one of each group must be in the header
    date_order: str = MONTH_FIRST  # the documented order when a file's slashed dates are all ambiguous
    time_format: str | None = None  # strptime format (custom formats); None: the common forms
    key_fallback: Column | None = None  # where the key is read when Excel mangled the key column
    text: tuple[str, ...] = ()  # the first non-empty of these is the post text
    url: Column | None = None
    author_id: Column | None = None
    author_handle: Column | None = None
    author_name: Column | None = None
    handle_from_url: bool = False  # Twitter Analytics: the handle is in the permalink
    likes: tuple[Column, ...] = ()  # summed (CrowdTangle's seven reactions)
    comments: tuple[Column, ...] = ()
    shares: tuple[Column, ...] = ()  # summed (retweets + quotes)
    views: tuple[Column, ...] = ()
    hashtag_list: str | None = None  # a list column of tags: JSON (twarc entities.hashtags) or Python
    hashtag_columns: str | None = None  # a prefix of one column per tag (Apify's hashtags/0, hashtags/1)
    key_prefix: str = ""  # the key is the source's own id, kept apart from the platform's keys ("mcl:")
    negative_unknown: bool = False  # -1 means "hidden by the owner" (Apify), stored as unknown
    repost: str | None = None  # a column that, when set, marks the row as a repost/retweet
    escaped_newlines: bool = False  # twarc writes newlines as the two characters \n
    observed: str | None = None  # a column saying when the row's metrics were read (twarc retrieved_at)
    custom: bool = False
    base: str | None = None  # the built-in format a [[formats]] entry extends (renamed columns)
    notes: tuple[str, ...] = field(default=(), compare=False)


# ---------------------------------------------------------------------------------------------------------
# The built-in formats (FORMATS.md has the evidence for every header)

CROWDTANGLE_FACEBOOK = ExportFormat(
    name="crowdtangle-facebook",
    platform="facebook",
    title="CrowdTangle Facebook (pages and groups)",
    signature=(
        "User Name",
        "Facebook Id",
        "Post Created",
        "Likes",
        "Comments",
        "Shares",
        "Love",
        "Wow",
        "Haha",
        "Sad",
        "Angry",
        "Care",
        "URL",
        "Message",
    ),
    one_of=(("Page Name", "Group Name"),),
    key="URL",
    time="Post Created",
    text=("Message",),
    url="URL",
    author_id="Facebook Id",
    author_handle="User Name",
    author_name=("Page Name", "Group Name"),
    likes=("Likes", "Love", "Wow", "Haha", "Sad", "Angry", "Care"),
    comments=("Comments",),
    shares=("Shares",),
    views=("Post Views",),
)

CROWDTANGLE_INSTAGRAM = ExportFormat(
    name="crowdtangle-instagram",
    platform="instagram",
    title="CrowdTangle Instagram",
    signature=("Account", "User Name", "Post Created", "Likes", "Comments", "URL", "Description"),
    key="URL",
    time="Post Created",
    text=("Description", "Title"),
    url="URL",
    author_handle="User Name",
    author_name="Account",
    likes=("Likes",),
    comments=("Comments",),
    views=("Views",),
)

MBS_FACEBOOK = ExportFormat(
    name="mbs-facebook",
    platform="facebook",
    title="Meta Business Suite Facebook posts",
    signature=(
        "Post ID",
        "Page ID",
        "Page name",
        "Publish time",
        "Permalink",
        "Reactions",
        "Comments",
        "Shares",
    ),
    key="Post ID",
    key_fallback="Permalink",  # https://www.facebook.com/<post id>
    time="Publish time",
    date_order=MONTH_FIRST,  # English exports write MM/DD/YYYY HH:MM
    text=("Description", "Title"),
    url="Permalink",
    author_id="Page ID",
    author_name="Page name",
    likes=("Reactions",),
    comments=("Comments",),
    shares=("Shares",),
    views=(("Views", "Impressions"),),
)

MBS_INSTAGRAM = ExportFormat(
    name="mbs-instagram",
    platform="instagram",
    title="Meta Business Suite Instagram posts",
    signature=("Post ID", "Account ID", "Account username", "Publish time", "Permalink", "Likes", "Comments"),
    key="Permalink",
    time="Publish time",
    date_order=MONTH_FIRST,
    text=("Description",),
    url="Permalink",
    author_id="Account ID",
    author_handle="Account username",
    author_name="Account name",
    likes=("Likes",),
    comments=("Comments",),
    shares=("Shares",),
    views=(("Views", "Impressions"),),
)

TWARC_CSV = ExportFormat(
    name="twarc-csv",
    platform="twitter",
    title="twarc2 CSV (twarc-csv default columns)",
    signature=(
        "id",
        "author_id",
        "created_at",
        "text",
        "referenced_tweets.retweeted.id",
        "public_metrics.like_count",
        "public_metrics.reply_count",
        "public_metrics.retweet_count",
        "author.username",
    ),
    key="id",
    time="created_at",
    text=("text",),
    author_id="author_id",
    author_handle="author.username",
    author_name="author.name",
    likes=("public_metrics.like_count",),
    comments=("public_metrics.reply_count",),
    shares=("public_metrics.retweet_count", "public_metrics.quote_count"),
    views=("public_metrics.impression_count",),
    hashtag_list="entities.hashtags",
    repost="referenced_tweets.retweeted.id",
    escaped_newlines=True,
    observed="__twarc.retrieved_at",
)

TWITTER_ANALYTICS = ExportFormat(
    name="twitter-analytics",
    platform="twitter",
    title="Twitter Analytics tweet activity",
    signature=("Tweet id", "Tweet permalink", "Tweet text", "time", "impressions", "retweets", "replies"),
    one_of=(("likes", "favorites"),),
    key="Tweet id",
    key_fallback="Tweet permalink",  # .../status/<id>
    time="time",
    text=("Tweet text",),
    url="Tweet permalink",
    handle_from_url=True,
    likes=(("likes", "favorites"),),
    comments=("replies",),
    shares=("retweets",),
    views=("impressions",),
)

# FORMATS-2026.md 2a: Apify's CSV download flattens nested keys with `/`, one column per array index.
APIFY_INSTAGRAM_CSV = ExportFormat(
    name="apify-instagram-csv",
    platform="instagram",
    title="Apify Instagram hashtag/post scraper (CSV download)",
    signature=("shortCode", "ownerUsername", "timestamp", "likesCount", "commentsCount", "caption", "url"),
    key="shortCode",
    key_fallback="url",
    time="timestamp",
    text=("caption",),
    url="url",
    author_id="ownerId",
    author_handle="ownerUsername",
    author_name="ownerFullName",
    likes=("likesCount",),
    comments=("commentsCount",),
    views=(("videoViewCount", "videoPlayCount"),),
    hashtag_columns="hashtags/",
    negative_unknown=True,
    notes=("likesCount -1 (hidden by the owner) is stored as unknown",),
)

# FORMATS-2026.md 3a: the per-video file of TikTok Studio (the city's own account); the least certain
# layout of all, and without hashtags unless the title carries them.
TIKTOK_STUDIO = ExportFormat(
    name="tiktok-studio",
    platform="tiktok",
    title="TikTok Studio per-video export (own account)",
    signature=("Video title", "Video link", "Post time", "Total likes", "Total comments", "Total views"),
    key="Video link",
    time="Post time",  # local time without a zone: the campaign's zone
    text=("Video title",),
    url="Video link",
    handle_from_url=True,
    likes=("Total likes",),
    comments=("Total comments",),
    shares=("Total shares",),
    views=("Total views",),
)

# FORMATS-2026.md 5: Meta Content Library CSV downloads (dotted names). The Facebook id is
# `<page>_<post>` like the Graph API's, so it meets other sources' posts; the owner id is the
# Library's encrypted one and is not stored (it would name a different account than Meta's page id).
MCL_FACEBOOK = ExportFormat(
    name="mcl-facebook",
    platform="facebook",
    title="Meta Content Library Facebook posts",
    signature=(
        "id",
        "creation_time",
        "statistics.reaction_count",
        "statistics.comment_count",
        "statistics.share_count",
        "surface.id",
    ),
    key="id",
    time="creation_time",
    text=("text",),
    author_handle="post_owner.username",
    author_name=("post_owner.name", "surface.name"),
    likes=("statistics.reaction_count",),
    comments=("statistics.comment_count",),
    shares=("statistics.share_count",),
    views=("statistics.views",),
)

# The Instagram id is the Library's own (no shortcode, no permalink): kept under `mcl:<id>` so it never
# claims another post's key (docs/formats.md says what this means for matching).
MCL_INSTAGRAM = ExportFormat(
    name="mcl-instagram",
    platform="instagram",
    title="Meta Content Library Instagram posts",
    signature=(
        "id",
        "creation_time",
        "hashtags",
        "statistics.like_count",
        "statistics.comment_count",
        "post_owner.username",
    ),
    key="id",
    key_prefix="mcl:",
    time="creation_time",
    text=("text",),
    author_handle="post_owner.username",
    author_name="post_owner.name",
    likes=("statistics.like_count",),
    comments=("statistics.comment_count",),
    views=("statistics.views",),
    hashtag_list="hashtags",
)

BUILTIN_FORMATS: tuple[ExportFormat, ...] = (
    CROWDTANGLE_FACEBOOK,
    CROWDTANGLE_INSTAGRAM,
    MBS_FACEBOOK,
    MBS_INSTAGRAM,
    TWARC_CSV,
    TWITTER_ANALYTICS,
    APIFY_INSTAGRAM_CSV,
    TIKTOK_STUDIO,
    MCL_FACEBOOK,
    MCL_INSTAGRAM,
)


def custom_format(spec: CustomFormat) -> ExportFormat:
    """An entry for a user-defined layout from config ([[formats]]): its own columns, or a built-in
    format (`base`) with some columns renamed (a localized Meta export)."""
    if spec.base:
        return based_format(spec)
    named = [spec.id, spec.time, spec.author, spec.text, spec.likes, spec.comments, spec.shares]
    named += [spec.views, spec.url, spec.observed]
    return ExportFormat(
        name=spec.name,
        platform=spec.platform,
        title=f"custom format {spec.name!r} from config",
        signature=tuple(dict.fromkeys(c for c in named if c)),
        key=spec.id,
        key_fallback=spec.url if spec.url and spec.url != spec.id else None,
        time=spec.time,
        date_order=spec.date_order or DAY_FIRST,  # a sheet kept by an Indonesian team: 20/09/2022
        time_format=spec.time_format,
        text=(spec.text,) if spec.text else (),
        url=spec.url or None,
        author_handle=spec.author or None,
        likes=(spec.likes,) if spec.likes else (),
        comments=(spec.comments,) if spec.comments else (),
        shares=(spec.shares,) if spec.shares else (),
        views=(spec.views,) if spec.views else (),
        observed=spec.observed or None,
        custom=True,
    )


def based_format(spec: CustomFormat) -> ExportFormat:
    """A built-in format read under other column names: `spec.columns` maps the built-in name to the
    name in the file (`"Post ID" = "ID Postingan"`); columns not named keep their built-in name.
    Raises UsageError for an unknown base (config.py checks it first, with the key to fix)."""
    base = find_format(spec.base or "", BUILTIN_FORMATS)
    renamed = {k.casefold(): v for k, v in spec.columns.items()}

    def one(name: str) -> str:
        return renamed.get(name.casefold(), name)

    def ref(column: Column) -> Column:
        return one(column) if isinstance(column, str) else tuple(one(c) for c in column)

    def opt(column: Column | None) -> Column | None:
        return None if column is None else ref(column)

    def many(columns: tuple[Column, ...]) -> tuple[Column, ...]:
        return tuple(ref(c) for c in columns)

    return replace(
        base,
        name=spec.name,
        title=f"{base.title} with renamed columns ({spec.name!r} from config)",
        signature=tuple(one(c) for c in base.signature),
        one_of=tuple(tuple(one(c) for c in group) for group in base.one_of),
        key=ref(base.key),
        time=one(base.time),
        date_order=spec.date_order or base.date_order,
        time_format=spec.time_format or base.time_format,
        key_fallback=opt(base.key_fallback),
        text=tuple(one(c) for c in base.text),
        url=opt(base.url),
        author_id=opt(base.author_id),
        author_handle=opt(base.author_handle),
        author_name=opt(base.author_name),
        likes=many(base.likes),
        comments=many(base.comments),
        shares=many(base.shares),
        views=many(base.views),
        hashtag_list=one(base.hashtag_list) if base.hashtag_list else None,
        repost=one(base.repost) if base.repost else None,
        observed=one(spec.observed or base.observed or "") or None,
        custom=True,
        base=base.name,
    )


def all_formats(custom: Iterable[CustomFormat] = ()) -> tuple[ExportFormat, ...]:
    """The user's formats first (they win ties), then the built-in ones."""
    return (*(custom_format(c) for c in custom), *BUILTIN_FORMATS)


def format_names(formats: Sequence[ExportFormat] = BUILTIN_FORMATS) -> list[str]:
    return [f.name for f in formats]


def find_format(name: str, formats: Sequence[ExportFormat] = BUILTIN_FORMATS) -> ExportFormat:
    """The format called `name`; UsageError listing the names otherwise."""
    for fmt in formats:
        if fmt.name == name:
            return fmt
    raise UsageError(f"unknown format {name!r}; use one of: {', '.join(format_names(formats))}")


# ---------------------------------------------------------------------------------------------------------
# Detection


def missing_columns(fmt: ExportFormat, header: Sequence[str]) -> list[str]:
    """The columns `fmt` needs that the header lacks (case-insensitive)."""
    present = {h.casefold() for h in header}
    missing = [c for c in fmt.signature if c.casefold() not in present]
    for group in fmt.one_of:
        if not any(c.casefold() in present for c in group):
            missing.append(" or ".join(group))
    return missing


def shared_columns(fmt: ExportFormat, header: Sequence[str]) -> int:
    """How many of the columns `fmt` needs the header has (a group of alternatives counts once)."""
    present = {h.casefold() for h in header}
    shared = sum(1 for c in fmt.signature if c.casefold() in present)
    return shared + sum(1 for group in fmt.one_of if any(c.casefold() in present for c in group))


@dataclass(frozen=True)
class Nearby:
    """A format that does not match a header, how close it is, and what the header lacks."""

    format: ExportFormat
    shared: int
    missing: list[str]


def nearest_formats(header: Sequence[str], formats: Sequence[ExportFormat] = BUILTIN_FORMATS) -> list[Nearby]:
    """The formats sharing at least one column with the header, the most shared columns first (not the
    fewest missing: a small custom format missing two columns is not nearer than a built-in export
    that has twelve of its fourteen)."""
    found = [
        Nearby(fmt, n, missing_columns(fmt, header)) for fmt in formats if (n := shared_columns(fmt, header))
    ]
    return sorted(found, key=lambda near: (-near.shared, len(near.missing)))


def detect_format(
    header: Sequence[str], formats: Sequence[ExportFormat] = BUILTIN_FORMATS, source: str | None = None
) -> ExportFormat:
    """The format whose columns are all in the header; the most specific one wins.

    Raises ExportFormatError naming the nearest format (most shared columns) and the columns it
    misses (prefixed with `source` when given; the importer names the file itself).
    """
    prefix = f"{source}: " if source else ""
    best: ExportFormat | None = None
    for fmt in formats:
        if not missing_columns(fmt, header) and (best is None or len(fmt.signature) > len(best.signature)):
            best = fmt
    if best is not None:
        return best
    nearby = nearest_formats(header, formats)
    hint = "; `campaign-monitor inspect FILE` writes a [[formats]] entry for it"
    if not nearby:
        raise ExportFormatError(
            # The header itself is not quoted: a file rejected whole may hold anything (a secret).
            f"{prefix}no known export format matches its {len(header)} column(s); "
            f"known formats: {', '.join(format_names(formats))}{hint}"
        )
    near = nearby[0]
    raise ExportFormatError(
        f"{prefix}no known export format matches its columns; nearest is {near.format.title} "
        f"({near.format.name}), missing columns: {', '.join(near.missing)}{hint}"
    )


# ---------------------------------------------------------------------------------------------------------
# Keys

_FB_URL_KEY = re.compile(r"/(?:posts|permalink|videos|reel|reels|photos/[^/]+)/([\w.-]+)")
_FB_QUERY_KEY = re.compile(r"[?&](?:story_fbid|fbid|v)=([\w.-]+)")
_FB_BARE_KEY = re.compile(r"(?:\d+_)?(\d+|pfbid\w+)")  # <post>, <page>_<post>, pfbid0...
_IG_SHORTCODE = re.compile(r"/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)")
_TWEET_URL = re.compile(r"/status(?:es)?/(\d+)")
_TWEET_HANDLE = re.compile(r"(?:twitter|x)\.com/([A-Za-z0-9_]+)/status")
_IG_CODE = re.compile(r"[A-Za-z0-9_-]{5,}")
_TIKTOK_URL = re.compile(r"/(?:video|photo)/(\d+)")
_TIKTOK_HANDLE = re.compile(r"tiktok\.com/@([\w.-]+)/(?:video|photo)/")
_THREADS_URL = re.compile(r"/post/([A-Za-z0-9_-]+)")
_THREADS_HANDLE = re.compile(r"threads\.(?:net|com)/@([\w.]+)/post/")


def facebook_post_key(value: str) -> str:
    """The post id of a Facebook post: `<page>_<post>` -> `<post>`, a bare id as it is, or from a
    post link (`/posts/<id>`, `/permalink/<id>`, `/videos/<id>`, `/reel/<id>`, `/photos/.../<id>`,
    `?story_fbid=`, `?fbid=`, `?v=`, or `facebook.com/<numeric id>` as Meta Business Suite writes it).

    A page, profile or share link is a reject: its last segment names an account, and taking it as a
    key would merge every post of that account into one.
    """
    text = value.strip()
    if text.isdigit():
        return text
    if "/" not in text:
        bare = _FB_BARE_KEY.fullmatch(text)
        if bare:
            return bare.group(1)
        raise RowError(f"not a Facebook post id: {value!r}")
    match = _FB_URL_KEY.search(text) or _FB_QUERY_KEY.search(text)
    if match:
        return match.group(1)
    path = text.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in path.split("/")[1:] if s]  # after the host
    if len(segments) == 1 and (bare := _FB_BARE_KEY.fullmatch(segments[0])):
        return bare.group(1)
    kind = "a share link" if "share" in segments else "a page link"
    raise RowError(
        f"{value!r} is {kind}, not a post link (a post link has /posts/<id>, /permalink/<id>, "
        "/videos/<id>, /reel/<id> or ?story_fbid=<id>)"
    )


def instagram_shortcode(value: str) -> str:
    """The shortcode of an Instagram link (`/p/<code>/`, `/reel/<code>/`) or a bare shortcode."""
    text = value.strip()
    match = _IG_SHORTCODE.search(text)
    if match:
        return match.group(1)
    if "/" not in text and _IG_CODE.fullmatch(text) and not text.isdigit():
        return text
    raise RowError(f"no Instagram shortcode in {value!r} (need a /p/<code>/ or /reel/<code>/ link)")


def tweet_id(value: str) -> str:
    """A tweet id, bare or from a `/status/<id>` link."""
    text = value.strip()
    if text.isdigit():
        return text
    match = _TWEET_URL.search(text)
    if match:
        return match.group(1)
    raise RowError(f"not a tweet id: {value!r}")


def tiktok_video_id(value: str) -> str:
    """A TikTok video id (19 digits), bare or from a `/@<user>/video/<id>` (or `/photo/<id>`) link.

    Short links (`vt.tiktok.com/<code>/`) carry no id: they are a reject, not a guess.
    """
    text = value.strip()
    if text.isdigit():
        return text
    match = _TIKTOK_URL.search(text)
    if match:
        return match.group(1)
    raise RowError(f"no TikTok video id in {value!r} (need a /@<user>/video/<id> link)")


def threads_post_code(value: str) -> str:
    """A Threads post code, bare or from a `threads.com/@<user>/post/<code>` (or threads.net) link."""
    text = value.strip()
    match = _THREADS_URL.search(text)
    if match:
        return match.group(1)
    if "/" not in text and _IG_CODE.fullmatch(text) and not text.isdigit():
        return text
    raise RowError(f"no Threads post code in {value!r} (need a /@<user>/post/<code> link)")


KEY_READERS: dict[str, Callable[[str], str]] = {
    "facebook": facebook_post_key,
    "instagram": instagram_shortcode,
    "twitter": tweet_id,
    "tiktok": tiktok_video_id,
    "threads": threads_post_code,
}


def handle_in_permalink(url: str) -> str | None:
    """The account in a post link: `twitter.com/<handle>/status/<id>`, `tiktok.com/@<handle>/video/<id>`,
    `threads.com/@<handle>/post/<code>`."""
    for pattern in (_TWEET_HANDLE, _TIKTOK_HANDLE, _THREADS_HANDLE):
        match = pattern.search(url)
        if match:
            return match.group(1)
    return None


def post_link(platform: str, key: str, handle: str | None = None) -> str | None:
    """A working link to a post from its key, for sources that give none (twarc rows, bare ids).
    None for a source's own id (`mcl:<id>`), which no public link reaches."""
    if ":" in key:
        return None
    if platform == "twitter":
        return f"https://x.com/{handle or 'i/web'}/status/{key}"
    if platform == "facebook":
        return f"https://www.facebook.com/{key}"  # as Meta Business Suite writes its permalinks
    if platform == "instagram":
        return f"https://www.instagram.com/p/{key}/"
    if platform == "tiktok":
        return f"https://www.tiktok.com/@{handle or ''}/video/{key}"  # as collectors/links.py writes it
    if platform == "threads" and handle:
        return f"https://www.threads.com/@{handle}/post/{key}"
    return None


# The host of a post link -> its platform (a KIM sheet mixing FB/IG/X links: platform = "from-link").
LINK_HOSTS = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.watch": "facebook",
    "instagram.com": "instagram",
    "instagr.am": "instagram",  # Instagram's short domain, as collectors.links reads it
    "twitter.com": "twitter",
    "x.com": "twitter",
    "tiktok.com": "tiktok",
    "threads.net": "threads",
    "threads.com": "threads",
}


def platform_of_link(link: str) -> str | None:
    """The platform a post link belongs to (by its host), or None."""
    host = link.strip().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].lower()
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    for known, platform in LINK_HOSTS.items():
        if host == known or host.endswith("." + known):
            return platform
    return None


def key_from_link(link: str) -> tuple[str, str]:
    """(platform, post key) of a post link of any platform we read (RowError otherwise)."""
    platform = platform_of_link(link)
    if platform is None:
        raise RowError(
            f"{link.strip()[:80]!r} is not a link to a Facebook, Instagram, X, TikTok or Threads post"
        )
    reader = KEY_READERS.get(platform)
    if reader is None:
        raise RowError(f"{platform} links are not imported yet: {link.strip()[:80]!r}")
    return platform, reader(link)


# ---------------------------------------------------------------------------------------------------------
# Row mapping


def row_key(fmt: ExportFormat, header: Sequence[str]) -> Callable[[list[str]], tuple[str, str] | None]:
    """(platform, post key) of a row when its key cell (or link) can be read, else None: a rejected
    row keeps it, so that a later clean import of the post resolves the reject."""
    folded = [h.casefold() for h in header]

    def index(ref: Column | None) -> int | None:
        for name in () if ref is None else (ref,) if isinstance(ref, str) else ref:
            if name.casefold() in folded:
                return folded.index(name.casefold())
        return None

    cells = [i for i in (index(fmt.key), index(fmt.key_fallback)) if i is not None]

    def key_of(row: list[str]) -> tuple[str, str] | None:
        for i in cells:
            value = row[i].strip() if i < len(row) else ""
            if not value or is_mangled(value):
                continue
            try:
                if fmt.platform == FROM_LINK:
                    return key_from_link(value)
                return fmt.platform, KEY_READERS[fmt.platform](value)
            except (RowError, KeyError):
                continue
        return None

    return key_of


def row_mapper(
    fmt: ExportFormat,
    header: Sequence[str],
    local_zone: dt.tzinfo,
    date_order: str | None = None,
    *,
    zones: Mapping[str, dt.tzinfo] | None = None,
    damaged: Counter[str] | None = None,
) -> Callable[[list[str]], PostRecord]:
    """A function from one record of a file with this header to a PostRecord (RowError: reject it).

    Column positions are resolved once per file, so the per-row work is only reading cells. A name
    that occurs twice in the header means its first column (as ExportFile.column). `zones` adds
    abbreviations to the built-in ones (config [zones]); `damaged`, when given, counts per column the
    Excel-mangled values that were read from elsewhere or stored as unknown.
    """
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        index.setdefault(h.casefold(), i)

    def col(ref: Column | None) -> int | None:
        if ref is None:
            return None
        for name in (ref,) if isinstance(ref, str) else ref:
            if name.casefold() in index:
                return index[name.casefold()]
        return None

    def name_of(ref: Column) -> str:
        i = col(ref)
        return header[i] if i is not None else (ref if isinstance(ref, str) else ref[0])

    key_i = col(fmt.key)
    time_i = col(fmt.time)
    if key_i is None or time_i is None:
        raise ExportFormatError(f"{fmt.name}: the header lacks {fmt.key!r} or {fmt.time!r}")
    key_name, time_name = header[key_i], header[time_i]
    fallback_i = col(fmt.key_fallback)
    from_link = fmt.platform == FROM_LINK
    read_key = (
        _own_id(fmt.key_prefix) if fmt.key_prefix else KEY_READERS.get(fmt.platform, instagram_shortcode)
    )  # unused with from_link

    text_is = [i for i in (col(c) for c in fmt.text) if i is not None]
    url_i, id_i, handle_i, name_i = (
        col(fmt.url),
        col(fmt.author_id),
        col(fmt.author_handle),
        col(fmt.author_name),
    )
    # What the summary says about Excel damage (see `damaged`); used only when the column is there.
    key_damage = f"{key_name}: the post key was read from {name_of(fmt.key_fallback or key_name)}"
    id_damage = f"{name_of(fmt.author_id or '')}: stored as unknown, the handle or name still says who"
    tags_i, repost_i = col(fmt.hashtag_list), col(fmt.repost)
    tags_name = header[tags_i] if tags_i is not None else ""
    prefix = fmt.hashtag_columns.casefold() if fmt.hashtag_columns else None
    tag_columns = [i for i, h in enumerate(header) if prefix and h.casefold().startswith(prefix)]
    negative_unknown = fmt.negative_unknown
    observed_i = col(fmt.observed)

    def metric(refs: tuple[Column, ...]) -> list[tuple[int, str]]:
        return [(i, name_of(r)) for r in refs if (i := col(r)) is not None]

    likes, comments, shares, views = (
        metric(fmt.likes),
        metric(fmt.comments),
        metric(fmt.shares),
        metric(fmt.views),
    )
    order = date_order or fmt.date_order
    zone_map = zone_table(zones)
    time_format = fmt.time_format
    platform, source, unescape = fmt.platform, fmt.name, fmt.escaped_newlines
    from_url = fmt.handle_from_url
    counts = damaged if damaged is not None else Counter()

    def total(cells: list[tuple[int, str]], row: list[str]) -> int | None:
        """The sum of a metric's cells (CrowdTangle's seven reactions are one metric); None: unknown."""
        result: int | None = None
        for i, name in cells:
            value = row[i]
            if negative_unknown and value.strip() == "-1":
                continue  # hidden by the owner: unknown, not a count
            if value.isdigit():
                n: int | None = int(value)
            else:
                try:
                    n = parse_count(value)
                except RowError as exc:
                    raise RowError(f"{name}: {exc}") from None
            if n is not None:
                result = n if result is None else result + n
        if result is not None and result > MAX_COUNT:
            raise RowError(f"{' + '.join(name for _, name in cells)}: {result} is too large for a count")
        return result

    def summer(cells: list[tuple[int, str]]) -> Callable[[list[str]], int | None]:
        """`total` for these cells, with a fast path for bare counts (the common case: this runs for
        every metric of every row). 12 digits in all cannot add up to MAX_COUNT (10^12)."""
        if not cells:
            return lambda row: None
        if len(cells) == 1:
            i = cells[0][0]

            def one(row: list[str]) -> int | None:
                value = row[i]
                return int(value) if value.isdigit() and len(value) <= 12 else total(cells, row)

            return one
        cell_values = itemgetter(*(i for i, _ in cells))

        def many(row: list[str]) -> int | None:
            values = cell_values(row)
            joined = "".join(values)
            if joined.isdigit() and len(joined) <= 12:
                try:
                    return sum(map(int, values))
                except ValueError:  # an empty cell among digits
                    pass
            return total(cells, row)

        return many

    likes_of, comments_of, shares_of, views_of = (
        summer(likes),
        summer(comments),
        summer(shares),
        summer(views),
    )

    def opt(i: int | None, row: list[str]) -> str | None:
        if i is None:
            return None
        value = row[i].strip()
        return value or None

    def post_key(row: list[str]) -> str:
        raw_key = row[key_i].strip()
        if not raw_key:
            raise RowError(f"{key_name} is empty")
        if not is_mangled(raw_key):
            return read_key(raw_key)
        # Excel turned the id into 1,22158E+17; an intact link column still holds it.
        if fallback_i is not None and row[fallback_i].strip() and not is_mangled(row[fallback_i]):
            counts[key_damage] += 1
            return read_key(row[fallback_i])
        raise RowError(mangled_message(key_name, raw_key))

    def linked_key(row: list[str]) -> tuple[str, str]:
        """(platform, key) from the row's link (platform = "from-link")."""
        raw_key = row[key_i].strip()
        if not raw_key:
            raise RowError(f"{key_name} is empty")
        if "/" not in raw_key and fallback_i is not None and row[fallback_i].strip():
            raw_key = row[fallback_i].strip()  # a bare id: the link column says the platform
        if is_mangled(raw_key):
            raise RowError(mangled_message(key_name, raw_key))
        return key_from_link(raw_key)

    def to_record(row: list[str]) -> PostRecord:
        if from_link:
            row_platform, key = linked_key(row)
        else:
            row_platform, key = platform, post_key(row)
        raw_time = row[time_i]
        try:
            if time_format:
                created = strptime_time(raw_time, time_format, local_zone)
            else:
                created = parse_time(raw_time, local_zone, order, zone_map)
        except RowError as exc:
            raise RowError(f"{time_name}: {exc}") from None
        text = None
        for i in text_is:
            if row[i].strip():
                text = row[i]
                break
        if text is not None and unescape:
            text = text.replace("\\n", "\n")
        url = opt(url_i, row)
        handle = opt(handle_i, row)
        if handle is None and from_url and url:
            handle = handle_in_permalink(url)
        if handle:
            handle = handle.lstrip("@")
        if url is None:
            cell = row[key_i].strip()
            url = cell if cell.startswith(("https://", "http://")) else post_link(row_platform, key, handle)
        observed = None
        if observed_i is not None and row[observed_i].strip():
            try:
                observed = parse_time(row[observed_i], dt.UTC, order, zone_map)
            except RowError as exc:
                raise RowError(f"{header[observed_i]}: {exc}") from None
        author_id = opt(id_i, row)
        if author_id is not None and is_mangled(author_id):
            counts[id_damage] += 1  # unknown rather than wrong
            author_id = None
        extra: list[str] = []
        if tags_i is not None and row[tags_i].strip():
            extra = _tag_list(row[tags_i], tags_name)
        if tag_columns:
            extra += [row[i] for i in tag_columns if row[i].strip()]
        return PostRecord(
            platform=row_platform,
            post_key=key,
            created_at=created,
            source=source,
            text=text,
            url=url,
            author_id=author_id,
            author_handle=handle,
            author_name=opt(name_i, row),
            likes=likes_of(row),
            comments=comments_of(row),
            shares=shares_of(row),
            views=views_of(row),
            is_repost=repost_i is not None and bool(row[repost_i].strip()),
            hashtags=collect_hashtags(text, extra),
            observed_at=observed,
        )

    return to_record


def _own_id(prefix: str) -> Callable[[str], str]:
    """A key that is the source's own id (Meta Content Library's), kept apart by its prefix."""

    def read(value: str) -> str:
        text = value.strip()
        if not re.fullmatch(r"[\w-]+", text):
            raise RowError(f"not an id: {value!r}")
        return prefix + text

    return read


def _tag_list(cell: str, column: str = "entities.hashtags") -> list[str]:
    """twarc's `["#WeLoveCities", ...]`, the Content Library's `['WeLoveCities', ...]` (a Python
    list as text); a plain `#a #b` or `a, b` cell also works."""
    text = cell.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: thousands of nested [ in one cell
            try:
                values = ast.literal_eval(text) if len(text) < 10_000 else None
            except (ValueError, SyntaxError, RecursionError, MemoryError):
                values = None
            if not isinstance(values, list):
                raise RowError(f"{column} is not a JSON list: {cell[:60]!r}") from None
        return [str(v) for v in values if isinstance(v, str)]
    found = hashtags_in(text)
    return list(found) if found else [t for t in re.split(r"[\s,;]+", text) if t]
