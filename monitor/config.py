"""Load and validate config.toml into frozen dataclasses.

Only [campaign] and [storage] are required; every other section has the defaults of DESIGN 4.1.
Every error names the file and the key and says how to fix it. Relative paths are relative to the
folder of the config file, so the same config works whatever the current directory is.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.redaction import remember_secrets

ENV_VAR = "CAMPAIGN_MONITOR_CONFIG"
REMINDER_PLACEHOLDERS = frozenset({"day", "total_days", "days_left", "date", "city", "vote_url", "hashtags"})
CHANNELS = ("log", "webhook", "telegram")
PLATFORMS = ("facebook", "instagram", "twitter", "tiktok", "threads")
LANGUAGES = ("id", "en")
# Bounds of the numbers a config may hold: a schedule must be finite and sane (no inf, nan, 1e300 or
# a poll every 6 ms), and a template field cannot ask for a width that fills the memory.
MIN_INBOX_MINUTES = 0.01  # every 0.6 seconds (tests); 5 is the default
MAX_MINUTES = 7 * 24 * 60  # a week
MAX_SETTLE_SECONDS = 3600.0
MAX_WAIT_SECONDS = 3600
MAX_TEMPLATE_WIDTH = 200


@dataclass(frozen=True)
class CampaignConfig:
    name: str
    city: str
    start: dt.date
    end: dt.date
    timezone: str
    hashtags: tuple[str, ...]  # as written by the user, without '#'
    vote_url: str = "https://www.welovecities.org"
    language: str = "id"
    # The hashtags of the [[peers]] cities, case-folded: a post carrying one of them is that city's post
    # and counts for the campaign only if it also carries one of own_hashtags (docs/peers.md).
    peer_hashtags: frozenset[str] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def tracked_hashtags(self) -> frozenset[str]:
        """Case-folded tags without '#', the form stored in post_hashtags."""
        return frozenset(tag.casefold() for tag in self.hashtags)

    @property
    def own_hashtags(self) -> frozenset[str]:
        """The tracked tags that name the city itself (`WeLoveProbolinggo` for city "Kota Probolinggo"),
        as opposed to the shared ones every city uses (`WeLoveCities`). A word of the city name of 4 or
        more letters inside the tag makes it the city's own; if no tag names the city, all are its own."""
        words = [w for w in re.split(r"\W+", self.city.casefold()) if len(w) >= 4]
        own = frozenset(tag for tag in self.tracked_hashtags if any(w in tag for w in words))
        return own or self.tracked_hashtags


@dataclass(frozen=True)
class StorageConfig:
    url: str


@dataclass(frozen=True)
class ReportsConfig:
    out_dir: Path
    daily_at: dt.time = dt.time(23, 30)


@dataclass(frozen=True)
class WebhookConfig:
    url_env: str = "CAMPAIGN_MONITOR_WEBHOOK_URL"


@dataclass(frozen=True)
class TelegramConfig:
    token_env: str = "TELEGRAM_BOT_TOKEN"
    chat_id: str = ""
    api_base: str = "https://api.telegram.org"


@dataclass(frozen=True)
class PeerCity:
    """A city competing in the same campaign ([[peers]]), tracked for the share-of-voice section."""

    name: str
    hashtags: tuple[str, ...]  # as written, without '#'

    @property
    def tracked_hashtags(self) -> frozenset[str]:
        return frozenset(tag.casefold() for tag in self.hashtags)


@dataclass(frozen=True)
class RemindersConfig:
    at: dt.time = dt.time(7, 0)  # the first of `times`
    channels: tuple[str, ...] = ("log",)
    template: str | None = None  # None: the built-in template for campaign.language
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    # Several times: each day one is drawn at random (seeded by `seed` and the date, so every process
    # draws the same) and recorded in vote_reminders.planned_at; one time: that time every day.
    times: tuple[dt.time, ...] = ()
    seed: str = ""

    @property
    def all_times(self) -> tuple[dt.time, ...]:
        return self.times or (self.at,)


@dataclass(frozen=True)
class DigestConfig:
    """[digest]: the morning digest. Channels and their settings default to the reminder's."""

    at: dt.time = dt.time(7, 30)
    channels: tuple[str, ...] = ("log",)
    report_url: str = ""  # where the team opens the latest report; empty: the path of latest/index.html
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)


@dataclass(frozen=True)
class AlertsConfig:
    """[alerts]: what breaks, said at once. Channels and their settings default to the reminder's."""

    channels: tuple[str, ...] = ("log",)
    silent_hours: float = 24  # a source that reported every day and has not for this long
    min_posts: int = 20  # a day's campaign posts are judged only from this volume (no crying wolf)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)


@dataclass(frozen=True)
class InboxConfig:
    path: Path
    every_minutes: float = 5  # fractions allowed: 0.5 checks every 30 seconds
    settle_seconds: float = 60  # a file must be left alone this long before it is imported


@dataclass(frozen=True)
class TwitterConfig:
    enabled: bool = False
    query: str = ""  # "": built from the campaign's and the peers' hashtags (collectors.twitter.build_query)
    token_env: str = "X_BEARER_TOKEN"
    api_base: str = "https://api.x.com"
    every_minutes: int = 30
    max_wait_seconds: int = 60  # a rate-limit reset nearer than this is waited for; farther ends the run
    max_query_length: int = 512  # the X plan's limit on a search query (512 Basic, 4096 Pro)


@dataclass(frozen=True)
class InstagramConfig:
    enabled: bool = False
    user_id: str = ""
    token_env: str = "META_ACCESS_TOKEN"
    api_base: str = "https://graph.facebook.com/v21.0"
    every_minutes: int = 60


