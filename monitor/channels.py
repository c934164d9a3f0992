"""Where a message goes (the vote reminder, the digest, an alert): the log, a chat webhook (Slack,
Mattermost) or a Telegram chat.

Each channel is one function that delivers one message or raises `DeliveryFailed` with a reason
that is safe to store and show. Webhook URLs and bot tokens are secrets (a Slack webhook URL *is*
its credential), so every reason is redacted, and urllib3's debug lines (which print the request
path) are redacted while a request is in flight.

There is no automatic retry here: a POST that timed out may still have arrived, and the next
`remind` retries a failed delivery anyway (see monitor.reminders).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from collectors.http import hidden_in_logs
from collectors.http import redact as redact_secrets
from monitor import __version__
from monitor.config import TelegramConfig, WebhookConfig

# Read at call time, so tests (and impatient users of the library) can shorten them.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
USER_AGENT = f"campaign-monitor/{__version__} (+vote reminder)"
REMINDER = "reminder"
TELEGRAM_LIMIT = 4096  # characters in one sendMessage text

log = logging.getLogger("campaign_monitor.reminders")


class DeliveryFailed(Exception):
    """A channel did not take the message. str() is already redacted and safe to store."""


@dataclass(frozen=True)
class Outgoing:
    """One message on its way to a channel.

    kind: "reminder", "digest", "alert"; ref: what tells two messages of one kind and day apart (an
    alert's kind and key), part of the webhook `id`. html: the same message in Telegram's HTML parse
    mode (every piece of post text escaped), sent instead of `text` to Telegram when given.
    """

    day: dt.date
    campaign_day: int
    text: str
    kind: str = REMINDER
    html: str | None = None
    ref: str = ""


class Route(Protocol):
    """Where a kind of message goes: the webhook and Telegram settings ([reminders], [digest], ...)."""

    @property
    def webhook(self) -> WebhookConfig: ...

    @property
    def telegram(self) -> TelegramConfig: ...


Deliver = Callable[[Outgoing, Route, requests.Session], None]


def new_session() -> requests.Session:
    """One session per `remind`: keeps the connection and sends a versioned User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def deliver(channel: str, outgoing: Outgoing, cfg: Route, session: requests.Session) -> None:
    """Deliver `outgoing` through `channel` ("log", "webhook" or "telegram"); raise DeliveryFailed."""
    try:
        send = DELIVERY[channel]
    except KeyError:
        raise DeliveryFailed(f"unknown channel {channel!r}") from None
    send(outgoing, cfg, session)


# ---------------------------------------------------------------------------------------------------------
# The channels


def deliver_log(outgoing: Outgoing, cfg: Route, session: requests.Session) -> None:
    """The log channel: the row in the outbox table is the delivery; this only writes a log line."""
    # The command prints the message and the row keeps it: only -v repeats it in the log.
    if outgoing.kind == REMINDER:
        log.debug(
            "vote reminder for %s (campaign day %d):\n%s", outgoing.day, outgoing.campaign_day, outgoing.text
        )
    elif outgoing.kind == "alert":  # an alert on the log channel is for whoever reads the log
        log.warning("alert: %s", outgoing.text)
    else:
        log.debug("%s for %s:\n%s", outgoing.kind, outgoing.day, outgoing.text)


def deliver_webhook(outgoing: Outgoing, cfg: Route, session: requests.Session) -> None:
    """POST {"text", "date", "campaign_day", "id"} as JSON to the URL in the configured env var
    (other kinds than the reminder add "kind").

    Slack and Mattermost incoming webhooks show "text" and ignore the other fields. `id` is the same
    for every try of one message: a receiver can drop the rare duplicate by it (a crash after the
    server took the POST but before `sent` was recorded makes the next run send it again).
    """
    url = secret_from_env(cfg.webhook.url_env, "the webhook URL")
    redact = partial(redact_secrets, secrets=url_secrets(url))
    day = outgoing.day.isoformat()
    payload: dict[str, Any] = {
        "text": outgoing.text,
        "date": day,
        "campaign_day": outgoing.campaign_day,
        "id": f"{day}:webhook",
    }
    if outgoing.kind != REMINDER:
        ref = f"{outgoing.kind}:{outgoing.ref}" if outgoing.ref else outgoing.kind
        payload |= {"kind": outgoing.kind, "id": f"{day}:{ref}:webhook"}
    response = _post(session, url, payload, redact)
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(redact(f"HTTP {response.status_code}: {_snippet(response.text)}"))


def deliver_telegram(outgoing: Outgoing, cfg: Route, session: requests.Session) -> None:
    """Bot API sendMessage to the configured chat; success only when the answer says "ok": true.

    A message with an HTML form goes in parse mode HTML; a text over the API's 4096 characters is
    refused here rather than by Telegram (the composers keep within it)."""
    token = secret_from_env(cfg.telegram.token_env, "the Telegram bot token")
    url = f"{cfg.telegram.api_base}/bot{token}/sendMessage"
    redact = partial(redact_secrets, secrets=[token, *url_secrets(url)])
    payload: dict[str, Any] = {"chat_id": cfg.telegram.chat_id, "text": outgoing.text}
    if outgoing.html is not None:
        payload |= {"text": outgoing.html, "parse_mode": "HTML", "disable_web_page_preview": True}
    if len(payload["text"]) > TELEGRAM_LIMIT:
        size = len(payload["text"])
        raise DeliveryFailed(f"the message has {size} characters; Telegram takes {TELEGRAM_LIMIT}")
    response = _post(session, url, payload, redact)
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") is True:
        return
    if isinstance(body, dict) and body.get("description"):
        detail = _snippet(str(body["description"]))
    else:
        detail = _snippet(response.text) or "no JSON answer"
    raise DeliveryFailed(redact(f"HTTP {response.status_code}: {detail}"))


DELIVERY: dict[str, Deliver] = {
    "log": deliver_log,
    "webhook": deliver_webhook,
    "telegram": deliver_telegram,
}


# ---------------------------------------------------------------------------------------------------------
# Secrets


def secret_from_env(name: str, what: str) -> str:
    """The value of env var `name`; a missing one fails the delivery, naming the variable only."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise DeliveryFailed(f"environment variable {name} is not set (it should hold {what})")
    return value


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may carry a credential: all of it, its path and its query, both as
    written and as requests normalises it before sending (re-quoted path, lower-case host), since
    that is the form urllib3's errors and debug lines quote. `redact` adds the encoded spellings."""
    secrets: list[str] = []
    forms = [url]
    try:
        prepared = requests.Request("POST", url).prepare().url
    except (requests.RequestException, ValueError, UnicodeError):
        prepared = None
    if prepared and prepared != url:
        forms.append(prepared)
    for form in forms:
        parts = urlsplit(form)
        secrets.append(form)
        if parts.path not in ("", "/"):
            secrets.append(parts.path + (f"?{parts.query}" if parts.query else ""))
            secrets.append(parts.path)
        if parts.query:
            secrets.append(parts.query)
    return list(dict.fromkeys(secrets))


# ---------------------------------------------------------------------------------------------------------
# HTTP


def _post(
    session: requests.Session, url: str, payload: dict[str, Any], redact: Callable[[str], str]
) -> requests.Response:
    with hidden_in_logs(url_secrets(url)):
        try:
            return session.post(url, json=payload, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.Timeout as exc:
            raise DeliveryFailed(redact(f"no answer in time: {exc}")) from None
        except requests.RequestException as exc:
            raise DeliveryFailed(redact(f"{type(exc).__name__}: {exc}")) from None


def _snippet(text: str, limit: int = 200) -> str:
    """The start of an answer body on one line, enough to see why a server said no.

    The body comes from a server and ends up in the database and on the terminal: control and
    format characters (ANSI escapes, NUL, bidi overrides) are dropped so it cannot rewrite either.
    """
    flat = " ".join(text.split())
    flat = "".join(ch for ch in flat if unicodedata.category(ch) not in ("Cc", "Cf"))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
