"""Alerts: a short message the moment something breaks, at most once per cause and day.

Each alert has a kind and a key (what it is about); (kind, key, local day, channel) is one row of
the `alerts` table and is sent at most once, through the outbox (monitor.outbox), on the channels
of [alerts] (default: the reminder's). A failed alert is tried again by the next check of the same
day; an alert of a past day is never sent late.

Kinds (key):
- source_failed (<source>:<reason>): an API collector's last run failed; reason token_missing,
  token_invalid, forbidden, rate_limited or error, each with what to do (which *_env to renew);
- source_recovered (<source>): the next run after an alerted failure succeeded;
- token_expiring (<token_env>): the Graph API says the Meta token expires within TOKEN_WARN_DAYS;
- inbox_failed (<file name>): the inbox moved a file to failed/, with the one-line reason;
- source_silent (<source>): a source that brought posts on each of the REGULAR_DAYS days up to its
  last arrival has brought none for [alerts] silent_hours;
- posts_low / posts_high (<day>): a day's campaign posts far from what the 7 days before predict
  (see `volume_alert`); the spike names the posts and accounts that drove it;
- report_failed (<day>), reminder_failed (<channel>): a scheduled job did not do its work.

Every text is built from our own words, names and the collectors' error texts, which are redacted
already; they are redacted once more with every configured secret before they are stored or sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import requests
from sqlalchemy import Engine, Table, func, select

from collectors.http import get_json, make_session, redact
from monitor.campaign import CampaignCalendar
from monitor.channels import Outgoing, new_session
from monitor.config import Config, secret_values
from monitor.db import readonly
from monitor.errors import SourceError
from monitor.models import Alert, CollectionRun, Post
from monitor.outbox import DRY_RUN, FAILED, SENDING, Delivery, Outbox, live_claim
from monitor.reminders import human_date
from monitor.tables import table_cell, table_lines
from reports.files import neutralize
from reports.queries import ReportScope, author_label, campaign_filter

log = logging.getLogger("campaign_monitor.alerts")

alerts_t = cast(Table, Alert.__table__)
runs_t = cast(Table, CollectionRun.__table__)
OUTBOX = Outbox(alerts_t, "alert")

TOKEN_WARN_DAYS = 7
REGULAR_DAYS = 3  # a source "reports every day" when it brought posts on each of these days
HISTORY_DAYS = 7  # the volume baseline: the 7 days before the day judged
CSV_COLUMNS = ("date", "kind", "key", "channel", "status", "attempts", "sent_at", "message")


@dataclass(frozen=True)
class AlertMessage:
    kind: str
    key: str
    text: str


@dataclass(frozen=True)
class AlertDelivery:
    alert: AlertMessage
    delivery: Delivery


# ---------------------------------------------------------------------------------------------------------
# Words

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "token_missing": "{source} gagal: variabel lingkungan {env} kosong. Isi dengan token akses, "
        "lalu jalankan lagi.",
        "token_invalid": "{source} gagal: token tidak berlaku atau sudah kedaluwarsa (401). Buat token "
        "baru dan simpan di variabel lingkungan {env}.",
        "forbidden": "{source} gagal: akses ditolak (403). Periksa izin aplikasi, atau perbarui token "
        "di variabel lingkungan {env}.",
        "rate_limited": "{source} dibatasi platform sampai {until}. Putaran berikutnya melanjutkan "
        "sendiri; tidak perlu tindakan.",
        "error": "{source} gagal: {detail}",
        "recovered": "{source} pulih: pengambilan terakhir berhasil ({when}).",
        "token_expiring": "Token Meta di {env} kedaluwarsa {until} ({days} hari lagi). Buat token baru "
        "dan simpan di {env} sebelum itu.",
        "inbox_failed": "Berkas {name} ditolak dan dipindah ke failed/: {reason}",
        "silent": "{source} tidak membawa postingan selama {hours} jam (terakhir {when}), padahal "
        "biasanya setiap hari. Periksa pengambil data atau ekspor rutinnya.",
        "posts_low": "Postingan kampanye {date}: {posts}, jauh di bawah biasanya (median 7 hari "
        "sebelumnya {median}). Periksa sumber data dan ingatkan anggota.",
        "posts_high": "Postingan kampanye {date}: {posts}, jauh di atas biasanya (median 7 hari "
        "sebelumnya {median}). Pendorong: {posts_list}. Akun: {accounts}.",
        "report_failed": "Laporan harian {date} gagal dibuat: {detail}",
        "reminder_failed": "Pengingat vote {date} lewat {channel} gagal: {detail}. Dicoba lagi tiap "
        "15 menit hari ini.",
        "interactions": "interaksi",
        "posts_word": "postingan",
        "unknown_time": "waktu yang tidak disebut",
    },
    "en": {
        "token_missing": "{source} failed: the environment variable {env} is empty. Put the access "
        "token there, then run again.",
        "token_invalid": "{source} failed: the token is invalid or expired (401). Make a new one and "
        "put it in the environment variable {env}.",
        "forbidden": "{source} failed: access refused (403). Check the app's permissions, or renew the "
        "token in the environment variable {env}.",
        "rate_limited": "{source} is rate limited until {until}. The next run after that continues "
        "by itself; nothing to do.",
        "error": "{source} failed: {detail}",
        "recovered": "{source} recovered: the last run succeeded ({when}).",
        "token_expiring": "The Meta token in {env} expires on {until} (in {days} days). Make a new "
        "one and put it in {env} before then.",
        "inbox_failed": "File {name} was refused and moved to failed/: {reason}",
        "silent": "{source} has brought no posts for {hours} hours (last at {when}), though it did "
        "every day before. Check the collector or the export routine.",
        "posts_low": "Campaign posts on {date}: {posts}, far below the usual (median of the 7 days "
        "before: {median}). Check the sources and remind the members.",
        "posts_high": "Campaign posts on {date}: {posts}, far above the usual (median of the 7 days "
        "before: {median}). Driven by: {posts_list}. Accounts: {accounts}.",
        "report_failed": "The daily report of {date} failed: {detail}",
        "reminder_failed": "The vote reminder of {date} via {channel} failed: {detail}. It is tried "
        "again every 15 minutes today.",
        "interactions": "interactions",
        "posts_word": "posts",
        "unknown_time": "an unknown time",
    },
}


def _words(config: Config) -> dict[str, str]:
    return WORDS.get(config.campaign.language, WORDS["en"])


def _when(calendar: CampaignCalendar, instant: dt.datetime, language: str) -> str:
    local = instant.astimezone(calendar.tz)
    return f"{human_date(local.date(), language)} {local:%H:%M}"


# ---------------------------------------------------------------------------------------------------------
# Collector runs: failure and recovery


def classify_failure(status: str, error: str | None) -> tuple[str, str]:
    """(reason, detail) of a failed run from its status and its recorded (redacted) error text."""
    text = error or ""
    low = text.lower()
    if status == "rate_limited":
        match = re.search(r"rate limited until (\S+?)(?::\s|$)", text)
        return "rate_limited", match.group(1) if match else ""
    if "is not set" in low and "environment variable" in low:
        return "token_missing", ""
    if (
        "token was refused" in low
        or "expired or is invalid" in low
        or "http 401" in low
        or "(code 190)" in low
    ):
        return "token_invalid", ""
    if "access denied" in low or "permission missing" in low or "http 403" in low:
        return "forbidden", ""
    first = text.split("; ")[0]
    return "error", " ".join(first.split())[:300]


def source_alerts(
    config: Config, engine: Engine, calendar: CampaignCalendar, names: Iterable[str] | None = None
) -> list[AlertMessage]:
    """Failure and recovery alerts from the last finished run of each enabled API source."""
    from monitor.collect import RUN_SOURCES, enabled_sources

    words = _words(config)
    language = config.campaign.language
    wanted = list(names) if names is not None else enabled_sources(config)
    alerts = []
    with readonly(engine).connect() as conn:
        for name in wanted:
            run_source = RUN_SOURCES.get(name)
            if run_source is None:
                continue
            run = conn.execute(
                select(runs_t)
                .where(runs_t.c.source == run_source, runs_t.c.status != "running")
                .order_by(runs_t.c.id.desc())
                .limit(1)
            ).first()
            if run is None:
                continue
            env = getattr(config.sources, name).token_env
            if run.status in ("failed", "rate_limited") or (run.status == "partial" and not run.pages):
                reason, detail = classify_failure(run.status, run.error)
                until = detail
                if reason == "rate_limited":
                    try:
                        until = _when(calendar, dt.datetime.fromisoformat(detail), language)
                    except ValueError:
                        until = words["unknown_time"]
                text = words[reason].format(source=run_source, env=env, until=until, detail=detail)
                alerts.append(AlertMessage("source_failed", f"{run_source}:{reason}", text))
            elif run.status in ("ok", "partial") and _open_failure(conn, run_source):
                when = _when(calendar, run.finished_at or run.started_at, language)
                text = words["recovered"].format(source=run_source, when=when)
                alerts.append(AlertMessage("source_recovered", run_source, text))
    return alerts


def _open_failure(conn: Any, run_source: str) -> bool:
    """Was a failure of this source alerted after its last recovery message?"""

    def last_id(kind: str, key_filter: Any) -> int:
        value = conn.execute(
            select(func.max(alerts_t.c.id)).where(alerts_t.c.kind == kind, key_filter)
        ).scalar()
        return int(value or 0)

    failed = last_id("source_failed", alerts_t.c.key.startswith(f"{run_source}:"))
    recovered = last_id("source_recovered", alerts_t.c.key == run_source)
    return failed > recovered


# ---------------------------------------------------------------------------------------------------------
# The Meta token's own expiry date


def token_expiry_alerts(
    config: Config,
    calendar: CampaignCalendar,
    session_factory: Callable[[], requests.Session] = make_session,
) -> list[AlertMessage]:
    """Ask the Graph API when the Meta token expires (debug_token, the API's own answer) and warn
    when that is within TOKEN_WARN_DAYS. A token that never expires (expires_at 0), an answer
    without the date or a failed request says nothing (a refused token alerts through its run)."""
    words = _words(config)
    alerts: list[AlertMessage] = []
    seen: set[str] = set()
    for name in ("instagram", "facebook"):
        cfg = getattr(config.sources, name)
        if not cfg.enabled or cfg.token_env in seen:
            continue
        seen.add(cfg.token_env)
        token = os.environ.get(cfg.token_env, "").strip()
        if not token:
            continue
        try:
            with session_factory() as session:
                answer = get_json(
                    session,
                    f"{cfg.api_base}/debug_token",
                    {"input_token": token, "access_token": token},
                    secrets=[token],
                    timeout=(5.0, 20.0),
                )
        except SourceError as exc:
            log.info("could not ask when the Meta token expires: %s", exc)
            continue
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        expires = data.get("expires_at") if isinstance(data, dict) else None
        if not isinstance(expires, int) or isinstance(expires, bool) or expires <= 0:
            continue
        until = dt.datetime.fromtimestamp(expires, dt.UTC)
        left = until - calendar.now()
        if dt.timedelta(0) <= left <= dt.timedelta(days=TOKEN_WARN_DAYS):
            text = words["token_expiring"].format(
                env=cfg.token_env,
                until=_when(calendar, until, config.campaign.language),
                days=max(0, left.days),
            )
            alerts.append(AlertMessage("token_expiring", cfg.token_env, text))
    return alerts


# ---------------------------------------------------------------------------------------------------------
# The inbox, the jobs


def inbox_alerts(config: Config, failed: Iterable[Path]) -> list[AlertMessage]:
    """One alert per file the inbox moved to failed/, with the reason written beside it."""
    words = _words(config)
    alerts = []
    for path in failed:
        why = path.with_name(path.name + ".why.txt")
        try:
            reason = " ".join(why.read_text(encoding="utf-8").split())[:300]
        except OSError:
            reason = "?"
        alerts.append(
            AlertMessage(
                "inbox_failed", path.name, words["inbox_failed"].format(name=path.name, reason=reason)
            )
        )
    return alerts


def report_alert(config: Config, day: dt.date, detail: str) -> AlertMessage:
    text = _words(config)["report_failed"].format(date=day.isoformat(), detail=" ".join(detail.split())[:300])
    return AlertMessage("report_failed", day.isoformat(), text)


def reminder_alert(config: Config, day: dt.date, channel: str, detail: str) -> AlertMessage:
    text = _words(config)["reminder_failed"].format(date=day.isoformat(), channel=channel, detail=detail)
    return AlertMessage("reminder_failed", channel, text)


# ---------------------------------------------------------------------------------------------------------
# A source gone silent


def silent_alerts(config: Config, engine: Engine, calendar: CampaignCalendar) -> list[AlertMessage]:
    """Sources (file formats and API collectors) that brought posts on each of the REGULAR_DAYS
    local days up to their last arrival, and nothing for [alerts] silent_hours since. An arrival
    is a finished run that read at least one item."""
    now = calendar.now()
    hours = config.alerts.silent_hours
    since = now - dt.timedelta(hours=hours) - dt.timedelta(days=REGULAR_DAYS + 14)
    runs = CollectionRun
    query = (
        select(runs.source, runs.started_at)
        .where(
            runs.started_at >= since,
            runs.rows_read > 0,
            runs.status.in_(("ok", "partial")),
            runs.source.not_like("job:%"),
        )
        .order_by(runs.source, runs.started_at)
    )
    with readonly(engine).connect() as conn:
        rows = conn.execute(query).all()
    arrivals: dict[str, list[dt.datetime]] = {}
    for source, started in rows:
        arrivals.setdefault(source, []).append(started)
    words = _words(config)
    alerts = []
    for source, times in arrivals.items():
        last = max(times)
        if now - last < dt.timedelta(hours=hours):
            continue
        days = {calendar.local_date(t) for t in times}
        last_day = calendar.local_date(last)
        if not all(last_day - dt.timedelta(days=i) in days for i in range(REGULAR_DAYS)):
            continue
        text = words["silent"].format(
            source=source,
            hours=int((now - last).total_seconds() // 3600),
            when=_when(calendar, last, config.campaign.language),
        )
        alerts.append(AlertMessage("source_silent", source, text))
    return alerts


# ---------------------------------------------------------------------------------------------------------
# A day far from the usual


@dataclass(frozen=True)
class Baseline:
    """What the HISTORY_DAYS days before a day predict: their median and median absolute deviation."""

    median: float
    mad: float

    def low(self, posts: int, min_posts: int) -> bool:
        """Far below: the usual is at least min_posts, and the day has less than half of it and
        lies more than 3 MAD under it."""
        return self.median >= min_posts and posts < self.median - max(3 * self.mad, self.median / 2)

    def high(self, posts: int, min_posts: int) -> bool:
        """Far above: the day has at least min_posts, more than twice the usual, and lies more than
        3 MAD over it."""
        return posts >= min_posts and posts > self.median + max(3 * self.mad, self.median)


def baseline(history: Sequence[int]) -> Baseline:
    median = statistics.median(history)
    return Baseline(float(median), float(statistics.median(abs(x - median) for x in history)))


def daily_posts(engine: Engine, config: Config, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    scope = ReportScope(config.campaign, start, end)
    query = select(Post.local_date, func.count()).where(campaign_filter(scope)).group_by(Post.local_date)
    with readonly(engine).connect() as conn:
        counts = {_as_date(day): int(n) for day, n in conn.execute(query)}
    return {
        start + dt.timedelta(days=i): counts.get(start + dt.timedelta(days=i), 0)
        for i in range((end - start).days + 1)
    }


def volume_alert(
    config: Config, engine: Engine, calendar: CampaignCalendar, day: dt.date
) -> AlertMessage | None:
    """posts_low / posts_high for local `day` against the HISTORY_DAYS days before it (all inside
    the campaign window), or None. See Baseline for the rule and docs/alerts.md for examples."""
    first = day - dt.timedelta(days=HISTORY_DAYS)
    if first < calendar.start or not calendar.contains(day):
        return None
    counts = daily_posts(engine, config, first, day)
    posts = counts.pop(day)
    base = baseline(list(counts.values()))
    words = _words(config)
    median = f"{base.median:g}"
    if base.low(posts, config.alerts.min_posts):
        text = words["posts_low"].format(date=day.isoformat(), posts=posts, median=median)
        return AlertMessage("posts_low", day.isoformat(), text)
    if base.high(posts, config.alerts.min_posts):
        top_posts, accounts = _drivers(engine, config, day, words)
        text = words["posts_high"].format(
            date=day.isoformat(), posts=posts, median=median, posts_list=top_posts, accounts=accounts
        )
        return AlertMessage("posts_high", day.isoformat(), text)
    return None


def _drivers(engine: Engine, config: Config, day: dt.date, words: dict[str, str]) -> tuple[str, str]:
    """The 3 posts with the most interactions and the 3 accounts with the most posts of `day`."""
    scope = ReportScope(config.campaign, day, day)
    inter = func.coalesce(Post.likes, 0) + func.coalesce(Post.comments, 0) + func.coalesce(Post.shares, 0)
    author = func.coalesce(Post.author_id, func.lower(Post.author_handle))
    with readonly(engine).connect() as conn:
        posts = conn.execute(
            select(Post.platform, Post.author_handle, Post.author_name, Post.author_id, inter, Post.url)
            .where(campaign_filter(scope))
            .order_by(inter.desc(), Post.created_at, Post.id)
            .limit(3)
        ).all()
        accounts = conn.execute(
            select(
                Post.platform, func.max(Post.author_handle), func.max(Post.author_name), author, func.count()
            )
            .where(campaign_filter(scope), author.is_not(None))
            .group_by(Post.platform, author)
            .order_by(func.count().desc(), author)
            .limit(3)
        ).all()
    post_list = "; ".join(
        f"{author_label(p[1], p[2], p[3])} ({p[0]}, {p[4]} {words['interactions']}) {p[5] or ''}".strip()
        for p in posts
    )
    account_list = ", ".join(
        f"{author_label(a[1], a[2], a[3])} ({a[0]}, {a[4]} {words['posts_word']})" for a in accounts
    )
    return post_list, account_list


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------------------
# Send


def send_alerts(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    alerts: Iterable[AlertMessage],
    dry_run: bool = False,
) -> list[AlertDelivery]:
    """Send each alert on every [alerts] channel unless this cause was already alerted today (then
    the delivery says already_sent). dry_run sends and records nothing."""
    today = calendar.today()
    secrets = secret_values(config)
    results = []
    session: requests.Session | None = None
    try:
        for alert in alerts:
            alert = AlertMessage(alert.kind, alert.key, redact(alert.text, secrets))
            for channel in config.alerts.channels:
                if dry_run:
                    results.append(AlertDelivery(alert, Delivery(channel, DRY_RUN, alert.text)))
                    continue
                session = session or new_session()
                identity = {
                    "kind": alert.kind,
                    "key": alert.key[:255],
                    "local_date": today,
                    "channel": channel,
                }
                outgoing = Outgoing(
                    today,
                    calendar.day_number(today),
                    alert.text,
                    kind="alert",
                    ref=f"{alert.kind}:{alert.key}",
                )
                delivery = OUTBOX.send(engine, identity, outgoing, config.alerts, session, calendar.now)
                results.append(AlertDelivery(alert, delivery))
    finally:
        if session is not None:
            session.close()
    return results


def notify(
    config: Config, engine: Engine, calendar: CampaignCalendar, alerts: Iterable[AlertMessage]
) -> None:
    """Send alerts from inside a job: a problem with the alerts must never fail the job itself."""
    try:
        for result in send_alerts(config, engine, calendar, list(alerts)):
            # The log channel writes the alert itself (at WARNING); the others are noted here.
            if result.delivery.status == "sent" and result.delivery.channel != "log":
                log.info("alert sent via %s: %s", result.delivery.channel, result.alert.text)
    except Exception:
        log.exception("could not send an alert")


def retry_failed(config: Config, engine: Engine, calendar: CampaignCalendar) -> list[AlertDelivery]:
    """Today's alerts that failed (or whose sender died) are sent again with their stored text;
    those of past days become missed (never sent late)."""
    now = calendar.now()
    today = calendar.today()
    OUTBOX.close_open_rows(engine, today, now)
    with readonly(engine).connect() as conn:
        rows = conn.execute(
            select(alerts_t).where(alerts_t.c.local_date == today, alerts_t.c.status.in_((FAILED, SENDING)))
        ).all()
    pending = [
        AlertMessage(r.kind, r.key, r.message)
        for r in rows
        if r.channel in config.alerts.channels and not live_claim(r, now)
    ]
    return send_alerts(config, engine, calendar, dict.fromkeys(pending))


def check(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    session_factory: Callable[[], requests.Session] = make_session,
    ask_token_expiry: bool = True,
) -> list[AlertMessage]:
    """Every alert the database and the APIs show now: collector failures and recoveries, a Meta
    token about to expire (ask_token_expiry: one Graph call per Meta token), silent sources, and
    yesterday's volume (once the day is complete)."""
    alerts = source_alerts(config, engine, calendar)
    if ask_token_expiry:
        alerts += token_expiry_alerts(config, calendar, session_factory)
    alerts += silent_alerts(config, engine, calendar)
    volume = volume_alert(config, engine, calendar, calendar.today() - dt.timedelta(days=1))
    if volume is not None:
        alerts.append(volume)
    return alerts


# ---------------------------------------------------------------------------------------------------------
# The log


@dataclass(frozen=True)
class AlertEntry:
    local_date: dt.date
    kind: str
    key: str
    channel: str
    status: str
    attempts: int
    sent_at: dt.datetime | None
    message: str
    error: str | None


def alert_log(engine: Engine, day: dt.date | None = None) -> list[AlertEntry]:
    """The alerts table (of one day, or all), oldest first."""
    query = select(alerts_t).order_by(alerts_t.c.local_date, alerts_t.c.id)
    if day is not None:
        query = query.where(alerts_t.c.local_date == day)
    with readonly(engine).connect() as conn:
        rows = conn.execute(query).all()
    return [
        AlertEntry(
            r.local_date, r.kind, r.key, r.channel, r.status, r.attempts, r.sent_at, r.message, r.error
        )
        for r in rows
    ]


def write_log_csv(entries: Iterable[AlertEntry], stream: IO[str], calendar: CampaignCalendar) -> None:
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        sent_at = e.sent_at.astimezone(calendar.tz).isoformat(timespec="seconds") if e.sent_at else ""
        writer.writerow(
            [
                e.local_date.isoformat(),
                e.kind,
                neutralize(e.key),
                e.channel,
                e.status,
                e.attempts,
                sent_at,
                neutralize(e.message),
            ]
        )


def format_log_table(entries: Sequence[AlertEntry], calendar: CampaignCalendar) -> str:
    if not entries:
        return "no alerts recorded yet"
    header = ("date", "kind", "channel", "status", f"sent at ({calendar.tz.key})", "message")
    rows = [
        (
            e.local_date.isoformat(),
            e.kind,
            e.channel,
            e.status,
            e.sent_at.astimezone(calendar.tz).strftime("%H:%M") if e.sent_at else "",
            table_cell(e.message if e.status != FAILED else f"{e.message} [{e.error}]", 100),
        )
        for e in entries
    ]
    return "\n".join(table_lines(header, rows))