@dataclass(frozen=True)
class FacebookConfig:
    enabled: bool = False
    pages: tuple[str, ...] = ()
    token_env: str = "META_ACCESS_TOKEN"
    api_base: str = "https://graph.facebook.com/v21.0"
    every_minutes: int = 60


@dataclass(frozen=True)
class ThreadsConfig:
    """[sources.threads]: the Threads API keyword search (topic tags by default)."""

    enabled: bool = False
    token_env: str = "THREADS_ACCESS_TOKEN"
    api_base: str = "https://graph.threads.net/v1.0"
    search_mode: str = "TAG"  # TAG: the post's topic tag; KEYWORD: words in the text
    daily_queries: int = 2200  # Meta's limit per user per rolling 24 hours
    every_minutes: int = 60


@dataclass(frozen=True)
class SourcesConfig:
    inbox: InboxConfig
    twitter: TwitterConfig = field(default_factory=TwitterConfig)
    instagram: InstagramConfig = field(default_factory=InstagramConfig)
    facebook: FacebookConfig = field(default_factory=FacebookConfig)
    threads: ThreadsConfig = field(default_factory=ThreadsConfig)


@dataclass(frozen=True)
class RosterConfig:
    path: Path


@dataclass(frozen=True)
class LoggingConfig:
    file: Path | None = None


@dataclass(frozen=True)
class CustomFormat:
    """A user-defined CSV layout ([[formats]]): which column holds each field."""

    name: str
    platform: str
    id: str
    time: str
    time_format: str | None = None  # strptime format; None: ISO 8601 and the common export forms
    author: str = ""
    text: str = ""
    likes: str = ""
    comments: str = ""
    shares: str = ""
    views: str = ""
    url: str = ""
    observed: str = ""  # a column saying when the row was read (its metrics' observation time)
    base: str = ""  # a built-in format this entry extends; then `columns` renames its columns
    columns: Mapping[str, str] = field(default_factory=dict)  # built-in name -> name in the file
    date_order: str | None = None  # "dmy" or "mdy" when every date of a file reads both ways


FROM_LINK = "from-link"  # [[formats]] platform: each row's link says it


@dataclass(frozen=True)
class FormConfig:
    """[submissions.form]: the columns of the Google Form responses sheet (docs/roster.md)."""

    timestamp: str = ""  # empty: "Timestamp" (English UI) or "Stempel waktu" (Indonesian UI)
    member: str = "Nama"  # the member's name as on the roster (or their WhatsApp/Telegram contact)
    links: tuple[str, ...] = ("Link postingan",)
    date_order: str = "auto"  # auto | dmy | mdy


@dataclass(frozen=True)
class BotConfig:
    """[submissions.telegram]: the link-submission bot that `run` polls."""

    enabled: bool = False
    token_env: str = "TELEGRAM_BOT_TOKEN"
    api_base: str = "https://api.telegram.org"
    groups: tuple[int, ...] = ()  # group chat ids it reads; private chats are always read
    poll_seconds: int = 10  # long-poll wait of one getUpdates call
    every_seconds: int = 15  # how often `run` starts a pass
    max_wait_seconds: int = 60  # a 429 retry_after up to this is waited for; longer ends the pass


@dataclass(frozen=True)
class SubmissionsConfig:
    """[submissions]: member link submissions ("setor link")."""

    follow_short_links: bool = True  # open vt.tiktok.com / fb.watch links to find the post
    other_campaign_tags: tuple[str, ...] = ()  # case-folded, without '#'
    form: FormConfig = field(default_factory=FormConfig)
    telegram: BotConfig = field(default_factory=BotConfig)


