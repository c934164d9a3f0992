"""The daily vote reminder: compose it, claim it, deliver it, record it - once per day and channel.

The campaign asked residents to vote for the city on the website once a day; the reminder says so
each morning. Every (local date, channel) has one row in vote_reminders, and the row is how "at most
one recorded delivery" holds across re-runs, restarts and two processes at the same moment (a
receiver may still see a repeat if a process dies between its POST and the record; docs/reminders.md):

1. claim - a short write transaction (BEGIN IMMEDIATE on SQLite, so claims are serialized) turns the
   row into `sending` with a fresh claim_token, unless it is `sent` or held by a live claim;
2. deliver - outside any transaction (never hold the database lock across an HTTP call);
3. record - `sent` or `failed`, only if our claim_token is still on the row.

A `failed` row is claimed again by the next run (attempts counts the tries). A `sending` row older
than LEASE, or whose claim names a process of this machine that is gone (a `remind` killed
mid-delivery: the claim token starts with `<pid>@<host>`), may be claimed again by the next `remind`
of that day, so cron users need not wait for `run`. A day that has passed is never sent late: its
open rows become `missed`.

When the database is locked just after a channel took the message, the record is retried (for up
to RECORD_RETRY_SECONDS, holding the claim) and never answered by sending again; if it still cannot
be written, the fact is kept in `<database>.runs/unrecorded-reminders.jsonl` and recorded by the next
`remind` before it claims anything.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.campaign import CampaignCalendar
from monitor.channels import DeliveryFailed, Outgoing, deliver, new_session
from monitor.config import Config
from monitor.db import readonly
from monitor.errors import ConfigError, UsageError
from monitor.models import VoteReminder
from monitor.redaction import scrub
from monitor.run_owners import owners_folder
from reports.files import neutralize

log = logging.getLogger("campaign_monitor.reminders")

LEASE = dt.timedelta(minutes=10)  # far longer than one delivery can take with its timeouts
RECORD_RETRY_SECONDS = 120.0  # how long a locked database is waited for after a delivery (read at call time)
UNRECORDED = "unrecorded-reminders.jsonl"

# Row statuses (vote_reminders.status) and the extra outcomes a Delivery can report.
SENDING, SENT, FAILED, MISSED = "sending", "sent", "failed", "missed"
ALREADY_SENT, IN_PROGRESS, DRY_RUN, OUTSIDE_WINDOW = (
    "already_sent",
    "in_progress",
    "dry_run",
    "outside_window",
)

reminders_t = cast(Table, VoteReminder.__table__)

CSV_COLUMNS = ("date", "campaign_day", "channel", "status", "attempts", "sent_at", "message")


@dataclass(frozen=True)
class Delivery:
    """What happened to the reminder on one channel.

    status: sent | failed | already_sent | in_progress | missed | dry_run | outside_window.
    error: the (redacted) reason for `failed`, else None.
    """

    channel: str
    status: str
    message: str
    error: str | None = None


# ---------------------------------------------------------------------------------------------------------
# Compose

DEFAULT_TEMPLATES = {
    "id": (
        "Ayo vote Kota {city} hari ini!\n"
        "Hari ke-{day} dari {total_days} ({date}), tinggal {days_left} hari lagi.\n"
        "Cara vote (sekali setiap hari):\n"
        "1. Buka {vote_url}\n"
        "2. Pilih bendera Indonesia\n"
        "3. Klik {city}\n"
        "4. Klik Vote\n"
        "Jangan lupa posting dengan {hashtags}"
    ),
    "en": (
        "Vote for {city} today!\n"
        "Campaign day {day} of {total_days} ({date}), days left after today: {days_left}.\n"
        "How to vote (once every day):\n"
        "1. Open {vote_url}\n"
        "2. Choose the Indonesian flag\n"
        "3. Click {city}\n"
        "4. Click Vote\n"
        "And post with {hashtags}"
    ),
}

# The last day has no "days left"; it gets its own line so the message does not say "0 days left".
LAST_DAY_TEMPLATES = {
    "id": (
        "Hari terakhir! Vote Kota {city} sekali lagi hari ini.\n"
        "Hari ke-{day} dari {total_days} ({date}).\n"
        "Cara vote:\n"
        "1. Buka {vote_url}\n"
        "2. Pilih bendera Indonesia\n"
        "3. Klik {city}\n"
        "4. Klik Vote\n"
        "Terima kasih! {hashtags}"
    ),
    "en": (
        "Last day! Vote for {city} one more time today.\n"
        "Campaign day {day} of {total_days} ({date}).\n"
        "How to vote:\n"
        "1. Open {vote_url}\n"
        "2. Choose the Indonesian flag\n"
        "3. Click {city}\n"
        "4. Click Vote\n"
        "Thank you! {hashtags}"
    ),
}

_WEEKDAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "id": (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def human_date(day: dt.date, language: str) -> str:
    """'Sabtu, 1 Oktober 2022' / 'Saturday, 1 October 2022' (no locale needed)."""
    lang = language if language in _WEEKDAYS else "en"
    return f"{_WEEKDAYS[lang][day.weekday()]}, {day.day} {_MONTHS[lang][day.month - 1]} {day.year}"


def template_values(config: Config, calendar: CampaignCalendar, day: dt.date) -> dict[str, Any]:
    """The values of the template placeholders for `day` (the names of config.REMINDER_PLACEHOLDERS)."""
    campaign = config.campaign
    return {
        "day": calendar.day_number(day),
        "total_days": calendar.total_days,
        "days_left": calendar.days_left(day),
        "date": human_date(day, campaign.language),
        "city": campaign.city or campaign.name,
        "vote_url": campaign.vote_url,
        "hashtags": " ".join(f"#{tag}" for tag in campaign.hashtags),
    }


def compose_message(config: Config, calendar: CampaignCalendar, day: dt.date) -> str:
    """The reminder text for local `day`: config.reminders.template, else the built-in one."""
    template = config.reminders.template
    if template is None:
        templates = LAST_DAY_TEMPLATES if day == calendar.end else DEFAULT_TEMPLATES
        template = templates.get(config.campaign.language, templates["en"])
    try:
        return template.format(**template_values(config, calendar, day)).strip()
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        # Names are checked at load (check_template); a bad format spec like {city:d} shows up here.
        raise ConfigError(
            config.path, "reminders.template", f"cannot fill it in: {exc}", "check the placeholder formats"
        ) from None


# ---------------------------------------------------------------------------------------------------------
# Send


def send_reminders(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    day: dt.date | None = None,
    dry_run: bool = False,
) -> list[Delivery]:
    """Send the vote reminder for `day` (default: today) on every configured channel, once.

    Safe to call any number of times, from any number of processes: a channel already `sent` for
    the day is reported as already_sent, one being sent right now as in_progress. A day outside the
    campaign gets no reminder (outside_window); a past day is not sent late but marked `missed`; a
    future day is refused (UsageError) unless dry_run. dry_run composes and records nothing.
    """
    today = calendar.today()
    day = day or today
    channels = config.reminders.channels
    if not calendar.contains(day):
        return [Delivery(channel, OUTSIDE_WINDOW, "") for channel in channels]
    message = compose_message(config, calendar, day)
    if dry_run:
        return [Delivery(channel, DRY_RUN, message) for channel in channels]
    if day > today:
        raise UsageError(
            f"{day} is after today ({today}, {calendar.tz.key}): a vote reminder is not sent early; "
            "use --dry-run to preview it"
        )
    if day < today:
        return _close_past_day(engine, calendar, day, message, channels)

    _record_unrecorded(engine)
    deliveries = []
    with new_session() as session:
        for channel in channels:
            deliveries.append(_send_one(config, engine, calendar, day, channel, message, session))
    return deliveries


@dataclass(frozen=True)
class _Claim:
    row_id: int
    token: str


def _send_one(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    day: dt.date,
    channel: str,
    message: str,
    session: Any,
) -> Delivery:
    campaign_day = calendar.day_number(day)
    claim = _claim(engine, day, campaign_day, channel, message, calendar.now())
    if isinstance(claim, Delivery):
        return claim
    error: str | None = None
    try:
        deliver(channel, Outgoing(day, campaign_day, message), config.reminders, session)
    except DeliveryFailed as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not leave the claim hanging until the lease runs out
        log.exception("vote reminder via %s: unexpected error", channel)
        error = f"unexpected error: {type(exc).__name__}"
    status = SENT if error is None else FAILED
    if not _record_with_retries(engine, claim, status, error, calendar.now()):
        log.warning(
            "vote reminder for %s via %s: the claim was taken over; outcome not recorded", day, channel
        )
    if error is None:
        log.info("vote reminder for %s sent via %s", day, channel)
    else:
        log.warning("vote reminder for %s via %s failed: %s", day, channel, error)
    return Delivery(channel, status, message, error)


def claim_token() -> str:
    """A fresh claim token that names this process: `<pid>@<host>:<random>` (at most 64 characters)."""
    return f"{os.getpid()}@{socket.gethostname()[:20]}:{uuid.uuid4().hex}"


def _owner_gone(token: str | None) -> bool:
    """True when a claim token names a process of this machine that no longer runs."""
    owner, sep, _ = (token or "").partition(":")
    pid_text, at, host = owner.partition("@")
    if not sep or not at or not pid_text.isdigit() or host != socket.gethostname()[:20]:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claim(
    engine: Engine, day: dt.date, campaign_day: int, channel: str, message: str, now: dt.datetime
) -> _Claim | Delivery:
    """Take the (day, channel) row for delivery, or say why not (already_sent / in_progress)."""
    token = claim_token()
    try:
        with engine.begin() as conn:
            row = _row(conn, day, channel)
            if row is None:
                result = conn.execute(
                    insert(reminders_t).values(
                        local_date=day,
                        campaign_day=campaign_day,
                        channel=channel,
                        message=message,
                        status=SENDING,
                        attempts=1,
                        claimed_at=now,
                        claim_token=token,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None  # a single-row insert always has one
                return _Claim(int(key[0]), token)
            if row.status == SENT:
                return Delivery(channel, ALREADY_SENT, row.message)
            if _live_claim(row, now):
                return Delivery(channel, IN_PROGRESS, row.message)
            # failed, missed-but-today, or a stale claim: take it over. The attempts check makes the
            # update conditional, so it is safe even where the database does not serialize claims.
            result = conn.execute(
                update(reminders_t)
                .where(reminders_t.c.id == row.id, reminders_t.c.attempts == row.attempts)
                .values(
                    status=SENDING,
                    attempts=row.attempts + 1,
                    claimed_at=now,
                    claim_token=token,
                    message=message,
                    campaign_day=campaign_day,
                )
            )
            if result.rowcount != 1:
                return Delivery(channel, IN_PROGRESS, message)
            return _Claim(int(row.id), token)
    except IntegrityError:
        # Another process inserted the row between our read and our insert (databases without
        # BEGIN IMMEDIATE): it holds the claim.
        return Delivery(channel, IN_PROGRESS, message)


def _record_with_retries(
    engine: Engine, claim: _Claim, status: str, error: str | None, now: dt.datetime
) -> bool:
    """Record the outcome; a locked database is waited for, never answered by sending again. If it
    stays locked for RECORD_RETRY_SECONDS, a `sent` is kept in the unrecorded file for the next run."""
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    pause = 0.2
    while True:
        try:
            return _record_outcome(engine, claim, status, error, now)
        except OperationalError as exc:
            if time.monotonic() + pause > deadline:
                if status == SENT and _keep_unrecorded(engine, claim, now):
                    log.error(
                        "vote reminder was delivered but the database stayed locked; the next `remind` "
                        "records it (it is not sent again)"
                    )
                    return True
                raise
            log.warning("vote reminder delivered; recording it waits for the database (%s)", exc.orig)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _keep_unrecorded(engine: Engine, claim: _Claim, now: dt.datetime) -> bool:
    folder = owners_folder(engine)
    if folder is None:
        return False
    try:
        folder.mkdir(exist_ok=True)
        with (folder / UNRECORDED).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": claim.row_id, "token": claim.token, "sent_at": now.isoformat()}) + "\n")
    except OSError:
        return False
    return True


def _record_unrecorded(engine: Engine) -> None:
    """Record the deliveries an earlier `remind` could not write down (see _record_with_retries)."""
    folder = owners_folder(engine)
    path = folder / UNRECORDED if folder is not None else None
    if path is None or not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            claim = _Claim(int(entry["id"]), str(entry["token"]))
            sent_at = dt.datetime.fromisoformat(entry["sent_at"])
        except (ValueError, KeyError, TypeError):
            continue
        _record_outcome(engine, claim, SENT, None, sent_at)
    with contextlib.suppress(OSError):
        path.unlink()


def _record_outcome(engine: Engine, claim: _Claim, status: str, error: str | None, now: dt.datetime) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(reminders_t)
            .where(reminders_t.c.id == claim.row_id, reminders_t.c.claim_token == claim.token)
            .values(
                status=status, sent_at=now if status == SENT else None, error=scrub(error), claim_token=None
            )
        )
    return bool(result.rowcount == 1)


def _row(conn: Connection, day: dt.date, channel: str) -> Any:
    return conn.execute(
        select(reminders_t).where(reminders_t.c.local_date == day, reminders_t.c.channel == channel)
    ).first()


def _live_claim(row: Any, now: dt.datetime) -> bool:
    """A `sending` row whose claimer may still be delivering: within the lease, and not a process of
    this machine that is gone."""
    return bool(
        row.status == SENDING
        and row.claimed_at is not None
        and row.claimed_at > now - LEASE
        and not _owner_gone(row.claim_token)
    )


# ---------------------------------------------------------------------------------------------------------
# Days that have passed


def _close_past_day(
    engine: Engine, calendar: CampaignCalendar, day: dt.date, message: str, channels: Sequence[str]
) -> list[Delivery]:
    deliveries = []
    with engine.begin() as conn:
        for channel in channels:
            status, _ = _mark_missed(conn, day, calendar.day_number(day), channel, message, calendar.now())
            deliveries.append(Delivery(channel, status, message))
    return deliveries


def _mark_missed(
    conn: Connection, day: dt.date, campaign_day: int, channel: str, message: str, now: dt.datetime
) -> tuple[str, bool]:
    """Mark one past (day, channel) missed unless it was sent. Returns (outcome, row changed)."""
    row = _row(conn, day, channel)
    if row is None:
        conn.execute(
            insert(reminders_t).values(
                local_date=day,
                campaign_day=campaign_day,
                channel=channel,
                message=message,
                status=MISSED,
                attempts=0,
                error="not sent on the day",
            )
        )
        return MISSED, True
    if row.status == SENT:
        return ALREADY_SENT, False
    if _live_claim(row, now):
        return IN_PROGRESS, False  # a delivery that started on the day may still finish
    if row.status == MISSED:
        return MISSED, False
    conn.execute(
        update(reminders_t)
        .where(reminders_t.c.id == row.id)
        .values(status=MISSED, claim_token=None, error=row.error or "not sent on the day")
    )
    return MISSED, True


def record_missed(config: Config, engine: Engine, calendar: CampaignCalendar, before: dt.date) -> int:
    """Mark every campaign day before `before` that has no `sent` row, per channel, as `missed`.

    Never overwrites `sent` (nor a live claim). Returns how many rows were marked now. The scheduler
    calls this at start, so the reminder log shows the days on which nothing went out.
    """
    last = min(before - dt.timedelta(days=1), calendar.end)
    if last < calendar.start:
        return 0
    marked = 0
    now = calendar.now()
    with engine.begin() as conn:
        for day in calendar.days(calendar.start, last):
            message = compose_message(config, calendar, day)
            for channel in config.reminders.channels:
                _, changed = _mark_missed(conn, day, calendar.day_number(day), channel, message, now)
                marked += changed
    return marked


# ---------------------------------------------------------------------------------------------------------
# The log


@dataclass(frozen=True)
class ReminderEntry:
    """One row of the reminder log."""

    local_date: dt.date
    campaign_day: int
    channel: str
    status: str
    attempts: int
    sent_at: dt.datetime | None
    message: str
    error: str | None


def reminder_log(engine: Engine, day: dt.date | None = None) -> list[ReminderEntry]:
    """The vote_reminders rows (of one day, or all), by date then channel."""
    query = select(reminders_t).order_by(reminders_t.c.local_date, reminders_t.c.channel)
    if day is not None:
        query = query.where(reminders_t.c.local_date == day)
    with readonly(engine).connect() as conn:
        rows = conn.execute(query).all()
    return [
        ReminderEntry(
            local_date=row.local_date,
            campaign_day=row.campaign_day,
            channel=row.channel,
            status=row.status,
            attempts=row.attempts,
            sent_at=row.sent_at,
            message=row.message,
            error=row.error,
        )
        for row in rows
    ]


def reminder_sent_for(engine: Engine, day: dt.date, channels: Iterable[str] | None = None) -> bool:
    """Was the reminder for `day` sent? With `channels`: on every one of them; without: there is
    at least one row for the day and every row is `sent`. (Catch-up asks this, not scheduler state.)"""
    status = {entry.channel: entry.status for entry in reminder_log(engine, day)}
    if channels is not None:
        wanted = list(channels)
        return bool(wanted) and all(status.get(channel) == SENT for channel in wanted)
    return bool(status) and all(value == SENT for value in status.values())


def write_log_csv(entries: Iterable[ReminderEntry], stream: IO[str], calendar: CampaignCalendar) -> None:
    """The log as CSV: date,campaign_day,channel,status,attempts,sent_at,message (sent_at local, ISO)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        sent_at = e.sent_at.astimezone(calendar.tz).isoformat(timespec="seconds") if e.sent_at else ""
        writer.writerow(
            [
                e.local_date.isoformat(),
                e.campaign_day,
                e.channel,
                e.status,
                e.attempts,
                sent_at,
                neutralize(e.message),  # DESIGN 6: a spreadsheet never runs a cell
            ]
        )


def format_log_table(entries: Sequence[ReminderEntry], calendar: CampaignCalendar) -> str:
    """The log as a plain-text table for the terminal."""
    if not entries:
        return "no vote reminders recorded yet"
    header = ("date", "day", "channel", "status", "attempts", f"sent at ({calendar.tz.key})", "note")
    rows = [
        (
            e.local_date.isoformat(),
            str(e.campaign_day),
            e.channel,
            e.status,
            str(e.attempts),
            e.sent_at.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M") if e.sent_at else "",
            _one_line(e.error or ""),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for r in (header, *rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return "\n".join(line.rstrip() for line in lines)


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
