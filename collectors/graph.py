"""What the Instagram and Facebook collectors share: Meta Graph API errors, paging and times.

Graph errors come as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
Throttling codes (4, 17, 32, 613, 80001-80014) end the run as rate limited; 190 means the token
expired or is invalid, which no retry can fix. Paging links (`paging.next`) echo the access token
in their query; we take it out and send ours, and only follow links to the configured API host.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from collectors.http import ApiError, describe_url, get_json, page_field
from monitor.errors import RateLimited, SourceError

THROTTLE_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80001, 80015))
TOKEN_CODE = 190
MAX_PAGES = 200  # per listing: a guard against a paging link that never ends


class TokenError(SourceError):
    """The access token was refused: every later call with it fails too, so stop the whole run."""


def graph_error(exc: ApiError, source: str, token_env: str) -> SourceError:
    """Turn a Graph API error answer into the exception that says what happened and what to do."""
    error = exc.payload.get("error") if isinstance(exc.payload, dict) else None
    if not isinstance(error, dict):
        return exc
    code = error.get("code")
    message = str(error.get("message", "")).strip()
    if code == TOKEN_CODE:
        return TokenError(
            f"{source}: the access token expired or is invalid: make a new one (see docs/sources.md) "
            f"and put it in the environment variable {token_env} (Meta said: {message})"
        )
    if code in THROTTLE_CODES:
        return RateLimited(
            source,
            _regain_at(exc.headers),
            f"Meta request limit reached (code {code}: {message}); the next run continues",
        )
    if code in (10, 200) or (isinstance(code, int) and 200 <= code <= 299):
        return SourceError(
            f"{source}: permission missing (code {code}: {message}); check the app's permissions and "
            "review status (see docs/sources.md)"
        )
    return SourceError(f"{source}: {exc}")


def _regain_at(headers: Mapping[str, str]) -> dt.datetime | None:
    """When Meta says access returns: X-Business-Use-Case-Usage `estimated_time_to_regain_access` (min)."""
    raw = next((v for k, v in headers.items() if k.lower() == "x-business-use-case-usage"), None)
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = max(
            int(entry.get("estimated_time_to_regain_access", 0))
            for entries in usage.values()
            for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    if minutes <= 0:
        return None
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


def without_token(url: str) -> str:
    """A paging link without its `access_token` query value (we send our own)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def follow_pages(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any],
    token: str,
    api_base: str,
    source: str,
    token_env: str,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, page) for a Graph listing, following `paging.next` until it is absent.

    `where` is host and path only; a yielded page's `data` is a list or absent. Raises the exception
    graph_error() chose for an error answer, SourceError for a page of another shape.
    """
    base = urlsplit(api_base)
    next_url: str | None = url
    query: dict[str, Any] = {**params, "access_token": token}
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        try:
            page = get_json(session, next_url, query, secrets=[token])
        except ApiError as exc:
            raise graph_error(exc, source, token_env) from None
        where = describe_url(next_url, [token])
        data = page_field(page, "data", list, where)
        link = (page_field(page, "paging", dict, where) or {}).get("next")
        yield where, page
        if not data or not isinstance(link, str):
            return
        target = urlsplit(link)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            # Never send the token to a host we were not configured for.
            raise SourceError(f"{source}: paging link points to {target.netloc}, not {base.netloc}")
        next_url, query = without_token(link), {"access_token": token}


def parse_graph_time(value: Any) -> dt.datetime | None:
    """Graph times look like `2024-07-20T23:05:41+0000` (UTC); None when missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            instant = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def as_count(value: Any) -> int | None:
    """A count from JSON: int, or None when absent or not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