@dataclass(frozen=True)
class Config:
    path: Path  # the config file; its folder anchors relative paths
    campaign: CampaignConfig
    storage: StorageConfig
    reports: ReportsConfig
    reminders: RemindersConfig
    sources: SourcesConfig
    roster: RosterConfig
    logging: LoggingConfig
    formats: tuple[CustomFormat, ...] = ()
    zones: Mapping[str, dt.tzinfo] = field(default_factory=dict)  # [zones]: abbreviation -> zone
    peers: tuple[PeerCity, ...] = ()  # [[peers]]: the other cities, for share of voice
    digest: DigestConfig = field(default_factory=DigestConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    submissions: SubmissionsConfig = field(default_factory=SubmissionsConfig)

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def secret_values(config: Config) -> list[str]:
    """The values of every environment variable a `*_env` key names: never to be shown anywhere."""
    names = {
        config.reminders.webhook.url_env,
        config.reminders.telegram.token_env,
        config.digest.webhook.url_env,
        config.digest.telegram.token_env,
        config.alerts.webhook.url_env,
        config.alerts.telegram.token_env,
        config.sources.twitter.token_env,
        config.sources.instagram.token_env,
        config.sources.facebook.token_env,
        config.sources.threads.token_env,
        config.submissions.telegram.token_env,
    }
    return [value for name in sorted(names) if (value := os.environ.get(name, "").strip())]


# ---------------------------------------------------------------------------------------------------------
# Loading


def default_config_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or "config.toml")


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate a config file. Raises ConfigError naming the key and the fix."""
    path = Path(path) if path is not None else default_config_path()
    if not path.exists():
        raise ConfigError(
            path, None, "file not found", "run `campaign-monitor init` to create one, or pass --config"
        )
    if path.is_dir():
        raise ConfigError(
            path,
            None,
            "is a folder, not a config file",
            f"point --config or ${ENV_VAR} at the config.toml file (e.g. {path / 'config.toml'})",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, None, f"cannot be read ({exc.strerror})", "check its permissions") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text", "save the file as UTF-8") from None
    config = parse_config(data, path.resolve())
    # Every *_env value is now known to the redaction of logs, errors and stored text.
    remember_secrets(secret_values(config))
    return config


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    r = _Reader(path)
    r.allowed(
        data,
        "",
        {
            "campaign",
            "storage",
            "reports",
            "reminders",
            "sources",
            "roster",
            "logging",
            "formats",
            "zones",
            "peers",
            "submissions",
            "digest",
            "alerts",
        },
    )
    campaign = _campaign(r, r.section(data, "campaign", required=True))
    storage = _storage(r, r.section(data, "storage", required=True))
    reports = r.section(data, "reports")
    r.allowed(reports, "reports", {"out_dir", "daily_at"})
    reminders = _reminders(r, r.section(data, "reminders"))
    digest = _digest(r, r.section(data, "digest"), reminders)
    alerts = _alerts(r, r.section(data, "alerts"), reminders)
    sources = _sources(r, r.section(data, "sources"))
    roster = r.section(data, "roster")
    r.allowed(roster, "roster", {"path"})
    log = r.section(data, "logging")
    r.allowed(log, "logging", {"file"})
    log_file = r.string(log, "logging.file", "")
    formats = data.get("formats", [])
    if not isinstance(formats, list):
        raise ConfigError(path, "formats", "must be an array of tables", "write each one as [[formats]]")
    peers = _peers(r, data.get("peers", []), campaign)
    if peers:
        peer_tags = frozenset().union(*(peer.tracked_hashtags for peer in peers))
        campaign = replace(campaign, peer_hashtags=peer_tags)
    return Config(
        path=path,
        campaign=campaign,
        storage=storage,
        reports=ReportsConfig(
            out_dir=r.path(reports, "reports.out_dir", "out"),
            daily_at=r.clock(reports, "reports.daily_at", "23:30"),
        ),
        reminders=reminders,
        sources=sources,
        roster=RosterConfig(path=r.path(roster, "roster.path", "roster.csv")),
        logging=LoggingConfig(file=r.resolve(log_file) if log_file else None),
        formats=_custom_formats(r, formats),
        zones=_zones(r, r.section(data, "zones")),
        peers=peers,
        digest=digest,
        alerts=alerts,
        submissions=_submissions(r, r.section(data, "submissions")),
    )


def _peers(r: _Reader, entries: Any, campaign: CampaignConfig) -> tuple[PeerCity, ...]:
    """The [[peers]] entries: a name and the city's own hashtags, none shared with the campaign or
    with another peer (a tag must say whose post it is)."""
    if not isinstance(entries, list):
        raise ConfigError(r.path_, "peers", "must be an array of tables", "write each one as [[peers]]")
    owner = {tag: "campaign.hashtags" for tag in campaign.tracked_hashtags}
    peers: list[PeerCity] = []
    for i, entry in enumerate(entries):
        key = f"peers[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(r.path_, key, "must be a table", 'write it as [[peers]] with name = "..."')
        r.allowed(entry, key, {"name", "hashtags"})
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(r.path_, f"{key}.name", "missing", 'name the city, e.g. name = "DKI Jakarta"')
        raw = entry.get("hashtags")
        if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
            raise ConfigError(r.path_, f"{key}.hashtags", "must be a list of strings", '["WeLoveJakarta"]')
        tags = tuple(t.strip().lstrip("#") for t in raw if t.strip().lstrip("#"))
        if not tags:
            raise ConfigError(r.path_, f"{key}.hashtags", "is empty", "name the city's own hashtag")
        for tag in tags:
            if not all(ch.isalnum() or ch == "_" for ch in tag):
                raise ConfigError(
                    r.path_, f"{key}.hashtags", f"{tag!r} is not a hashtag", "use letters, digits and _ only"
                )
            if tag.casefold() in owner:
                raise ConfigError(
                    r.path_,
                    f"{key}.hashtags",
                    f"#{tag} is already in {owner[tag.casefold()]}",
                    "list a city's own hashtag only; the shared ones (#WeLoveCities) belong to [campaign]",
                )
            owner[tag.casefold()] = f"{key}.hashtags"
        if any(peer.name == name.strip() for peer in peers):
            raise ConfigError(r.path_, f"{key}.name", f"{name!r} is listed twice", "merge the two entries")
        peers.append(PeerCity(name=name.strip(), hashtags=tags))
    return tuple(peers)


def _campaign(r: _Reader, c: Mapping[str, Any]) -> CampaignConfig:
    r.allowed(c, "campaign", {"name", "city", "start", "end", "timezone", "hashtags", "vote_url", "language"})
    start = r.date(c, "campaign.start")
    end = r.date(c, "campaign.end")
    if end < start:
        raise ConfigError(
            r.path_, "campaign.end", f"{end} is before campaign.start {start}", "swap the dates"
        )
    tz = r.string(c, "campaign.timezone", "Asia/Jakarta")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Asia' is a folder of zones
        raise ConfigError(
            r.path_,
            "campaign.timezone",
            f"unknown time zone {tz!r}",
            'use an IANA name such as "Asia/Jakarta"',
        ) from None
    raw_tags = c.get("hashtags")
    if raw_tags is None:
        raise ConfigError(
            r.path_, "campaign.hashtags", "missing", 'list the tracked hashtags, e.g. ["WeLoveCities"]'
        )
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        raise ConfigError(r.path_, "campaign.hashtags", "must be a list of strings", '["WeLoveProbolinggo"]')
    tags = tuple(t.strip().lstrip("#") for t in raw_tags if t.strip().lstrip("#"))
    if not tags:
        raise ConfigError(r.path_, "campaign.hashtags", "is empty", "name at least one hashtag to track")
    for tag in tags:
        if not all(ch.isalnum() or ch == "_" for ch in tag):
            raise ConfigError(
                r.path_, "campaign.hashtags", f"{tag!r} is not a hashtag", "use letters, digits and _ only"
            )
    language = r.string(c, "campaign.language", "id")
    if language not in LANGUAGES:
        raise ConfigError(r.path_, "campaign.language", f"unknown language {language!r}", 'use "id" or "en"')
    return CampaignConfig(
        name=r.string(c, "campaign.name", "Campaign"),
        city=r.string(c, "campaign.city", ""),
        start=start,
        end=end,
        timezone=tz,
        hashtags=tags,
        vote_url=r.string(c, "campaign.vote_url", "https://www.welovecities.org"),
        language=language,
    )


def _storage(r: _Reader, s: Mapping[str, Any]) -> StorageConfig:
    r.allowed(s, "storage", {"url"})
    url = r.string(s, "storage.url", "")
    if not url:
        raise ConfigError(r.path_, "storage.url", "missing", 'e.g. url = "sqlite:///data/monitor.db"')
    # sqlite:///relative.db is relative to the config file's folder; sqlite:////abs.db and :memory: stay.
    prefix = "sqlite:///"
    if (
        url.startswith(prefix)
        and not url.startswith(prefix + "/")
        and url[len(prefix) :] not in ("", ":memory:")
        and not url[len(prefix) :].startswith("file:")  # a SQLite URI (?mode=ro&uri=true) stays as written
    ):
        url = prefix + str(r.resolve(url[len(prefix) :]))
    return StorageConfig(url=url)


def _reminders(r: _Reader, m: Mapping[str, Any]) -> RemindersConfig:
    r.allowed(m, "reminders", {"at", "channels", "template", "webhook", "telegram", "seed"})
    channels = m.get("channels", ["log"])
    if not isinstance(channels, list) or not all(isinstance(ch, str) for ch in channels):
        raise ConfigError(r.path_, "reminders.channels", "must be a list of strings", '["log", "webhook"]')
    for ch in channels:
        if ch not in CHANNELS:
            raise ConfigError(
                r.path_, "reminders.channels", f"unknown channel {ch!r}", f"use any of {', '.join(CHANNELS)}"
            )
    template = m.get("template")
    if template is not None:
        if not isinstance(template, str) or not template.strip():
            raise ConfigError(r.path_, "reminders.template", "must be non-empty text")
        check_template(template, r.path_)
    hook = r.section(m, "webhook", prefix="reminders.")
    r.allowed(hook, "reminders.webhook", {"url_env"})
    tg = r.section(m, "telegram", prefix="reminders.")
    r.allowed(tg, "reminders.telegram", {"token_env", "chat_id", "api_base"})
    telegram = TelegramConfig(
        token_env=r.string(tg, "reminders.telegram.token_env", "TELEGRAM_BOT_TOKEN"),
        chat_id=str(tg.get("chat_id", "")),
        api_base=r.string(tg, "reminders.telegram.api_base", "https://api.telegram.org").rstrip("/"),
    )
    if "telegram" in channels and not telegram.chat_id:
        raise ConfigError(
            r.path_,
            "reminders.telegram.chat_id",
            "is empty but the telegram channel is on",
            "set the chat id",
        )
    times = _reminder_times(r, m)
    seed = m.get("seed", "")
    if not isinstance(seed, str | int) or isinstance(seed, bool):
        raise ConfigError(r.path_, "reminders.seed", f"must be text or a whole number, got {seed!r}")
    return RemindersConfig(
        at=times[0],
        times=times if len(times) > 1 else (),
        seed=str(seed),
        channels=tuple(dict.fromkeys(channels)),
        template=template,
        webhook=WebhookConfig(
            url_env=r.string(hook, "reminders.webhook.url_env", "CAMPAIGN_MONITOR_WEBHOOK_URL")
        ),
        telegram=telegram,
    )


def _reminder_times(r: _Reader, m: Mapping[str, Any]) -> tuple[dt.time, ...]:
    """`at`: one time of day, or a list of them (one is drawn each day)."""
    value = m.get("at", "07:00")
    if not isinstance(value, list):
        return (r.clock(m, "reminders.at", "07:00"),)
    if not value:
        raise ConfigError(
            r.path_, "reminders.at", "is an empty list", 'give one time or several: ["07:00", "12:00"]'
        )
    if len(value) > 24:
        raise ConfigError(r.path_, "reminders.at", f"lists {len(value)} times", "list at most 24")
    times = [r.clock({f"at[{i}]": item}, f"reminders.at[{i}]", "07:00") for i, item in enumerate(value)]
    if len(set(times)) != len(times):
        raise ConfigError(r.path_, "reminders.at", "lists a time twice", "list each time once")
    return tuple(times)


def _channels(r: _Reader, m: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    channels = m.get("channels", list(default))
    if not isinstance(channels, list) or not all(isinstance(ch, str) for ch in channels):
        raise ConfigError(r.path_, key, "must be a list of strings", '["log", "telegram"]')
    for ch in channels:
        if ch not in CHANNELS:
            raise ConfigError(r.path_, key, f"unknown channel {ch!r}", f"use any of {', '.join(CHANNELS)}")
    return tuple(dict.fromkeys(channels))


def _route(
    r: _Reader, m: Mapping[str, Any], section: str, channels: tuple[str, ...], base: RemindersConfig
) -> tuple[WebhookConfig, TelegramConfig]:
    """[<section>.webhook] and [<section>.telegram]: each key defaults to the reminder's, so a second
    chat for the digest or the alerts is one line (chat_id)."""
    hook = r.section(m, "webhook", prefix=f"{section}.")
    r.allowed(hook, f"{section}.webhook", {"url_env"})
    tg = r.section(m, "telegram", prefix=f"{section}.")
    r.allowed(tg, f"{section}.telegram", {"token_env", "chat_id", "api_base"})
    webhook = WebhookConfig(url_env=r.string(hook, f"{section}.webhook.url_env", base.webhook.url_env))
    telegram = TelegramConfig(
        token_env=r.string(tg, f"{section}.telegram.token_env", base.telegram.token_env),
        chat_id=str(tg.get("chat_id", base.telegram.chat_id)),
        api_base=r.string(tg, f"{section}.telegram.api_base", base.telegram.api_base).rstrip("/"),
    )
    if "telegram" in channels and not telegram.chat_id:
        raise ConfigError(
            r.path_,
            f"{section}.telegram.chat_id",
            "is empty but the telegram channel is on",
            "set the chat id",
        )
    return webhook, telegram


def _digest(r: _Reader, m: Mapping[str, Any], reminders: RemindersConfig) -> DigestConfig:
    r.allowed(m, "digest", {"at", "channels", "report_url", "webhook", "telegram"})
    channels = _channels(r, m, "digest.channels", reminders.channels)
    webhook, telegram = _route(r, m, "digest", channels, reminders)
    return DigestConfig(
        at=r.clock(m, "digest.at", "07:30"),
        channels=channels,
        report_url=r.string(m, "digest.report_url", "").strip(),
        webhook=webhook,
        telegram=telegram,
    )


def _alerts(r: _Reader, m: Mapping[str, Any], reminders: RemindersConfig) -> AlertsConfig:
    r.allowed(m, "alerts", {"channels", "silent_hours", "min_posts", "webhook", "telegram"})
    channels = _channels(r, m, "alerts.channels", reminders.channels)
    webhook, telegram = _route(r, m, "alerts", channels, reminders)
    return AlertsConfig(
        channels=channels,
        silent_hours=r.number(m, "alerts.silent_hours", 24, 1, 24 * 30),
        min_posts=r.positive(m, "alerts.min_posts", 20),
        webhook=webhook,
        telegram=telegram,
    )


def _submissions(r: _Reader, s: Mapping[str, Any]) -> SubmissionsConfig:
    r.allowed(s, "submissions", {"follow_short_links", "other_campaign_tags", "form", "telegram"})
    tags = s.get("other_campaign_tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(
            r.path_, "submissions.other_campaign_tags", "must be a list of hashtags", '["WeLoveMalang"]'
        )
    form = r.section(s, "form", prefix="submissions.")
    r.allowed(form, "submissions.form", {"timestamp", "member", "links", "date_order"})
    links = form.get("links", ["Link postingan"])
    if isinstance(links, str):
        links = [links]
    if not isinstance(links, list) or not links or not all(isinstance(x, str) and x for x in links):
        raise ConfigError(
            r.path_, "submissions.form.links", "must list the link columns", '["Link postingan"]'
        )
    order = r.string(form, "submissions.form.date_order", "auto")
    if order not in ("auto", "dmy", "mdy"):
        raise ConfigError(
            r.path_, "submissions.form.date_order", f"unknown order {order!r}", 'use "auto", "dmy" or "mdy"'
        )
    tg = r.section(s, "telegram", prefix="submissions.")
    r.allowed(
        tg,
        "submissions.telegram",
        {"enabled", "token_env", "api_base", "groups", "poll_seconds", "every_seconds", "max_wait_seconds"},
    )
    groups = tg.get("groups", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) and g < 0 for g in groups
    ):
        raise ConfigError(
            r.path_,
            "submissions.telegram.groups",
            "must be a list of group chat ids (negative numbers, without quotes)",
            "e.g. [-1001000000001]; the bot's log names the id of a group that writes to it",
        )
    poll = tg.get("poll_seconds", 10)
    if not isinstance(poll, int) or isinstance(poll, bool) or not 0 <= poll <= 50:
        raise ConfigError(r.path_, "submissions.telegram.poll_seconds", "must be 0 to 50 seconds")
    return SubmissionsConfig(
        follow_short_links=r.boolean(s, "submissions.follow_short_links", True),
        other_campaign_tags=tuple(t.strip().lstrip("#").casefold() for t in tags if t.strip().lstrip("#")),
        form=FormConfig(
            timestamp=r.string(form, "submissions.form.timestamp", ""),
            member=r.string(form, "submissions.form.member", "Nama"),
            links=tuple(links),
            date_order=order,
        ),
        telegram=BotConfig(
            enabled=r.boolean(tg, "submissions.telegram.enabled", False),
            token_env=r.string(tg, "submissions.telegram.token_env", "TELEGRAM_BOT_TOKEN"),
            api_base=r.string(tg, "submissions.telegram.api_base", "https://api.telegram.org").rstrip("/"),
            groups=tuple(groups),
            poll_seconds=poll,
            every_seconds=r.positive(tg, "submissions.telegram.every_seconds", 15),
            max_wait_seconds=r.positive(tg, "submissions.telegram.max_wait_seconds", 60),
        ),
    )


def check_template(template: str, path: Path | None = None) -> None:
    """Reject unknown placeholders when the config loads, not at 07:00 on day 12."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(
            path, "reminders.template", f"bad braces: {exc}", "write a literal brace as {{ or }}"
        ) from None
    for name in fields:
        if name not in REMINDER_PLACEHOLDERS:
            raise ConfigError(
                path,
                "reminders.template",
                f"unknown placeholder {{{name}}}",
                "use " + " ".join(f"{{{p}}}" for p in sorted(REMINDER_PLACEHOLDERS)),
            )
    for _, field_name, spec, _ in string.Formatter().parse(template):
        width = max((int(n) for n in re.findall(r"\d+", spec or "")), default=0)
        if field_name is not None and width > MAX_TEMPLATE_WIDTH:
            raise ConfigError(
                path,
                "reminders.template",
                f"the width in {{{field_name}:{spec}}} is above {MAX_TEMPLATE_WIDTH}",
                f"use a width of at most {MAX_TEMPLATE_WIDTH}, e.g. {{{field_name}:>3}}",
            )
    # Fill it once with values of the real types, so a bad format spec ({day:%d}) fails now too.
    sample = {name: "text" for name in REMINDER_PLACEHOLDERS} | {"day": 1, "total_days": 43, "days_left": 42}
    try:
        template.format(**sample)
    except (ValueError, TypeError, IndexError) as exc:
        raise ConfigError(
            path,
            "reminders.template",
            f"cannot be filled in: {exc}",
            "{day} {total_days} {days_left} are numbers",
        ) from None


