"""The Telegram Bot API calls of the link-submission bot: getUpdates (long polling) and sendMessage.

Uses the collectors' HTTP layer (collectors.http): one session with retries for 5xx and connection
errors, `(connect, read)` timeouts (the read timeout is longer than the long-poll wait), and the bot
token kept out of every message and log line (it is in the URL path: `/bot<TOKEN>/getUpdates`).

Errors: 429 answers carry `parameters.retry_after` (seconds) -> `BotRateLimited`; 401/404 mean the
token is wrong -> `BotTokenError`; 409 means a webhook is set or another process polls the same bot;
any other `ok: false` answer -> `ApiError` with Telegram's description (FORMATS-2026 §7).

Links in a message are its `url` entities (a substring of the text) and `text_link` entities (the
URL behind other words); entity offsets count UTF-16 code units, so an emoji before a link shifts
Python's indices (`entity_links`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import requests

from collectors.http import ApiError, describe_url, get_json, hidden_in_logs, redact
from monitor.errors import RateLimited, SourceError

SOURCE = "telegram_bot"
ALLOWED_UPDATES = json.dumps(["message", "edited_message"])


class BotRateLimited(RateLimited):
    """Telegram asked to wait `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        self.retry_after = retry_after
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=retry_after)
        super().__init__(SOURCE, reset, detail)


class BotTokenError(SourceError):
    """The bot token was refused: nothing will work until it is fixed."""


class BotApi:
    """The two Bot API methods the bot needs, on one session; `token` never leaves this object
    except inside the request URL."""

    def __init__(self, session: requests.Session, api_base: str, token: str, token_env: str) -> None:
        self.session = session
        self.base = f"{api_base.rstrip('/')}/bot{token}"
        self.token = token
        self.token_env = token_env
        self.secrets = [token, self.base]

    def get_updates(self, offset: int | None, timeout: int, limit: int = 100) -> list[dict[str, Any]]:
        """Updates from `offset` on (confirming every earlier one), waiting up to `timeout` seconds
        for the first to arrive (long polling)."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        read_timeout = timeout + 15.0  # the server holds the call for `timeout` seconds
        with hidden_in_logs(self.secrets):
            try:
                body = get_json(
                    self.session,
                    f"{self.base}/getUpdates",
                    params,
                    secrets=self.secrets,
                    timeout=(5.0, read_timeout),
                )
            except ApiError as exc:
                raise self._error(exc) from None
        result = self._result(body)
        if not isinstance(result, list) or not all(isinstance(u, dict) for u in result):
            raise SourceError("getUpdates answered a result that is not a list of updates")
        return result

    def send_message(self, chat_id: int, text: str, reply_to: int) -> dict[str, Any]:
        """Send `text` (plain text, no markup, no link previews) as a reply to message `reply_to`."""
        payload = {
            "chat_id": chat_id,
            "text": text[:4096],
            "reply_parameters": {"message_id": reply_to, "allow_sending_without_reply": True},
            "link_preview_options": {"is_disabled": True},
        }
        url = f"{self.base}/sendMessage"
        where = describe_url(url, self.secrets)
        with hidden_in_logs(self.secrets):
            try:
                response = self.session.post(url, json=payload, timeout=(5.0, 20.0))
            except requests.RequestException as exc:
                raise SourceError(
                    redact(f"{where}: request failed ({type(exc).__name__})", self.secrets)
                ) from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            error = ApiError(
                redact(f"{where} answered HTTP {response.status_code}: {_description(body)}", self.secrets),
                status=response.status_code,
                headers=dict(response.headers),
                payload=json.loads(redact(json.dumps(body), self.secrets)) if body is not None else None,
            )
            raise self._error(error)
        result = self._result(body)
        return result if isinstance(result, dict) else {}

    def _result(self, body: Mapping[str, Any]) -> Any:
        if body.get("ok") is not True:
            raise SourceError(redact(f"Bot API said no: {_description(body)}", self.secrets))
        return body.get("result")

    def _error(self, exc: ApiError) -> SourceError:
        payload = exc.payload if isinstance(exc.payload, dict) else {}
        detail = _description(payload) or str(exc)
        if exc.status == 429:
            params = payload.get("parameters") if isinstance(payload.get("parameters"), dict) else {}
            retry = params.get("retry_after") if isinstance(params, dict) else None
            if not isinstance(retry, int | float) or isinstance(retry, bool):
                retry = _retry_after_header(exc.headers) or 30
            return BotRateLimited(float(retry), detail)
        if exc.status in (401, 404):
            return BotTokenError(
                f"{SOURCE}: the bot token was refused ({detail}); put the token @BotFather gave in the "
                f"environment variable {self.token_env}"
            )
        if exc.status == 409:
            return SourceError(
                f"{SOURCE}: {detail} (a webhook is set for this bot, or another process polls it: "
                "delete the webhook, or stop the other `run`)"
            )
        return ApiError(redact(f"{SOURCE}: {detail}", self.secrets), exc.status, exc.headers, payload)


def _description(body: Any) -> str:
    if isinstance(body, dict):
        code = body.get("error_code")
        text = str(body.get("description") or "")
        return f"{text} (error {code})" if code and text else text
    return ""


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def entity_links(message: Mapping[str, Any]) -> list[str]:
    """The links of a message in order: `url` entities (the text they cover, counted in UTF-16 code
    units) and `text_link` entities (their `url`), in the text or in a media caption."""
    links: list[str] = []
    for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        text = message.get(text_key)
        entities = message.get(entities_key)
        if not isinstance(text, str) or not isinstance(entities, list):
            continue
        units = text.encode("utf-16-le")
        for entity in entities:
            if not isinstance(entity, dict):
                continue
            kind = entity.get("type")
            if kind == "text_link" and isinstance(entity.get("url"), str):
                links.append(entity["url"])
            elif kind == "url":
                start, length = entity.get("offset"), entity.get("length")
                if isinstance(start, int) and isinstance(length, int):
                    piece = units[2 * start : 2 * (start + length)].decode("utf-16-le", errors="replace")
                    links.append(piece)
    return links
