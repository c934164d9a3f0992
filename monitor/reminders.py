"""The daily vote reminder: compose it; the outbox claims, delivers and records it once per day and channel.

The campaign asked residents to vote for the city on the website once a day; the reminder says so
each morning. Every (local date, channel) has one row in vote_reminders; the claim, lease, retry and
"never late" rules are the outbox's (monitor.outbox), shared with the digest and the alerts.
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

import csv
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from sqlalchemy import Engine, Table, select

from monitor.campaign import CampaignCalendar
from monitor.channels import Outgoing, new_session
from monitor.config import Config
from monitor.db import readonly
from monitor.errors import ConfigError, UsageError
from monitor.models import VoteReminder
from monitor.outbox import (
    ALREADY_SENT,
    DRY_RUN,
    FAILED,
    IN_PROGRESS,
    LEASE,
    MISSED,
    OUTSIDE_WINDOW,
    SENDING,
    SENT,
    Delivery,
    Outbox,
)
from monitor.tables import table_cell, table_lines
from reports.files import neutralize

__all__ = [
    "ALREADY_SENT", "DRY_RUN", "FAILED", "IN_PROGRESS", "LEASE", "MISSED", "OUTSIDE_WINDOW", "SENDING",
    "SENT", "Delivery", "compose_message", "record_missed", "reminder_log", "reminder_sent_for",
    "send_reminders",
]  # fmt: skip

log = logging.getLogger("campaign_monitor.reminders")

RECORD_RETRY_SECONDS = 120.0  # how long a locked database is waited for after a delivery (read at call time)
UNRECORDED = "unrecorded-reminders.jsonl"

reminders_t = cast(Table, VoteReminder.__table__)
# RECORD_RETRY_SECONDS is read at call time (tests shorten it), and the unrecorded file keeps its name.
OUTBOX = Outbox(
    reminders_t, "vote reminder", unrecorded=UNRECORDED, record_retry_seconds=lambda: RECORD_RETRY_SECONDS
)

CSV_COLUMNS = ("date", "campaign_day", "channel", "status", "attempts", "sent_at", "message")


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

    from monitor.reminder_time import reminder_due_at

    deliveries = []
    campaign_day = calendar.day_number(day)
    outgoing = Outgoing(day, campaign_day, message)
    # The time the reminder was due (the drawn one with several [reminders] at), for the analysis.
    planned = reminder_due_at(config, calendar, day)
    with new_session() as session:
        for channel in channels:
            identity = {"local_date": day, "channel": channel}
            deliveries.append(
                OUTBOX.send(
                    engine,
                    identity,
                    outgoing,
                    config.reminders,
                    session,
                    calendar.now,
                    extra={"campaign_day": campaign_day, "planned_at": planned},
                )
            )
    return deliveries


# ---------------------------------------------------------------------------------------------------------
# Days that have passed


def _close_past_day(
    engine: Engine, calendar: CampaignCalendar, day: dt.date, message: str, channels: Sequence[str]
) -> list[Delivery]:
    deliveries = []
    extra = {"campaign_day": calendar.day_number(day)}
    with engine.begin() as conn:
        for channel in channels:
            identity = {"local_date": day, "channel": channel}
            status, _ = OUTBOX.mark_missed(conn, identity, message, calendar.now(), extra)
            deliveries.append(Delivery(channel, status, message))
    return deliveries


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
            extra = {"campaign_day": calendar.day_number(day)}
            for channel in config.reminders.channels:
                identity = {"local_date": day, "channel": channel}
                _, changed = OUTBOX.mark_missed(conn, identity, message, now, extra)
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
            table_cell(e.error or "", 80),
        )
        for e in entries
    ]
    return "\n".join(table_lines(header, rows))