def _sources(r: _Reader, s: Mapping[str, Any]) -> SourcesConfig:
    r.allowed(s, "sources", {"inbox", "twitter", "instagram", "facebook", "threads"})
    inbox = r.section(s, "inbox", prefix="sources.")
    r.allowed(inbox, "sources.inbox", {"path", "every_minutes", "settle_seconds"})
    tw = r.section(s, "twitter", prefix="sources.")
    r.allowed(
        tw,
        "sources.twitter",
        {
            "enabled",
            "query",
            "token_env",
            "api_base",
            "every_minutes",
            "max_wait_seconds",
            "max_query_length",
        },
    )
    ig = r.section(s, "instagram", prefix="sources.")
    r.allowed(ig, "sources.instagram", {"enabled", "user_id", "token_env", "api_base", "every_minutes"})
    fb = r.section(s, "facebook", prefix="sources.")
    r.allowed(fb, "sources.facebook", {"enabled", "pages", "token_env", "api_base", "every_minutes"})
    pages = fb.get("pages", [])
    if not isinstance(pages, list):
        raise ConfigError(
            r.path_, "sources.facebook.pages", "must be a list of page ids", '["61571000000000"]'
        )
    instagram = InstagramConfig(
        enabled=r.boolean(ig, "sources.instagram.enabled", False),
        user_id=str(ig.get("user_id", "")),
        token_env=r.string(ig, "sources.instagram.token_env", "META_ACCESS_TOKEN"),
        api_base=r.string(ig, "sources.instagram.api_base", "https://graph.facebook.com/v21.0").rstrip("/"),
        every_minutes=r.positive(ig, "sources.instagram.every_minutes", 60, MAX_MINUTES),
    )
    if instagram.enabled and not instagram.user_id:
        raise ConfigError(
            r.path_,
            "sources.instagram.user_id",
            "is empty",
            "set the Instagram Business account id to search as",
        )
    facebook = FacebookConfig(
        enabled=r.boolean(fb, "sources.facebook.enabled", False),
        pages=tuple(str(p) for p in pages),
        token_env=r.string(fb, "sources.facebook.token_env", "META_ACCESS_TOKEN"),
        api_base=r.string(fb, "sources.facebook.api_base", "https://graph.facebook.com/v21.0").rstrip("/"),
        every_minutes=r.positive(fb, "sources.facebook.every_minutes", 60, MAX_MINUTES),
    )
    if facebook.enabled and not facebook.pages:
        raise ConfigError(r.path_, "sources.facebook.pages", "is empty", "list the page ids to collect")
    th = r.section(s, "threads", prefix="sources.")
    r.allowed(
        th,
        "sources.threads",
        {"enabled", "token_env", "api_base", "search_mode", "daily_queries", "every_minutes"},
    )
    mode = r.string(th, "sources.threads.search_mode", "TAG").upper()
    if mode not in ("TAG", "KEYWORD"):
        raise ConfigError(
            r.path_, "sources.threads.search_mode", f"unknown mode {mode!r}", 'use "TAG" or "KEYWORD"'
        )
    threads = ThreadsConfig(
        enabled=r.boolean(th, "sources.threads.enabled", False),
        token_env=r.string(th, "sources.threads.token_env", "THREADS_ACCESS_TOKEN"),
        api_base=r.string(th, "sources.threads.api_base", "https://graph.threads.net/v1.0").rstrip("/"),
        search_mode=mode,
        daily_queries=r.positive(th, "sources.threads.daily_queries", 2200),
        every_minutes=r.positive(th, "sources.threads.every_minutes", 60),
    )
    return SourcesConfig(
        inbox=InboxConfig(
            path=r.path(inbox, "sources.inbox.path", "data/inbox"),
            every_minutes=r.number(inbox, "sources.inbox.every_minutes", 5, MIN_INBOX_MINUTES, MAX_MINUTES),
            settle_seconds=r.number(inbox, "sources.inbox.settle_seconds", 60, 0, MAX_SETTLE_SECONDS),
        ),
        twitter=TwitterConfig(
            enabled=r.boolean(tw, "sources.twitter.enabled", False),
            query=r.string(tw, "sources.twitter.query", "").strip(),
            token_env=r.string(tw, "sources.twitter.token_env", "X_BEARER_TOKEN"),
            api_base=r.string(tw, "sources.twitter.api_base", "https://api.x.com").rstrip("/"),
            every_minutes=r.positive(tw, "sources.twitter.every_minutes", 30, MAX_MINUTES),
            max_wait_seconds=r.positive(tw, "sources.twitter.max_wait_seconds", 60, MAX_WAIT_SECONDS),
            # X allows 512 (Basic) to 4096 (Pro) characters; more is a typo.
            max_query_length=r.positive(tw, "sources.twitter.max_query_length", 512, 4096),
        ),
        instagram=instagram,
        facebook=facebook,
        threads=threads,
    )


