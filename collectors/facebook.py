"""Facebook Graph API page posts (`GET /{page-id}/posts`) -> PostRecords, one page at a time.

Facebook has no hashtag search, so this reads the posts of the pages the team names (the city's and
its partners'); the hashtag rule then decides which are campaign posts. Only posts of the campaign
window are asked for (`since` the start, `until` a day after the end), so neither a page's older
history nor, after the campaign, everything it posts later is paged through every hour.
Metrics: likes = all reactions (`reactions.summary.total_count`), comments = `comments.summary`,
shares = `shares.count`. The API omits `shares` for a post nobody shared, so an absent `shares` is
stored as 0 (the zero is known), unlike Instagram's hidden likes, which are unknown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from collectors.graph import as_count, follow_pages, parse_graph_time
from collectors.http import ApiPage, item_problem
from monitor.config import FacebookConfig
from monitor.records import PostRecord, collect_hashtags

SOURCE = "facebook_api"
POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
PAGE_SIZE = 100
# https://www.facebook.com/<name>/posts/<id>: the page's vanity name, when the link has one.
HANDLE = re.compile(r"facebook\.com/([A-Za-z0-9.\-_]+)/posts/")


def page_posts(
    session: requests.Session,
    cfg: FacebookConfig,
    token: str,
    page_id: str,
    since: dt.datetime,
    until: dt.datetime | None = None,
) -> Iterator[ApiPage]:
    """The posts of one Facebook page published from `since` until before `until`, a page at a time."""
    url = f"{cfg.api_base}/{page_id}/posts"
    params: dict[str, Any] = {"fields": POST_FIELDS, "limit": PAGE_SIZE, "since": int(since.timestamp())}
    if until is not None:
        params["until"] = int(until.timestamp())
    for where, data in follow_pages(session, url, params, token, cfg.api_base, SOURCE, cfg.token_env):
        page = ApiPage(url=where)
        for post in data.get("data") or []:
            page.add(post, post_record(post, page_id))
        yield page


def post_key(post_id: str) -> str:
    """`<page>_<post>` -> `<post>` (DESIGN 5), the key CSV exports give the same post."""
    return post_id.rsplit("_", 1)[-1]


def post_record(post: Any, page_id: str) -> PostRecord | str:
    """Map one Graph page post; a reason string when it cannot be stored."""
    problem = item_problem(post, ("id", "message", "permalink_url"))
    if problem:
        return problem
    raw_id = str(post.get("id") or "")
    if not raw_id:
        return "post without id"
    created = parse_graph_time(post.get("created_time"))
    if created is None:
        return f"unreadable created_time {post.get('created_time')!r}"
    permalink = post.get("permalink_url")
    match = HANDLE.search(permalink or "")
    handle = match.group(1) if match and not match.group(1).isdigit() else None
    message = post.get("message")  # absent for posts without text
    owner = raw_id.split("_", 1)[0] if "_" in raw_id else page_id
    shares = post.get("shares")
    return PostRecord(
        platform="facebook",
        post_key=post_key(raw_id),
        created_at=created,
        source=SOURCE,
        text=message,
        url=permalink,
        author_id=owner,
        author_handle=handle,
        likes=_summary_count(post, "reactions") if "reactions" in post else _summary_count(post, "likes"),
        comments=_summary_count(post, "comments"),
        shares=as_count(shares.get("count")) if isinstance(shares, Mapping) else 0,
        hashtags=collect_hashtags(message),
    )


def _summary_count(post: Mapping[str, Any], edge: str) -> int | None:
    value = post.get(edge)
    if not isinstance(value, Mapping):
        return None
    summary = value.get("summary")
    return as_count(summary.get("total_count")) if isinstance(summary, Mapping) else None
