"""Render index.html from templates/report.html with Jinja2, autoescape on.

Everything from a post (text, author, URL) is untrusted: autoescape escapes it, and a URL becomes a
link only when `web_url` accepts it (http or https, nothing a browser could run).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from reports.labels import (
    format_day,
    format_number,
    format_percent,
    format_short_day,
    format_signed,
    labels_for,
)
from reports.palette import platform_name

# No whitespace or control characters anywhere: browsers strip them from a scheme ("java\tscript:").
_WEB_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)


def web_url(url: Any) -> str | None:
    """The URL if it is a plain http(s) link, else None (javascript:, data:, relative, odd bytes)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    return url if _WEB_URL.match(url) else None


@functools.cache
def environment(language: str) -> Any:
    """The Jinja2 environment with the report's filters for `language`: one per language and
    process, so its templates are compiled once (the scheduler builds a report every day; compiling
    them took 0.4 s of each build). Jinja reloads a template whose file changed."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=StrictUndefined,  # a misspelt name fails the build, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda value: format_number(value, language)
    env.filters["signed"] = lambda value: format_signed(value, language)
    env.filters["day"] = lambda value: format_day(value, language)
    env.filters["weekday_day"] = lambda value: format_day(value, language, year=False)
    env.filters["short_day"] = lambda value: format_short_day(value, language)
    env.filters["web_url"] = web_url
    env.filters["platform"] = platform_name
    env.filters["pct"] = lambda value: format_percent(value, language)
    return env


def render_report(language: str, context: dict[str, Any], template: str = "report.html") -> str:
    """The HTML text of the report; `context` holds what the template names (see reports.build)."""
    env = environment(language)
    return str(env.get_template(template).render(L=labels_for(language), language=language, **context))


def local_time(instant: dt.datetime | None, tz: dt.tzinfo) -> str:
    """'2022-10-01 07:00' in the campaign zone; '' when unknown."""
    if instant is None:
        return ""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")
