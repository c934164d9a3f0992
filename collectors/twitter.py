"""X API v2 recent search (`GET /2/tweets/search/recent`) -> PostRecords, one page at a time.

A pass walks `meta.next_token` from the newest tweet back to `since_id` (the newest id the last
complete pass saw). Each yielded page carries the checkpoint to save with its posts:
- mid-pass: `{"since_id", "next_token", "newest_id"}`, so an interrupted pass (rate limit, crash)
  resumes at the next page and still ends with the right `since_id`;
- at the end of a pass: `{"since_id": <newest id of this pass>}`.
A 429 whose reset is near is waited for (through the injected `sleep`); a far reset raises
RateLimited and the checkpoint already saved lets the next run continue.

Search only returns tweets newer than `since_id`, so the metrics it records are those of the first
minutes after posting. `refresh_pages` re-reads stored tweets by id (`GET /2/tweets`, 100 ids a
call, at most MAX_REFRESH_CALLS calls a pass) so their likes and retweets keep up; which tweets is
the caller's choice (monitor.collect picks recent campaign tweets not seen for a while).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests

from collectors.http import ApiError, ApiPage, get_json, page_field
from monitor.config import TwitterConfig
from monitor.errors import RateLimited, SourceError
from monitor.records import PostRecord, collect_hashtags

log = logging.getLogger(__name__)

SOURCE = "x_api"
SEARCH_PATH = "/2/tweets/search/recent"
LOOKUP_PATH = "/2/tweets"
TWEET_FIELDS = "created_at,public_metrics,entities,referenced_tweets,author_id,lang"
# Search and lookup ask for the same fields, so a refreshed tweet maps exactly like a searched one.
FIELD_PARAMS = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id", "user.fields": "username,name"}
MAX_RATE_LIMIT_WAITS = 3  # near resets waited for in one run before giving up until the next run
LOOKUP_IDS = 100  # the most ids GET /2/tweets takes in one call
MAX_REFRESH_CALLS = 10  # each refreshed tweet is a read on the X plan: bound what one pass costs
MAX_REFRESH_TWEETS = LOOKUP_IDS * MAX_REFRESH_CALLS


def build_query(
    campaign_tags: Sequence[str], peer_tags: Sequence[Sequence[str]] = (), max_length: int = 512
) -> tuple[str, list[str]]:
    """The recent-search query for the campaign's tags and the peer cities' tags: `(#A OR #B OR ...)`.

    The campaign's tags always go in (a query without them is refused); each peer's tags go in whole,
    in config order, while the query stays within `max_length` characters (the X plan's limit).
    Returns (query, the peer tags left out), so the caller can say what is not collected."""

    def render(tags: list[str]) -> str:
        return "(" + " OR ".join(f"#{tag}" for tag in tags) + ")"

    tags = list(dict.fromkeys(t.lstrip("#") for t in campaign_tags))
    if len(render(tags)) > max_length:
        raise SourceError(
            f"x_api: the campaign's hashtags alone make a query of {len(render(tags))} characters, more "
            f"than {max_length}: set sources.twitter.query by hand or raise sources.twitter.max_query_length"
        )
    left_out: list[str] = []
    for group in peer_tags:
        extra = [t.lstrip("#") for t in group if t.lstrip("#") not in tags]
        if len(render(tags + extra)) <= max_length:
            tags += extra
        else:
            left_out += extra
    return render(tags), left_out


def search_params(query: str, since_id: str | None, next_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"query": query, "max_results": 100, **FIELD_PARAMS}
    if since_id:
        params["since_id"] = since_id
    if next_token:
        params["next_token"] = next_token
    return params


def recent_search_pages(
    session: requests.Session,
    cfg: TwitterConfig,
    token: str,
    state: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], dt.datetime],
) -> Iterator[ApiPage]:
    """One pass of recent search from the saved `state`; yields pages with their checkpoints."""
    url = cfg.api_base + SEARCH_PATH
    since_id = state.get("since_id")
    next_token = state.get("next_token")
    newest_id = state.get("newest_id") if next_token else None
    if next_token:
        log.info("x_api: resuming an interrupted pass")
    while True:
        params = search_params(cfg.query, since_id, next_token)
        try:
            page = _get_page(session, url, params, token, cfg, sleep, clock)
        except _Refused as exc:
            if not (since_id or next_token):
                raise SourceError(f"x_api: {exc.cause} (check sources.twitter.query)") from None
            # A saved position older than recent search's 7 days is refused; start a fresh pass.
            log.warning("x_api: the saved position was refused (%s); starting a fresh pass", exc.cause)
            since_id = next_token = newest_id = None
            continue
        meta = page_field(page, "meta", dict, url) or {}
        # The first page of a pass holds its newest tweet; a resumed pass kept it in the checkpoint.
        newest_id = newest_id or meta.get("newest_id")
        next_token = meta.get("next_token")
        if next_token:
            checkpoint = {"since_id": since_id, "next_token": next_token, "newest_id": newest_id}
        else:
            checkpoint = {"since_id": newest_id or since_id}
        yield tweets_page(page, url, {k: v for k, v in checkpoint.items() if v})
        if not next_token:
            return


def refresh_pages(
    session: requests.Session,
    cfg: TwitterConfig,
    token: str,
    ids: Sequence[str],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], dt.datetime],
) -> Iterator[ApiPage]:
    """The current state of stored tweets (`GET /2/tweets?ids=`), 100 a call, the first
    MAX_REFRESH_TWEETS of `ids` only. Pages carry no checkpoint: the search position stays as it is.

    Tweets deleted or made private since come back in `errors`, not `data`, and are left as stored.
    """
    url = cfg.api_base + LOOKUP_PATH
    wanted = list(ids)[:MAX_REFRESH_TWEETS]
    for start in range(0, len(wanted), LOOKUP_IDS):
        params = {"ids": ",".join(wanted[start : start + LOOKUP_IDS]), **FIELD_PARAMS}
        try:
            page = _get_page(session, url, params, token, cfg, sleep, clock)
        except _Refused as exc:
            raise SourceError(f"x_api: the tweet lookup was refused: {exc.cause}") from None
        gone = page_field(page, "errors", list, url) or []
        if gone:
            log.debug("x_api: %d tweets could not be refreshed (deleted or not public)", len(gone))
        yield tweets_page(page, url, None)


def tweets_page(page: Mapping[str, Any], url: str, checkpoint: dict[str, Any] | None) -> ApiPage:
    """The records of one search or lookup answer; a tweet that cannot be mapped is rejected."""
    result = ApiPage(url=url, checkpoint=checkpoint)
    includes = page_field(page, "includes", dict, url) or {}
    users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
    for tweet in page_field(page, "data", list, url) or []:  # no `data` key at all when nothing matched
        try:
            result.records.append(tweet_record(tweet, users))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # AttributeError: a nested field of another JSON type (a list where an object belongs).
            result.reject(f"unreadable tweet: {exc}", tweet)
    return result


def _get_page(
    session: requests.Session,
    url: str,
    params: dict[str, Any],
    token: str,
    cfg: TwitterConfig,
    sleep: Callable[[float], None],
    clock: Callable[[], dt.datetime],
) -> dict[str, Any]:
    waits = 0
    while True:
        try:
            return get_json(session, url, params, bearer=token)
        except ApiError as exc:
            if exc.status == 429:
                reset_at = _reset_at(exc.headers)
                wait = (reset_at - clock()).total_seconds() + 1 if reset_at else None
                if wait is not None and wait <= cfg.max_wait_seconds and waits < MAX_RATE_LIMIT_WAITS:
                    waits += 1
                    log.info("x_api: rate limited; waiting %.0f s for the limit to reset", max(wait, 0))
                    sleep(max(wait, 0))
                    continue
                raise RateLimited(SOURCE, reset_at, "the next run continues where this one stopped") from None
            if exc.status == 400:
                raise _Refused(exc) from None
            raise _explain(exc, cfg.token_env) from None


class _Refused(Exception):
    """X refused the request itself (400): a stale since_id/next_token, or a bad query."""

    def __init__(self, cause: ApiError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _reset_at(headers: Mapping[str, str]) -> dt.datetime | None:
    """`x-rate-limit-reset` is Unix seconds (UTC)."""
    raw = next((v for k, v in headers.items() if k.lower() == "x-rate-limit-reset"), None)
    try:
        return dt.datetime.fromtimestamp(int(str(raw).strip()), dt.UTC) if raw else None
    except (ValueError, OverflowError):
        return None


def _explain(exc: ApiError, token_env: str) -> SourceError:
    if exc.status == 401:
        return SourceError(
            f"x_api: the bearer token was refused ({exc}); put a valid one in the environment variable "
            f"{token_env} (see docs/sources.md)"
        )
    if exc.status == 403:
        return SourceError(f"x_api: access denied ({exc}); your X API plan may not include this endpoint")
    return SourceError(f"x_api: {exc}")


def tweet_record(tweet: Mapping[str, Any], users: Mapping[Any, Mapping[str, Any]]) -> PostRecord:
    """Map one v2 tweet (with the expanded authors) to a PostRecord."""
    tweet_id = str(tweet["id"])
    created = dt.datetime.fromisoformat(str(tweet["created_at"]))  # 2023-09-01T03:15:00.000Z
    metrics = tweet.get("public_metrics") or {}
    author_id = tweet.get("author_id")
    user = users.get(author_id) or {}
    handle = user.get("username")
    tags = [h.get("tag", "") for h in (tweet.get("entities") or {}).get("hashtags") or []]
    refs = tweet.get("referenced_tweets") or []
    retweets, quotes = metrics.get("retweet_count"), metrics.get("quote_count")
    return PostRecord(
        platform="twitter",
        post_key=tweet_id,
        created_at=created,
        source=SOURCE,
        text=tweet.get("text"),
        url=f"https://x.com/{handle}/status/{tweet_id}"
        if handle
        else f"https://x.com/i/web/status/{tweet_id}",
        author_id=str(author_id) if author_id else None,
        author_handle=handle,
        author_name=user.get("name"),
        likes=metrics.get("like_count"),
        comments=metrics.get("reply_count"),
        shares=None if retweets is None and quotes is None else (retweets or 0) + (quotes or 0),
        views=metrics.get("impression_count"),
        is_repost=any(r.get("type") == "retweeted" for r in refs if isinstance(r, dict)),
        hashtags=collect_hashtags(tweet.get("text"), tags),
    )
