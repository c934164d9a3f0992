"""The outbox: every message the tool sends goes out at most once per (kind, day, channel).

The vote reminder, the morning digest and the alerts (and later the bot's replies) are one family of
messages: each kind only composes its text; this module claims, leases, delivers and records. A kind
keeps its rows in its own table (vote_reminders, digest_deliveries, alerts), one row per identity
(the table's unique key: a local day and a channel, plus what else the kind needs, such as an
alert's kind and key), and the row is how "at most one recorded delivery" holds across re-runs,
restarts and two processes at the same moment (a receiver may still see a repeat if a process dies
between its POST and the record; docs/reminders.md):

1. claim - a short write transaction (BEGIN IMMEDIATE on SQLite, so claims are serialized) turns the
   row into `sending` with a fresh claim_token, unless it is `sent` or held by a live claim;
2. deliver - outside any transaction (never hold the database lock across an HTTP call);
3. record - `sent` or `failed`, only if our claim_token is still on the row.

A `failed` row is claimed again by the next run of the same day (attempts counts the tries). A
`sending` row older than LEASE, or whose claim names a process of this machine that is gone (the
claim token starts with `<pid>@<host>`), belongs to a process that died mid-delivery and may be
claimed again. When the database is locked just after a channel took the message, the record is
retried for up to RECORD_RETRY_SECONDS and never answered by sending again; if it still cannot be
written, the fact is kept in `<database>.runs/unrecorded-<table>.jsonl` and recorded by the next
send of that kind before it claims anything. A day that has passed is never sent late: its open
rows become `missed`. Errors are scrubbed of every remembered secret before they are stored.

Every table used as an outbox has the columns id, channel, message, status, attempts, claimed_at,
claim_token, sent_at and error, plus its identity columns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import Connection, Engine, Table, and_, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.channels import DeliveryFailed, Outgoing, Route, deliver
from monitor.redaction import scrub
from monitor.run_owners import owners_folder

log = logging.getLogger("campaign_monitor.outbox")

LEASE = dt.timedelta(minutes=10)  # far longer than one delivery can take with its timeouts
RECORD_RETRY_SECONDS = 120.0  # a locked database is waited for after a delivery (read at call time)

# Row statuses and the extra outcomes a Delivery can report.
SENDING, SENT, FAILED, MISSED = "sending", "sent", "failed", "missed"
ALREADY_SENT, IN_PROGRESS, DRY_RUN, OUTSIDE_WINDOW = (
    "already_sent",
    "in_progress",
    "dry_run",
    "outside_window",
)


@dataclass(frozen=True)
class Delivery:
    """What happened to one message on one channel.

    status: sent | failed | already_sent | in_progress | missed | dry_run | outside_window.
    error: the (redacted) reason for `failed`, else None.
    """

    channel: str
    status: str
    message: str
    error: str | None = None


@dataclass(frozen=True)
class Claim:
    row_id: int
    token: str


Identity = Mapping[str, Any]  # the row's unique key, e.g. {"local_date": day, "channel": "webhook"}


class Outbox:
    """Claim, deliver and record messages kept in one table (see the module docstring)."""

    def __init__(
        self,
        table: Table,
        what: str,
        unrecorded: str | None = None,
        record_retry_seconds: Callable[[], float] | None = None,
    ) -> None:
        self.table = table
        self.what = what  # for log lines: "vote reminder", "digest", "alert"
        self.unrecorded = unrecorded or f"unrecorded-{table.name}.jsonl"
        self._record_retry = record_retry_seconds or (lambda: RECORD_RETRY_SECONDS)

    # --- one message on one channel, today
    def send(
        self,
        engine: Engine,
        identity: Identity,
        outgoing: Outgoing,
        route: Route,
        session: requests.Session,
        clock: Callable[[], dt.datetime],
        extra: Mapping[str, Any] | None = None,
    ) -> Delivery:
        """Deliver `outgoing` through identity["channel"] unless its row is sent or being sent.

        `extra` are further columns written with the claim (e.g. the reminder's campaign_day)."""
        channel = str(identity["channel"])
        self.record_unrecorded(engine)
        claim = self.claim(engine, identity, outgoing.text, clock(), extra)
        if isinstance(claim, Delivery):
            return claim
        error: str | None = None
        try:
            deliver(channel, outgoing, route, session)
        except DeliveryFailed as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not leave the claim hanging until the lease runs out
            log.exception("%s via %s: unexpected error", self.what, channel)
            error = f"unexpected error: {type(exc).__name__}"
        status = SENT if error is None else FAILED
        if not self.record(engine, claim, status, error, clock()):
            log.warning(
                "%s for %s via %s: the claim was taken over; outcome not recorded",
                self.what,
                outgoing.day,
                channel,
            )
        if error is None:
            log.info("%s for %s sent via %s", self.what, outgoing.day, channel)
        else:
            log.warning("%s for %s via %s failed: %s", self.what, outgoing.day, channel, error)
        return Delivery(channel, status, outgoing.text, error)

    # --- the steps
    def claim(
        self,
        engine: Engine,
        identity: Identity,
        message: str,
        now: dt.datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> Claim | Delivery:
        """Take the row for delivery, or say why not (already_sent / in_progress)."""
        t = self.table
        channel = str(identity["channel"])
        token = claim_token()
        extra = dict(extra or {})
        try:
            with engine.begin() as conn:
                row = self.row(conn, identity)
                if row is None:
                    result = conn.execute(
                        insert(t).values(
                            **identity,
                            **extra,
                            message=message,
                            status=SENDING,
                            attempts=1,
                            claimed_at=now,
                            claim_token=token,
                        )
                    )
                    key = result.inserted_primary_key
                    assert key is not None  # a single-row insert always has one
                    return Claim(int(key[0]), token)
                if row.status == SENT:
                    return Delivery(channel, ALREADY_SENT, row.message)
                if live_claim(row, now):
                    return Delivery(channel, IN_PROGRESS, row.message)
                # failed, missed-but-today, or a stale claim: take it over. The attempts check makes
                # the update conditional, so it is safe even where the database does not serialize
                # claims.
                result = conn.execute(
                    update(t)
                    .where(t.c.id == row.id, t.c.attempts == row.attempts)
                    .values(
                        **extra,
                        status=SENDING,
                        attempts=row.attempts + 1,
                        claimed_at=now,
                        claim_token=token,
                        message=message,
                    )
                )
                if result.rowcount != 1:
                    return Delivery(channel, IN_PROGRESS, message)
                return Claim(int(row.id), token)
        except IntegrityError:
            # Another process inserted the row between our read and our insert (databases without
            # BEGIN IMMEDIATE): it holds the claim.
            return Delivery(channel, IN_PROGRESS, message)

    def record(self, engine: Engine, claim: Claim, status: str, error: str | None, now: dt.datetime) -> bool:
        """Write the outcome if our claim still holds the row. A locked database is waited for (for
        up to RECORD_RETRY_SECONDS): the message went out, and sending it again would be worse. If it
        stays locked, a `sent` is kept in the unrecorded file for the next send of this kind."""
        deadline = time.monotonic() + self._record_retry()
        pause = 0.2
        while True:
            try:
                return self._record_once(engine, claim, status, error, now)
            except OperationalError as exc:
                if time.monotonic() + pause > deadline:
                    if status == SENT and self._keep_unrecorded(engine, claim, now):
                        log.error(
                            "%s was delivered but the database stayed locked; the next run records it "
                            "(it is not sent again)",
                            self.what,
                        )
                        return True
                    raise
                log.warning("%s delivered; recording it waits for the database (%s)", self.what, exc.orig)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _record_once(
        self, engine: Engine, claim: Claim, status: str, error: str | None, now: dt.datetime
    ) -> bool:
        t = self.table
        with engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.id == claim.row_id, t.c.claim_token == claim.token)
                .values(
                    status=status,
                    sent_at=now if status == SENT else None,
                    error=scrub(error),
                    claim_token=None,
                )
            )
        return bool(result.rowcount == 1)

    def _keep_unrecorded(self, engine: Engine, claim: Claim, now: dt.datetime) -> bool:
        folder = owners_folder(engine)
        if folder is None:
            return False
        try:
            folder.mkdir(exist_ok=True)
            with (folder / self.unrecorded).open("a", encoding="utf-8") as f:
                entry = {"id": claim.row_id, "token": claim.token, "sent_at": now.isoformat()}
                f.write(json.dumps(entry) + "\n")
        except OSError:
            return False
        return True

    def record_unrecorded(self, engine: Engine) -> None:
        """Record the deliveries an earlier run could not write down (see `record`)."""
        folder = owners_folder(engine)
        path = folder / self.unrecorded if folder is not None else None
        if path is None or not path.is_file():
            return
        for text in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(text)
                claim = Claim(int(entry["id"]), str(entry["token"]))
                sent_at = dt.datetime.fromisoformat(entry["sent_at"])
            except (ValueError, KeyError, TypeError):
                continue
            self._record_once(engine, claim, SENT, None, sent_at)
        with contextlib.suppress(OSError):
            path.unlink()

    def row(self, conn: Connection, identity: Identity) -> Any:
        t = self.table
        return conn.execute(select(t).where(and_(*(t.c[k] == v for k, v in identity.items())))).first()

    # --- days that have passed
    def mark_missed(
        self,
        conn: Connection,
        identity: Identity,
        message: str,
        now: dt.datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Mark one past row missed unless it was sent. Returns (outcome, row changed)."""
        t = self.table
        row = self.row(conn, identity)
        if row is None:
            conn.execute(
                insert(t).values(
                    **identity,
                    **dict(extra or {}),
                    message=message,
                    status=MISSED,
                    attempts=0,
                    error="not sent on the day",
                )
            )
            return MISSED, True
        if row.status == SENT:
            return ALREADY_SENT, False
        if live_claim(row, now):
            return IN_PROGRESS, False  # a delivery that started on the day may still finish
        if row.status == MISSED:
            return MISSED, False
        conn.execute(
            update(t)
            .where(t.c.id == row.id)
            .values(status=MISSED, claim_token=None, error=row.error or "not sent on the day")
        )
        return MISSED, True

    def close_open_rows(self, engine: Engine, before: dt.date, now: dt.datetime) -> int:
        """Every existing row of a day before `before` that is failed or a stale `sending` becomes
        missed (a message of a past day is never sent late). Returns how many rows changed."""
        t = self.table
        with engine.begin() as conn:
            rows = conn.execute(
                select(t).where(t.c.local_date < before, t.c.status.in_((FAILED, SENDING)))
            ).all()
            changed = 0
            for row in rows:
                if live_claim(row, now):
                    continue
                conn.execute(
                    update(t)
                    .where(t.c.id == row.id)
                    .values(status=MISSED, claim_token=None, error=row.error or "not sent on the day")
                )
                changed += 1
        return changed


def claim_token() -> str:
    """A fresh claim token that names this process: `<pid>@<host>:<random>` (at most 64 characters)."""
    return f"{os.getpid()}@{socket.gethostname()[:20]}:{uuid.uuid4().hex}"


def owner_gone(token: str | None) -> bool:
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
    except (PermissionError, OverflowError, OSError):
        return False
    return False


def live_claim(row: Any, now: dt.datetime) -> bool:
    """A `sending` row whose claimer may still be delivering: within the lease, and not a process of
    this machine that is gone."""
    return bool(
        row.status == SENDING
        and row.claimed_at is not None
        and row.claimed_at > now - LEASE
        and not owner_gone(row.claim_token)
    )