def _custom_formats(r: _Reader, entries: list[Any]) -> tuple[CustomFormat, ...]:
    """The [[formats]] entries; a name must not be taken by a built-in format or an earlier entry."""
    if not entries:
        return ()
    from collectors.csv_formats import BUILTIN_FORMATS  # only for a config that has [[formats]]
    from collectors.item_formats import FAMILIES

    taken = {f.name: "a built-in format" for f in BUILTIN_FORMATS}
    taken.update((name, "a built-in JSON format") for name in FAMILIES)
    formats: list[CustomFormat] = []
    for i, entry in enumerate(entries):
        spec = _custom_format(r, entry, i)
        if spec.name in taken:
            raise ConfigError(
                r.path_,
                f"formats[{i}].name",
                f"{spec.name!r} is already {taken[spec.name]}",
                "choose another name",
            )
        taken[spec.name] = f"the name of formats[{i}]"
        formats.append(spec)
    return tuple(formats)


def _custom_format(r: _Reader, f: Any, i: int) -> CustomFormat:
    key = f"formats[{i}]"
    if not isinstance(f, Mapping):
        raise ConfigError(r.path_, key, "must be a table", "write it as [[formats]] with name = ...")
    names = {"name", "platform", "id", "time", "time_format", "author", "text", "likes", "comments", "shares"}
    r.allowed(f, key, names | {"views", "url", "observed", "base", "columns", "date_order"})
    if not f.get("name"):
        raise ConfigError(r.path_, f"{key}.name", "missing", "give the format a name")
    if f.get("base"):
        return _based_format(r, f, key)
    for required in ("platform", "id", "time"):
        if not f.get(required):
            raise ConfigError(r.path_, f"{key}.{required}", "missing", "name the column that holds it")
    platform = str(f["platform"])
    if platform not in (*PLATFORMS, FROM_LINK):
        raise ConfigError(
            r.path_,
            f"{key}.platform",
            f"unknown platform {platform!r}",
            f"use one of {', '.join(PLATFORMS)}, or {FROM_LINK!r} when the id or url column holds links "
            "of several platforms",
        )
    if f.get("columns"):
        raise ConfigError(r.path_, f"{key}.columns", "needs a base", 'add base = "<built-in format>"')
    if f.get("time_format"):
        _check_time_format(r, f"{key}.time_format", str(f["time_format"]))
    return CustomFormat(
        name=str(f["name"]),
        platform=platform,
        id=str(f["id"]),
        time=str(f["time"]),
        time_format=str(f["time_format"]) if f.get("time_format") else None,
        author=str(f.get("author", "")),
        text=str(f.get("text", "")),
        likes=str(f.get("likes", "")),
        comments=str(f.get("comments", "")),
        shares=str(f.get("shares", "")),
        views=str(f.get("views", "")),
        url=str(f.get("url", "")),
        observed=str(f.get("observed", "")),
        date_order=_date_order(r, f, key),
    )


