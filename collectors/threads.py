"""Threads API keyword search -> PostRecords, one page at a time (FORMATS-2026.md 4a).

For each tracked hashtag: `GET /keyword_search?q=<tag>&search_mode=TAG&search_type=RECENT` with
`since`/`until` (unix seconds), following the paging cursor. The checkpoint remembers, per tag, up to
when the search is complete (the next pass asks only for newer posts) and, while a listing is under
way, its cursor and window (a 429 or a failing page mid-listing resumes there, nothing skipped).

Meta allows 2,200 queries per user per rolling 24 hours (empty answers don't count, but we cannot
tell beforehand): every request is counted in the checkpoint, and a pass that would exceed
`daily_queries` stops as rate-limited until the oldest counted query is 24 hours old.

What the search gives: id, text, permalink, timestamp, username, topic tag; **no like/reply counts**
(insights exist only for the token owner's own posts). Without Meta's app review for
`threads_keyword_search` it finds only the token owner's own posts (docs/sources.md says so).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from collectors.graph import MAX_PAGES, graph_error, parse_graph_time
from collectors.http import ApiError, ApiPage, describe_url, get_json, item_problem, page_field
from monitor.config import ThreadsConfig
from monitor.errors import RateLimited, SourceError
from monitor.records import PostRecord, collect_hashtags, normalize_tag

SOURCE = "threads_api"
FIELDS = "id,text,media_type,permalink,timestamp,username,shortcode,topic_tag,is_quote_post"
PAGE_LIMIT = 100
DAY = dt.timedelta(hours=24)
PERMALINK_CODE = re.compile(r"threads\.(?:net|com)/@[^/]+/post/([A-Za-z0-9_-]+)")


def post_code(media: Mapping[str, Any]) -> str | None:
    """The post code: `shortcode`, else the `/post/<code>` of the permalink."""
    code = media.get("shortcode")
    if isinstance(code, str) and code:
        return code
    match = PERMALINK_CODE.search(str(media.get("permalink") or ""))
    return match.group(1) if match else None


def media_record(media: Any, searched_tag: str | None) -> PostRecord | str:
    """Map one search result; a reason string when it cannot be stored."""
    problem = item_problem(media, ("text", "permalink", "username", "topic_tag"))
    if problem:
        return problem
    code = post_code(media)
    if not code:
        return f"no Threads post code (shortcode or /post/<code> permalink): {media.get('permalink')!r}"
    created = parse_graph_time(media.get("timestamp"))
    if created is None:
        return f"unreadable timestamp {media.get('timestamp')!r}"
    username = media.get("username") or None
    text = media.get("text")
    extra = [t for t in (media.get("topic_tag"), searched_tag) if t]
    return PostRecord(
        platform="threads",
        post_key=code,
        created_at=created,
        source=SOURCE,
        text=text,
        # Rebuilt on threads.com (the API still answers threads.net permalinks).
        url=f"https://www.threads.com/@{username}/post/{code}" if username else media.get("permalink"),
        author_handle=username,
        is_repost=media.get("media_type") == "REPOST_FACADE",
        hashtags=collect_hashtags(text, extra),
    )


class QueryBudget:
    """The queries of the last 24 hours (their times), kept in the checkpoint."""

    def __init__(self, times: list[str], limit: int, now: dt.datetime) -> None:
        self.limit = limit
        self.now = now
        self.times = sorted(t for t in times if dt.datetime.fromisoformat(t) > now - DAY)

    def spend(self) -> None:
        if len(self.times) >= self.limit:
            reset = dt.datetime.fromisoformat(self.times[0]) + DAY
            raise RateLimited(
                SOURCE,
                reset,
                f"{len(self.times)} queries in the last 24 hours reach daily_queries = {self.limit} "
                "(Meta allows 2,200 a day); the next run continues",
            )
        self.times.append(self.now.isoformat(timespec="seconds"))


def keyword_pages(
    session: requests.Session,
    cfg: ThreadsConfig,
    token: str,
    hashtags: tuple[str, ...],
    state: Mapping[str, Any],
    *,
    now: dt.datetime,
    since: dt.datetime,
    until: dt.datetime,
) -> Iterator[ApiPage]:
    """One pass over the tracked hashtags; every page carries the checkpoint to save with it."""
    budget = QueryBudget(list(state.get("queries") or []), cfg.daily_queries, now)
    complete: dict[str, int] = dict(state.get("complete_until") or {})
    resume: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (state.get("resume") or {}).items()}
    end = int(min(until, now).timestamp())

    def checkpoint() -> dict[str, Any]:
        return {"queries": list(budget.times), "complete_until": dict(complete), "resume": dict(resume)}

    url = f"{cfg.api_base}/keyword_search"
    where = describe_url(url)
    for written in hashtags:
        tag = normalize_tag(written)
        listing = resume.get(tag) or {
            "since": max(complete.get(tag, 0), int(since.timestamp())),
            "until": end,
        }
        if listing["since"] >= listing["until"]:
            continue
        after: str | None = listing.get("after")
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {
                "q": written.lstrip("#"),
                "search_type": "RECENT",
                "search_mode": cfg.search_mode,
                "since": listing["since"],
                "until": listing["until"],
                "fields": FIELDS,
                "limit": PAGE_LIMIT,
                "access_token": token,
            }
            if after:
                params["after"] = after
            budget.spend()
            try:
                answer = get_json(session, url, params, secrets=[token])
            except ApiError as exc:
                resume[tag] = {**listing, "after": after} if after else listing
                if exc.status == 429:
                    raise RateLimited(
                        SOURCE, _retry_at(exc.headers, now), "HTTP 429; the next run continues"
                    ) from None
                raise graph_error(exc, SOURCE, cfg.token_env) from None
            data = page_field(answer, "data", list, where) or []
            cursors = (page_field(answer, "paging", dict, where) or {}).get("cursors") or {}
            after = cursors.get("after") if isinstance(cursors, dict) else None
            page = ApiPage(url=where)
            searched = tag if cfg.search_mode == "TAG" else None
            for media in data:
                page.add(media, media_record(media, searched))
            if data and isinstance(after, str) and after:
                resume[tag] = {**listing, "after": after}
            else:
                resume.pop(tag, None)
                complete[tag] = listing["until"]
            page.checkpoint = checkpoint()
            yield page
            if tag not in resume:
                break
        else:
            raise SourceError(
                f"{SOURCE}: #{tag} gave more than {MAX_PAGES} pages; stopped (next run continues)"
            )


def _retry_at(headers: Mapping[str, str], now: dt.datetime) -> dt.datetime | None:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw and raw.strip().isdigit():
        return now + dt.timedelta(seconds=int(raw))
    return None
