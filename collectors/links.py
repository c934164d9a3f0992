"""A post link as a member sent it -> the platform and the post key the store uses (DESIGN 5).

Members paste links in every style (FORMATS-2026 §0.1, §6, §10e): with share-tracking parameters
(`?igsh=`, `?s=46&t=`, `?utm_*`), from the mobile sites, with the account in the path, or as the apps'
short links. `resolve_link` reads the key from the path only (the query is never trusted, except for
Facebook's `story_fbid=`/`fbid=`/`v=`, which *are* the key) and builds a canonical URL from it, so the
tracking parameters are gone. A link that names no post (a profile, a story, another site) is refused
with the reason, in words a coordinator can pass on.

Short links (`vt.tiktok.com`, `vm.tiktok.com`, `tiktok.com/t/`, `fb.watch`, `facebook.com/share/...`,
`t.co`) carry no id: they are resolved by following their redirect when the caller gives an `expand`
function (`expand_short_link` with a collector session), and refused with the reason otherwise.

The key readers of the CSV formats (collectors/csv_formats.py) are reused for Facebook, Instagram and X,
so a submitted link and an exported row of the same post meet on the same key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests

from collectors.csv_formats import facebook_post_key, instagram_shortcode, tweet_id
from collectors.csv_reader import RowError

PLATFORM_TITLES = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "twitter": "X/Twitter",
    "tiktok": "TikTok",
    "threads": "Threads",
}
HOSTS = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "instagr.am": "instagram",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "tiktok.com": "tiktok",
    "threads.net": "threads",
    "threads.com": "threads",
}
HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.", "touch.", "l.", "lm.")
# Hosts whose links are only a redirect to the post.
SHORT_HOSTS = {
    "vt.tiktok.com": "tiktok",
    "vm.tiktok.com": "tiktok",
    "fb.watch": "facebook",
    "fb.me": "facebook",
    "t.co": "twitter",
}

# Every http(s) link in a text (and www. links typed without the scheme); WhatsApp's edit marker,
# bidi marks and closing punctuation are not part of it (FORMATS-2026 §10e).
_LINK = re.compile(r"(?:https?://|(?<![\w./])www\.)[^\s<>\"'\u200e\u200f\u202a-\u202e]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"\u200e"
_TIKTOK_VIDEO = re.compile(r"^/@([\w.-]+)/(?:video|photo)/(\d{6,25})/?$")
_TIKTOK_MOBILE = re.compile(r"^/v/(\d{6,25})(?:\.html)?/?$")
_THREADS_POST = re.compile(r"^/@([\w.]+)/post/([A-Za-z0-9_-]+)/?$")
_THREADS_T = re.compile(r"^/t/([A-Za-z0-9_-]+)/?$")


class LinkRefused(ValueError):
    """A link that names no post we can count; str() is the reason, ready to show to a member."""


@dataclass(frozen=True)
class PostLink:
    """The post a link points at: platform, native key (DESIGN 5) and a canonical URL without
    tracking parameters."""

    platform: str
    post_key: str
    url: str

    @property
    def title(self) -> str:
        return PLATFORM_TITLES[self.platform]


def links_in(text: str | None) -> list[str]:
    """Every link in a message or a form cell, in order, without trailing punctuation; several may
    be separated by spaces, commas or new lines."""
    found = []
    for match in _LINK.finditer(text or ""):
        link = match.group(0).rstrip(_TRAILING)
        if link.lower().startswith("www."):
            link = "https://" + link
        if link:
            found.append(link)
    return found


def site(host: str) -> str:
    """`www.m.facebook.com` -> `facebook.com`: the host without www/mobile prefixes, lower case."""
    host = host.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") > 1:
                host, changed = host[len(prefix) :], True
    return host


def is_platform_link(url: str) -> bool:
    """A link to one of the five platforms (a post or not), or one of their short links."""
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return host in SHORT_HOSTS or site(host) in HOSTS


def is_short_link(url: str) -> bool:
    """A link that is only a redirect to a post (no post id inside)."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host in SHORT_HOSTS:
        return True
    name = site(host)
    if name == "tiktok.com" and segments[:1] == ["t"]:
        return True
    return name in ("facebook.com", "fb.com") and segments[:1] == ["share"]


def resolve_link(url: str, expand: Callable[[str], str] | None = None) -> PostLink:
    """The post `url` points at, or LinkRefused with the reason.

    `expand(url) -> final url` follows a short link's redirect; without it a short link is refused
    with a note on how to send the full link.
    """
    link = url.strip().strip("<>")
    if is_short_link(link):
        if expand is None:
            raise LinkRefused(
                f"{_short_name(link)} has no post id in it: open it and send the full link from the "
                "browser's address bar"
            )
        try:
            target = expand(link)
        except LinkRefused:
            raise
        except Exception as exc:  # a network error, a login wall: the member can still send the full link
            raise LinkRefused(
                f"the short link {_host(link)} could not be opened ({type(exc).__name__}); send the full link"
            ) from None
        if is_short_link(target):
            raise LinkRefused(f"the short link {_host(link)} did not lead to a post; send the full link")
        return resolve_link(target)
    parts = urlsplit(link if "://" in link else "https://" + link)
    if parts.scheme.lower() not in ("http", "https"):
        raise LinkRefused(f"{link[:60]!r} is not a web link")
    host = site(parts.hostname or "")
    platform = HOSTS.get(host)
    if platform is None:
        raise LinkRefused(
            f"{host or 'this'} is not Facebook, Instagram, X, TikTok or Threads: send the link of the post"
        )
    path = parts.path or "/"
    try:
        return _READERS[platform](link, path, parts.query)
    except RowError as exc:
        raise LinkRefused(str(exc)) from None