def _based_format(r: _Reader, f: Mapping[str, Any], key: str) -> CustomFormat:
    """`base = "mbs-facebook"` with `[formats.columns]` renaming its columns (a localized export)."""
    from collectors.csv_formats import BUILTIN_FORMATS

    base = str(f["base"])
    builtin = {b.name: b for b in BUILTIN_FORMATS}
    if base not in builtin:
        raise ConfigError(
            r.path_, f"{key}.base", f"{base!r} is not a built-in format", f"use one of {', '.join(builtin)}"
        )
    own = ("id", "time", "author", "text", "likes", "comments", "shares", "views", "url")
    mapped = [k for k in own if f.get(k)]
    if mapped:
        raise ConfigError(
            r.path_,
            f"{key}.{mapped[0]}",
            "is taken from the base format",
            'rename the base\'s column under [formats.columns] instead, e.g. "Post ID" = "ID Postingan"',
        )
    if f.get("platform") and f["platform"] != builtin[base].platform:
        raise ConfigError(
            r.path_, f"{key}.platform", f"{base} is a {builtin[base].platform} format", "leave platform out"
        )
    columns = f.get("columns", {})
    if not isinstance(columns, Mapping) or not all(isinstance(v, str) and v for v in columns.values()):
        raise ConfigError(
            r.path_,
            f"{key}.columns",
            "must be a table of column names",
            'write [formats.columns] with lines like "Post ID" = "ID Postingan"',
        )
    known = {c.casefold() for c in _columns_of(builtin[base])}
    unknown = [c for c in columns if c.casefold() not in known]
    if unknown:
        raise ConfigError(
            r.path_,
            f"{key}.columns",
            f"{unknown[0]!r} is not a column of {base}",
            f"name one of: {', '.join(sorted(_columns_of(builtin[base])))}",
        )
    if f.get("time_format"):
        _check_time_format(r, f"{key}.time_format", str(f["time_format"]))
    return CustomFormat(
        name=str(f["name"]),
        platform=builtin[base].platform,
        id="",
        time="",
        time_format=str(f["time_format"]) if f.get("time_format") else None,
        observed=str(f.get("observed", "")),
        base=base,
        columns={str(k): str(v) for k, v in columns.items()},
        date_order=_date_order(r, f, key),
    )


