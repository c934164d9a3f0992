"""HTTP for the API collectors: one Session factory with retries and timeouts, JSON pages, redaction.

- `make_session()` gives a requests.Session whose adapter retries connection errors, read timeouts and
  5xx answers (urllib3 Retry, small exponential back-off, a capped Retry-After), sends a versioned
  User-Agent and puts a `(connect, read)` timeout on every call.
- 429 is deliberately NOT retried by the adapter: a rate limit is the collector's decision (wait a
  little through an injectable sleep, or stop and save the checkpoint), not something to sleep through
  blindly for 15 minutes inside a library.
- `get_json()` returns a parsed JSON object or raises SourceError (ApiError for HTTP error answers);
  it never returns None. Every message it builds is redacted.
- `redact()` removes secrets: the tokens themselves and any `access_token=...` value, because Graph API
  errors and paging links echo URLs that carry the token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

from monitor import __version__
from monitor.errors import SourceError
from monitor.records import PostRecord
from monitor.redaction import MIN_SECRET_LENGTH, REDACTED, redact  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

USER_AGENT = f"campaign-monitor/{__version__} (+https://github.com/diskominfo-probolinggo/campaign-monitor)"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
RETRY_STATUSES = (500, 502, 503, 504)


class _RedactingFilter(logging.Filter):
    """urllib3 logs request lines (with the query string, or a bot token in the path) at DEBUG: take
    the tokens out first, and the secrets of the requests under way (`hidden_in_logs`)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()


def _install_log_redaction() -> None:
    # Filters on a logger do not apply to its children's records, so name each urllib3 logger that
    # prints URLs.
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextmanager
def hidden_in_logs(secrets: Iterable[str]) -> Iterator[None]:
    """While a request runs, keep these secrets out of the HTTP library's own log records."""
    _install_log_redaction()
    added = list(secrets)
    _FILTER.secrets.extend(added)
    try:
        yield
    finally:
        for secret in added:
            _FILTER.secrets.remove(secret)


class _Retry(Retry):
    """urllib3 Retry that leaves 429 to the collector and caps how long a Retry-After may hold us."""

    RETRY_AFTER_STATUS_CODES = frozenset({503})
    retry_after_cap: float = 30.0

    def new(self, **kw: Any) -> _Retry:
        fresh = super().new(**kw)
        fresh.retry_after_cap = self.retry_after_cap
        return fresh

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.retry_after_cap)