def _short_name(url: str) -> str:
    host = _host(url)
    if site(host) in ("facebook.com", "fb.com"):
        return "a Facebook share link (facebook.com/share/...)"
    return f"a short link ({host})"


def _host(url: str) -> str:
    return (urlsplit(url if "://" in url else "https://" + url).hostname or url).lower()


def _facebook(link: str, path: str, query: str) -> PostLink:
    segments = [s for s in path.split("/") if s]
    if segments[:1] == ["stories"]:
        raise LinkRefused("a Facebook story is not a post: send the link of the post")
    key = facebook_post_key(link)
    return PostLink("facebook", key, f"https://www.facebook.com/{key}")


def _instagram(link: str, path: str, query: str) -> PostLink:
    segments = [s for s in path.split("/") if s]
    if segments[:1] == ["stories"]:
        raise LinkRefused("an Instagram story is not a post: send the link of the post or reel")
    if not any(s in ("p", "reel", "reels", "tv") for s in segments[:2]):
        raise LinkRefused(
            f"{link[:80]} is an Instagram profile or page, not a post (a post link has /p/ or /reel/)"
        )
    code = instagram_shortcode(path)
    return PostLink("instagram", code, f"https://www.instagram.com/p/{code}/")


def _twitter(link: str, path: str, query: str) -> PostLink:
    if "/status" not in path:
        raise LinkRefused(f"{link[:80]} is an X profile or page, not a post (a post link has /status/)")
    key = tweet_id(path)
    return PostLink("twitter", key, f"https://x.com/i/web/status/{key}")


def _tiktok(link: str, path: str, query: str) -> PostLink:
    match = _TIKTOK_VIDEO.match(path)
    if match:
        user, key = match.groups()
        return PostLink("tiktok", key, f"https://www.tiktok.com/@{user}/video/{key}")
    mobile = _TIKTOK_MOBILE.match(path)
    if mobile:
        key = mobile.group(1)
        return PostLink("tiktok", key, f"https://www.tiktok.com/@/video/{key}")
    raise LinkRefused(f"{link[:80]} is a TikTok profile or page, not a video (a video link has /video/)")


def _threads(link: str, path: str, query: str) -> PostLink:
    match = _THREADS_POST.match(path)
    if match:
        user, code = match.groups()
        return PostLink("threads", code, f"https://www.threads.com/@{user}/post/{code}")
    short = _THREADS_T.match(path)
    if short:
        return PostLink("threads", short.group(1), f"https://www.threads.com/t/{short.group(1)}")
    raise LinkRefused(f"{link[:80]} is a Threads profile or page, not a post (a post link has /post/)")


_READERS: dict[str, Callable[[str, str, str], PostLink]] = {
    "facebook": _facebook,
    "instagram": _instagram,
    "twitter": _twitter,
    "tiktok": _tiktok,
    "threads": _threads,
}


def expand_short_link(session: requests.Session, url: str, timeout: tuple[float, float] = (5.0, 15.0)) -> str:
    """Follow a short link's redirects (HEAD, then GET when the server refuses HEAD) and return the
    address it ends at. Raises requests exceptions; the caller refuses the link with the reason."""
    response = session.head(url, allow_redirects=True, timeout=timeout)
    if response.status_code in (403, 405) or response.url == url:
        response = session.get(url, allow_redirects=True, timeout=timeout, stream=True)
        response.close()
    final = str(response.url)
    if "login" in urlsplit(final).path.lower():
        # Facebook sends logged-out visitors to a login page that carries the post in `next=`.
        nxt = parse_qs(urlsplit(final).query).get("next", [""])[0]
        if nxt:
            return nxt
        raise LinkRefused("the short link leads to a login page; send the full link of the post")
    return final


@dataclass(frozen=True)
class SubmittedMessage:
    """One message or form answer that may carry post links, as a channel gave it.

    `origin` identifies it within its channel (a form row's content, a chat export's minute, sender
    and text, a Telegram chat and message id), so reading the same answer again is recognised.
    `submitted_at` is aware. `line` is where it starts in the file (None for the bot).
    """

    origin: str
    via: str  # form | whatsapp | telegram
    sender: str  # as the channel names them: a form's name cell, a WhatsApp display name or number
    submitted_at: dt.datetime
    text: str
    links: tuple[str, ...]
    line: int | None = None
    sender_keys: tuple[str, ...] = ()  # how the roster's contact columns may name this sender


def day_month_order(pairs: Iterable[tuple[int, int]]) -> str | None:
    """The date order of a file from its (first, second) date fields: "dmy" when a first field is
    above 12, "mdy" when a second one is, None when every date fits both (FORMATS-2026 §10b)."""
    first_big = second_big = False
    for a, b in pairs:
        first_big = first_big or a > 12
        second_big = second_big or b > 12
    if first_big and not second_big:
        return "dmy"
    if second_big and not first_big:
        return "mdy"
    return None


def local_time(
    fields: tuple[int, int, int], order: str, clock: tuple[int, int, int], ampm: str | None, tz: dt.tzinfo
) -> dt.datetime:
    """An aware local time from date fields in `order` ("dmy", "mdy" or "ymd"), hour, minute,
    second and an optional AM/PM marker. Raises ValueError for an impossible date."""
    a, b, c = fields
    if order == "ymd":
        year, month, day = a, b, c
    elif order == "mdy":
        month, day, year = a, b, c
    else:
        day, month, year = a, b, c
    if year < 100:
        year += 2000
    hour, minute, second = clock
    if ampm:
        marker = ampm.lower()
        if hour > 12 or hour == 0:
            raise ValueError(f"{hour} is not a 12-hour clock hour")
        hour = (0 if hour == 12 else hour) + (12 if marker.startswith("p") else 0)
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=tz)
