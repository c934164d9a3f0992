"""Keeping secrets and forged lines out of everything the project writes.

- `redact(text, secrets)`: the secrets themselves (raw, percent-encoded, as requests normalises a
  URL), any `access_token=...` value and bearer tokens become `***`. The collectors, the reminder
  channels, the log, the run log and the rejected rows all use this one function.
- `remember_secrets(values)`: the values of every configured `*_env` variable, registered when the
  config loads, so `scrub(text)` (and the log filter) remove them everywhere without each caller
  having to know them.
- `printable(text)`: a file name or cell with control characters (a newline, an ANSI escape, a bidi
  override) shown escaped, so it cannot forge a log line or rewrite the terminal.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote

REDACTED = "***"
MIN_SECRET_LENGTH = 4  # shorter strings are not credentials, and replacing them would garble messages

# access_token=..., in a query string or in text that quotes one (also URL-encoded `access_token%3D`).
_TOKEN_PARAM = re.compile(r"(?i)(access_token(?:=|%3D))[^&\s\"'<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/%=-]{16,}")  # a token, not the word "token"
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")

_known: set[str] = set()


def secret_forms(secret: str) -> set[str]:
    """The spellings a secret may take in a message: as given, decoded, percent-encoded (upper and
    lower case hex), form-encoded, and as requests re-quotes a URL before sending it."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return set()
    plain = unquote(secret)
    forms = {secret, plain}
    for text in (secret, plain):
        forms.update({quote(text, safe=""), quote(text, safe="/:"), quote_plus(text)})
    forms.update({_PERCENT.sub(lambda m: m.group(0).lower(), f) for f in list(forms)})
    try:
        from requests.utils import requote_uri

        forms.add(requote_uri(secret))
    except ImportError:  # pragma: no cover - requests is a dependency
        pass
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secrets (in any of their forms), the remembered `*_env` values,
    `access_token=` values or bearer tokens."""
    forms: set[str] = set()
    for secret in (*secrets, *_known):
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):  # a whole URL before its path
        text = text.replace(form, REDACTED)
    text = _TOKEN_PARAM.sub(r"\1" + REDACTED, text)
    return _BEARER.sub(r"\1" + REDACTED, text)


def scrub(text: str | None) -> str | None:
    """`redact` with only the remembered secrets (None stays None): for text bound for the database."""
    if not text:
        return text
    return redact(text)


def remember_secrets(values: Iterable[str]) -> None:
    """Add values (of the `*_env` variables a config names) to what `scrub` and the log remove."""
    _known.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


def forget_secrets() -> None:
    """Drop every remembered secret (tests; a long-lived library user switching configs)."""
    _known.clear()


def printable(text: object) -> str:
    """Text with control and format characters escaped (`\\n`, `\\x1b`, `\\u202e`): safe in one line."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(
        ch if ch.isprintable() and unicodedata.category(ch) != "Cf" else ch.encode("unicode_escape").decode()
        for ch in value
    )


class RedactingLogFilter(logging.Filter):
    """Put on a handler: every record it writes is redacted of the remembered secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _known:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