def _columns_of(fmt: Any) -> set[str]:
    """Every column name a built-in format reads or requires."""
    names: set[str] = set(fmt.signature)
    for group in fmt.one_of:
        names.update(group)
    refs = [fmt.key, fmt.time, fmt.key_fallback, fmt.url, fmt.author_id, fmt.author_handle, fmt.author_name]
    refs += [*fmt.text, *fmt.likes, *fmt.comments, *fmt.shares, *fmt.views, fmt.hashtag_list, fmt.repost]
    refs.append(fmt.observed)
    for ref in refs:
        if isinstance(ref, str):
            names.add(ref)
        elif isinstance(ref, tuple):
            names.update(ref)
    return names


def _date_order(r: _Reader, f: Mapping[str, Any], key: str) -> str | None:
    value = f.get("date_order")
    if value is None:
        return None
    orders = {"day-first": "dmy", "month-first": "mdy"}
    if value not in orders:
        raise ConfigError(r.path_, f"{key}.date_order", f"is {value!r}", 'use "day-first" or "month-first"')
    return orders[str(value)]


def _check_time_format(r: _Reader, key: str, fmt: str) -> None:
    """A strptime format must read back a time it wrote, date included (else every row is a reject)."""
    sample = dt.datetime(2022, 10, 5, 19, 30, 15, tzinfo=dt.UTC)
    try:
        back = dt.datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        raise ConfigError(
            r.path_, key, f"{fmt!r} cannot read the times it describes ({exc})", 'e.g. "%d/%m/%Y %H:%M"'
        ) from None
    if back.date() != sample.date():
        raise ConfigError(
            r.path_, key, f"{fmt!r} lacks the day, month or year", "use %d, %m (or %b) and %Y (or %y)"
        )


