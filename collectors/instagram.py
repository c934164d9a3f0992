"""Instagram Graph API hashtag search -> PostRecords, one page at a time.

For each tracked hashtag: look up its id once (`ig_hashtag_search`; ids are static, so they are cached
in the checkpoint, which also protects the limit of 30 new hashtags per account per 7 days), then
read `top_media` and `recent_media` (the last 24 hours only), following `paging.next`.
The key is the shortcode from the permalink, so the same media found under both hashtags or both
lists, or in a CSV export, is one post. `like_count` is omitted when the owner hides likes: stored as
unknown (NULL), not 0. Hashtag media has no author (the API does not give `username`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from collectors.graph import as_count, follow_pages, graph_error, parse_graph_time
from collectors.http import ApiError, ApiPage, describe_url, get_json, item_problem, page_field
from monitor.config import InstagramConfig
from monitor.errors import SourceError
from monitor.records import PostRecord, collect_hashtags, normalize_tag

log = logging.getLogger(__name__)

SOURCE = "instagram_api"
MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,like_count,comments_count"
EDGES = ("top_media", "recent_media")
NEW_HASHTAGS_PER_WEEK = 30
SHORTCODE = re.compile(r"instagram\.com/(?:[^/?#]+/)?(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)")


def shortcode(permalink: str | None) -> str | None:
    """`C9AbCdEfGhI` from https://www.instagram.com/p/C9AbCdEfGhI/ (also /reel/ and /tv/)."""
    match = SHORTCODE.search(permalink or "")
    return match.group(1) if match else None


def hashtag_pages(
    session: requests.Session,
    cfg: InstagramConfig,
    token: str,
    hashtags: tuple[str, ...],
    state: Mapping[str, Any],
    *,
    now: dt.datetime,
) -> Iterator[ApiPage]:
    """One pass over the tracked hashtags; every page carries the checkpoint (hashtag ids) to save."""
    ids: dict[str, str] = dict(state.get("hashtag_ids") or {})
    searched: dict[str, str] = dict(state.get("searched") or {})
    for written in hashtags:
        tag = normalize_tag(written)
        if tag not in ids:
            _check_weekly_budget(searched, now)
            page, found = _search_hashtag(session, cfg, token, written)
            searched[tag] = now.isoformat(timespec="seconds")
            if found:
                ids[tag] = found
            page.checkpoint = _state(ids, searched)
            yield page
            if not found:
                log.warning("instagram_api: Instagram knows no hashtag #%s; skipped", written)
                continue
        for edge in EDGES:
            url = f"{cfg.api_base}/{ids[tag]}/{edge}"
            params = {"user_id": cfg.user_id, "fields": MEDIA_FIELDS, "limit": 50}
            for where, data in follow_pages(session, url, params, token, cfg.api_base, SOURCE, cfg.token_env):
                page = ApiPage(url=where, checkpoint=_state(ids, searched))
                for media in data.get("data") or []:  # follow_pages checked that it is a list
                    page.add(media, media_record(media, tag))
                yield page


def _state(ids: dict[str, str], searched: dict[str, str]) -> dict[str, Any]:
    return {"hashtag_ids": dict(ids), "searched": dict(searched)}


def _check_weekly_budget(searched: Mapping[str, str], now: dt.datetime) -> None:
    week_ago = now - dt.timedelta(days=7)
    recent = [t for t, at in searched.items() if dt.datetime.fromisoformat(at) > week_ago]
    if len(recent) >= NEW_HASHTAGS_PER_WEEK:
        raise SourceError(
            f"{SOURCE}: {len(recent)} new hashtags were looked up in the last 7 days; Instagram allows "
            f"{NEW_HASHTAGS_PER_WEEK}. Track fewer hashtags or wait a week"
        )


def _search_hashtag(
    session: requests.Session, cfg: InstagramConfig, token: str, tag: str
) -> tuple[ApiPage, str | None]:
    url = f"{cfg.api_base}/ig_hashtag_search"
    params = {"user_id": cfg.user_id, "q": tag.lstrip("#"), "access_token": token}
    try:
        answer = get_json(session, url, params, secrets=[token])
    except ApiError as exc:
        raise graph_error(exc, SOURCE, cfg.token_env) from None
    where = describe_url(url)
    data = page_field(answer, "data", list, where) or []
    found = str(data[0]["id"]) if data and isinstance(data[0], dict) and data[0].get("id") else None
    # A look-up lists no posts: stored for the checkpoint (the hashtag id), not counted as a page.
    return ApiPage(url=where, of_posts=False), found


def media_record(media: Any, searched_tag: str) -> PostRecord | str:
    """Map one hashtag-search media item; a reason string when it cannot be stored."""
    problem = item_problem(media, ("permalink", "caption"))
    if problem:
        return problem
    permalink = media.get("permalink")
    code = shortcode(permalink)
    if not code:
        return f"no Instagram permalink with a shortcode: {permalink!r}"
    created = parse_graph_time(media.get("timestamp"))
    if created is None:
        return f"unreadable timestamp {media.get('timestamp')!r}"
    caption = media.get("caption")
    return PostRecord(
        platform="instagram",
        post_key=code,
        created_at=created,
        source=SOURCE,
        text=caption,
        url=permalink,
        likes=as_count(media.get("like_count")),  # omitted when the owner hides likes: unknown
        comments=as_count(media.get("comments_count")),
        # The search matched this tag (also when it sits in the owner's first comment, not the caption).
        hashtags=collect_hashtags(caption, [searched_tag]),
    )