class CollectorSession(requests.Session):
    """A Session that applies a default `(connect, read)` timeout to every request."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def make_session(
    user_agent: str = USER_AGENT,
    *,
    retries: int = 3,
    backoff_factor: float = 0.5,
    retry_after_max: float = 30.0,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retry_methods: Iterable[str] = ("GET", "HEAD"),
) -> CollectorSession:
    """A Session for one collector run: retries 5xx, connection errors and read timeouts.

    `backoff_factor` 0.5 sleeps 0, 1, 2 s between tries; tests pass 0. POST is not retried by default
    because a retried POST may act twice (pass retry_methods=("GET", "POST") where that is safe).
    """
    _install_log_redaction()
    retry = _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(m.upper() for m in retry_methods),
        respect_retry_after_header=True,
        # After the last try hand back the 5xx answer, so get_json can quote the platform's message.
        raise_on_status=False,
    )
    retry.retry_after_cap = retry_after_max
    session = CollectorSession(timeout)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    return session


class ApiError(SourceError):
    """The platform answered with an HTTP error status; `payload` is its (redacted) JSON body, if any."""

    def __init__(
        self, message: str, status: int, headers: Mapping[str, str] | None = None, payload: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers: Mapping[str, str] = headers or {}
        self.payload = payload


RAW_KEPT = 1000  # characters of a rejected item's raw text an ApiPage keeps


@dataclass
class ApiPage:
    """One page an API collector fetched, ready to store in one transaction.

    `checkpoint` is the collector state to save together with these posts (None: leave it as is);
    `rejected` holds (reason, raw) for items that could not become a PostRecord. `of_posts` is False
    for a call that lists no posts (an Instagram hashtag look-up): it is stored for its checkpoint but
    not counted as a page fetched.
    """

    url: str  # host and path only: never a token
    records: list[PostRecord] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    rejected: list[tuple[str, str]] = field(default_factory=list)
    of_posts: bool = True
    # When the call answered: the observation time of its metrics (DESIGN 5). A page is built right
    # after its response arrives, so the default is that moment.
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def add(self, item: Any, mapped: PostRecord | str) -> None:
        """One item of the page as a collector mapped it: a record, or the reason it is rejected."""
        if isinstance(mapped, PostRecord):
            self.records.append(mapped)
        else:
            self.reject(mapped, item)

    def reject(self, reason: str, item: Any) -> None:
        """An item that cannot become a record: kept with its raw text (the first RAW_KEPT characters)
        for `rejects` to show."""
        self.rejected.append((reason, str(item)[:RAW_KEPT]))


def page_field(
    page: Mapping[str, Any], key: str, kind: type[list[Any]] | type[dict[str, Any]], where: str
) -> Any:
    """`page[key]` when it has the JSON type the API documents (None when absent or null).

    Any other shape means the platform changed its answer or something in between mangled it: a
    SourceError for the run, not an AttributeError deep inside a collector.
    """
    value = page.get(key)
    if value is None or isinstance(value, kind):
        return value
    expected = "a list" if kind is list else "an object"
    raise SourceError(
        f"{where} answered an unexpected page: {key!r} is {type(value).__name__}, not {expected}"
    )


def item_problem(item: Any, text_fields: Iterable[str] = ()) -> str | None:
    """Why one item of a page cannot be mapped (not an object, a text field that is not text), or None."""
    if not isinstance(item, Mapping):
        return f"item is not a JSON object ({type(item).__name__})"
    for key in text_fields:
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            return f"{key!r} is not text ({type(value).__name__})"
    return None


def describe_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """Host and path of a URL, without its query string (which may hold a token), for messages."""
    parts = urlsplit(url)
    return redact(f"{parts.scheme}://{parts.netloc}{parts.path}", secrets)


def get_json(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    bearer: str | None = None,
    secrets: Iterable[str | None] = (),
    timeout: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """GET `url` and return its JSON object; retries happen in the session's adapter.

    `bearer` goes into the Authorization header; every value in `secrets` (and `bearer`) is kept out
    of every message. Raises ApiError for an HTTP error answer (after the adapter's last retry for
    5xx), SourceError for timeouts, connection failures and malformed JSON.
    """
    hidden = [*secrets, bearer]
    where = describe_url(url, hidden)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    try:
        response = session.get(url, params=params, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceError(redact(f"{where}: {_failure(exc)}", hidden)) from None

    payload: Any = None
    parse_error: str | None = None
    try:
        payload = response.json()
    except ValueError as exc:
        parse_error = str(exc)

    if response.status_code >= 400:
        detail = _error_detail(payload) if parse_error is None else response.text[:200]
        raise ApiError(
            redact(f"{where} answered HTTP {response.status_code}: {detail}".rstrip(": "), hidden),
            status=response.status_code,
            headers=dict(response.headers),
            payload=_redact_payload(payload, hidden),
        )
    if parse_error is not None:
        problem = f"answered HTTP {response.status_code} with malformed JSON ({parse_error})"
        raise SourceError(redact(f"{where} {problem}", hidden))
    if not isinstance(payload, dict):
        raise SourceError(f"{where} answered JSON that is not an object ({type(payload).__name__})")
    return payload


def _failure(exc: requests.RequestException) -> str:
    """Why a request got no answer. requests reports an exhausted read-timeout retry as a
    ConnectionError wrapping urllib3's MaxRetryError, so look at the underlying reason too."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3_exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
        return f"request failed after retries: cannot connect ({type(reason).__name__})"
    timeouts = (requests.Timeout, TimeoutError, urllib3_exceptions.TimeoutError)
    if isinstance(exc, timeouts) or isinstance(reason, timeouts):
        return "no answer in time after retries (timed out); the platform is slow or unreachable"
    if isinstance(exc, requests.ConnectionError):
        return f"request failed after retries: cannot connect ({type(reason or exc).__name__})"
    return f"request failed: {exc}"


def _error_detail(payload: Any) -> str:
    """The human part of an error body: Graph `error.message`, X `detail`/`title`/`errors[].message`."""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    if isinstance(error, dict) and error.get("message"):
        code = f" (code {error['code']})" if "code" in error else ""
        return f"{error['message']}{code}"
    for key in ("detail", "title"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))
    return ""


def _redact_payload(payload: Any, secrets: Iterable[str | None]) -> Any:
    if payload is None:
        return None
    return json.loads(redact(json.dumps(payload), list(secrets)))