_ZONE_NAME = re.compile(r"[A-Z]{1,6}")
_ZONE_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


def _zones(r: _Reader, table: Mapping[str, Any]) -> dict[str, dt.tzinfo]:
    """[zones]: what a time zone abbreviation in an export means, e.g. CST = "-06:00"."""
    hint = 'write it as "+HH:MM", "-HH:MM" or an IANA name, e.g. CST = "-06:00" or "Asia/Shanghai"'
    zones: dict[str, dt.tzinfo] = {}
    for name, value in table.items():
        key = f"zones.{name}"
        if not _ZONE_NAME.fullmatch(name):
            raise ConfigError(r.path_, key, "must be an abbreviation in capital letters", hint)
        if not isinstance(value, str):
            raise ConfigError(r.path_, key, f"must be text, got {value!r}", hint)
        offset = _ZONE_OFFSET.fullmatch(value)
        if offset:
            hours, minutes = int(offset.group(2)), int(offset.group(3))
            if hours > 14 or minutes > 59:
                raise ConfigError(r.path_, key, f"{value!r} is not a UTC offset", hint)
            delta = dt.timedelta(hours=hours, minutes=minutes)
            zones[name] = dt.timezone(-delta if offset.group(1) == "-" else delta, name)
            continue
        try:
            zones[name] = ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ConfigError(
                r.path_, key, f"{value!r} is neither a UTC offset nor a time zone", hint
            ) from None
    return zones


class _Reader:
    """Typed getters that raise ConfigError with the file and key."""

    def __init__(self, path: Path) -> None:
        self.path_ = path

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.path_.parent / p)

    def section(
        self, data: Mapping[str, Any], name: str, required: bool = False, prefix: str = ""
    ) -> Mapping[str, Any]:
        value = data.get(name)
        if value is None:
            if required:
                raise ConfigError(
                    self.path_, prefix + name, "section missing", f"add a [{prefix}{name}] table"
                )
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(self.path_, prefix + name, "must be a table", f"write it as [{prefix}{name}]")
        return value

    def allowed(self, data: Mapping[str, Any], where: str, keys: set[str]) -> None:
        for k in data:
            if k not in keys:
                close = sorted(keys, key=lambda c: _distance(c, k))[0]
                full = f"{where}.{k}" if where else k
                raise ConfigError(self.path_, full, "unknown key", f"did you mean {close!r}?")

    def string(self, data: Mapping[str, Any], key: str, default: str) -> str:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, str):
            raise ConfigError(self.path_, key, f"must be text, got {value!r}", 'put it in quotes: "..."')
        return value

    def boolean(self, data: Mapping[str, Any], key: str, default: bool) -> bool:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise ConfigError(self.path_, key, f"must be true or false, got {value!r}")
        return value

    def positive(self, data: Mapping[str, Any], key: str, default: int, maximum: int = 10**6) -> int:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
            raise ConfigError(
                self.path_, key, f"must be a whole number from 1 to {maximum}, got {_shown(value)}"
            )
        return value

    def number(
        self, data: Mapping[str, Any], key: str, default: float, minimum: float, maximum: float
    ) -> float:
        """A finite number within [minimum, maximum] (TOML also writes inf and nan)."""
        value = data.get(key.rsplit(".", 1)[-1], default)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not minimum <= value <= maximum
        ):
            raise ConfigError(
                self.path_, key, f"must be a number from {minimum:g} to {maximum:g}, got {_shown(value)}"
            )
        return float(value)

    def date(self, data: Mapping[str, Any], key: str) -> dt.date:
        name = key.rsplit(".", 1)[-1]
        if name not in data:
            raise ConfigError(self.path_, key, "missing", "write it as a TOML date, e.g. 2022-09-19")
        value = data[name]
        if isinstance(value, dt.datetime):
            raise ConfigError(self.path_, key, "must be a date without a time", "e.g. 2022-09-19")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(
            self.path_, key, f"{value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2022-09-19"
        )

    def clock(self, data: Mapping[str, Any], key: str, default: str) -> dt.time:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(
            self.path_, key, f"{value!r} is not a time of day", 'write it as "HH:MM", e.g. "07:00"'
        )

    def path(self, data: Mapping[str, Any], key: str, default: str) -> Path:
        return self.resolve(self.string(data, key, default))


def _shown(value: Any) -> str:
    """A bad value for a message: short, whatever its type or size."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for 'did you mean' hints."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
