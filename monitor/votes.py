"""The vote and suggestion ledger: what the team read on the campaign website, and votes per day.

The website shows the city's running vote count (and suggestions, and sometimes its rank); the team
reads it a few times a day and records each reading (`votes add`, `votes import`). The rules:

- A reading is a count at a moment. Counts never go down: a reading lower than an earlier one (or
  higher than a later one) is refused, unless it is a correction, which marks the earlier readings it
  contradicts `corrected` (they are kept, not deleted) and takes their place.
- Votes per day = the last reading of a day minus the last reading of the day before. A day without
  a reading gets the count interpolated linearly in time at its end (local midnight) between the
  readings around it, and is marked `interpolated`; days before the first or after the last reading
  are unknown (never extrapolated).

Library only: the CLI parses and prints (monitor.cli), the report draws (reports.scoreboard).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Engine, Table, select, update

from monitor.campaign import CampaignCalendar
from monitor.db import readonly
from monitor.errors import UsageError
from monitor.models import VoteReading
from monitor.tables import table_lines
from reports.files import neutralize

readings_t = cast(Table, VoteReading.__table__)

CSV_COLUMNS = ("at", "votes", "suggestions", "rank", "note")
LIST_COLUMNS = ("read_at", "date", "votes", "suggestions", "rank", "status", "source", "note")
MAX_COUNT = 10**12  # a count above this is a typo, not a vote count


class LedgerError(UsageError):
    """A reading that cannot be recorded as given (the message says how to fix it)."""


@dataclass(frozen=True)
class Reading:
    id: int
    read_at: dt.datetime  # UTC
    local_date: dt.date
    votes: int
    suggestions: int | None
    rank: int | None
    note: str | None
    source: str
    corrected: bool


@dataclass(frozen=True)
class AddResult:
    reading: Reading | None  # None: the same reading was recorded before (nothing added)
    corrected: list[Reading]  # the earlier readings this one marked corrected


# ---------------------------------------------------------------------------------------------------------
# Reading input


def parse_when(text: str, calendar: CampaignCalendar) -> dt.datetime:
    """A reading's moment: ISO date-time (without a zone: the campaign zone), or a date alone, which
    means the end of that local day (23:59). Returns UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            instant = dt.datetime.combine(day, dt.time(23, 59), calendar.tz)
        else:
            instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise LedgerError(
            f"{text!r} is not a moment; write it as YYYY-MM-DD HH:MM (campaign time) or YYYY-MM-DD"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=calendar.tz)
    return instant.astimezone(dt.UTC)


def parse_count(text: str | int | None, name: str, required: bool = False) -> int | None:
    """A count as typed: '12.345', '12,345' and '12 345' are 12345 (the website groups digits)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        if required:
            raise LedgerError(f"{name} is missing; give the count the website shows")
        return None
    if isinstance(text, int):
        value = text
    else:
        digits = text.strip().replace(".", "").replace(",", "").replace(" ", "").replace("\u00a0", "")
        if not digits.isdigit():
            raise LedgerError(f"{name} {text!r} is not a whole number; write the count as digits")
        value = int(digits)
    if value < 0 or value > MAX_COUNT:
        raise LedgerError(f"{name} {value} is out of range (0 to {MAX_COUNT})")
    return value


# ---------------------------------------------------------------------------------------------------------
# Writing


def add_reading(
    engine: Engine,
    calendar: CampaignCalendar,
    read_at: dt.datetime,
    votes: int,
    suggestions: int | None = None,
    rank: int | None = None,
    note: str | None = None,
    correct: bool = False,
    source: str = "cli",
) -> AddResult:
    """Record one reading. Raises LedgerError when it is in the future, or lower than an earlier
    reading (without `correct`), or higher than a later one. The same reading twice adds nothing."""
    if read_at.tzinfo is None:
        raise ValueError("read_at must be aware")
    now = calendar.now()
    if read_at > now + dt.timedelta(minutes=5):
        raise LedgerError(
            f"the reading is dated {_local(read_at, calendar)}, after now ({_local(now, calendar)}); "
            "check --at"
        )
    if rank is not None and rank < 1:
        raise LedgerError(f"rank {rank} must be 1 or more")
    new = {"votes": votes, "suggestions": suggestions}
    with engine.begin() as conn:
        rows = [
            _reading(r) for r in conn.execute(select(readings_t).where(readings_t.c.corrected.is_(False)))
        ]
        for r in rows:
            if (r.read_at, r.votes, r.suggestions, r.rank) == (read_at, votes, suggestions, rank):
                return AddResult(None, [])
        contradicted: list[Reading] = []
        for r in rows:
            for name, value in new.items():
                old = getattr(r, name)
                if value is None or old is None:
                    continue
                if r.read_at <= read_at and old > value:
                    if not correct:
                        raise LedgerError(
                            f"{name} {value} is lower than the {old} read at {_local(r.read_at, calendar)}; "
                            "counts never go down. If that reading was wrong, add this one with --correct "
                            "(the earlier reading is kept, marked corrected)"
                        )
                    if r not in contradicted:
                        contradicted.append(r)
                elif r.read_at > read_at and old < value:
                    raise LedgerError(
                        f"{name} {value} is higher than the {old} read later, at "
                        f"{_local(r.read_at, calendar)}; counts never go down: check the number and --at"
                    )
        result = conn.execute(
            readings_t.insert().values(
                read_at=read_at,
                local_date=calendar.local_date(read_at),
                votes=votes,
                suggestions=suggestions,
                rank=rank,
                note=(note or "").strip() or None,
                source=source,
                entered_at=now,
                corrected=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        new_id = int(key[0])
        if contradicted:
            conn.execute(
                update(readings_t)
                .where(readings_t.c.id.in_([r.id for r in contradicted]))
                .values(corrected=True, corrected_by=new_id)
            )
        stored = conn.execute(select(readings_t).where(readings_t.c.id == new_id)).one()
    return AddResult(_reading(stored), contradicted)


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int  # rows already recorded
    corrected: int  # earlier readings marked corrected by `correct` rows
    rejected: list[tuple[int, str]]  # (line, reason)


def import_readings(engine: Engine, calendar: CampaignCalendar, path: Path) -> ImportResult:
    """Import a sheet of readings: a CSV with the columns at, votes, suggestions, rank, note (and
    optionally correct = yes/1/true), in any order, comma or semicolon separated. Each row goes
    through add_reading, in the order of its time; a bad row is rejected with its line and reason and
    the others are kept."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        body = raw.decode("cp1252", errors="replace")
    first = body.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    header = [h.strip().casefold() for h in next(reader, [])]
    missing = [c for c in ("at", "votes") if c not in header]
    if missing:
        raise LedgerError(
            f"{path.name}: no column {', '.join(missing)}; the header must name at, votes "
            "(and optionally suggestions, rank, note, correct)"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    rejected: list[tuple[int, str]] = []
    parsed: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append((line, dict(zip(header, cells, strict=False))))
    for line, row in rows:
        try:
            values: dict[str, Any] = {
                "read_at": parse_when(row.get("at", ""), calendar),
                "votes": parse_count(row.get("votes"), "votes", required=True),
                "suggestions": parse_count(row.get("suggestions"), "suggestions"),
                "rank": parse_count(row.get("rank"), "rank"),
                "note": row.get("note") or None,
                "correct": (row.get("correct") or "").strip().casefold() in ("1", "yes", "y", "true", "ya"),
            }
        except LedgerError as exc:
            rejected.append((line, str(exc)))
            continue
        parsed.append((values["read_at"], line, values))
    added = unchanged = corrected = 0
    for _, line, values in sorted(parsed, key=lambda item: (item[0], item[1])):
        try:
            result = add_reading(engine, calendar, source=f"import:{path.name}", **values)
        except LedgerError as exc:
            rejected.append((line, str(exc)))
            continue
        if result.reading is None:
            unchanged += 1
        else:
            added += 1
            corrected += len(result.corrected)
    return ImportResult(added, unchanged, corrected, sorted(rejected))


# ---------------------------------------------------------------------------------------------------------
# Reading back


def readings(engine: Engine, include_corrected: bool = True) -> list[Reading]:
    """Every reading by time (corrected ones too unless include_corrected=False)."""
    query = select(readings_t).order_by(readings_t.c.read_at, readings_t.c.id)
    if not include_corrected:
        query = query.where(readings_t.c.corrected.is_(False))
    with readonly(engine).connect() as conn:
        return [_reading(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class VoteDay:
    """One local day of the ledger. None: unknown (before the first or after the last reading)."""

    date: dt.date
    total: float | None  # votes at the end of the day (its last reading, or interpolated)
    votes: float | None  # total minus the day before's total
    suggestions_total: float | None
    suggestions: float | None
    rank: int | None  # the day's last recorded rank (never interpolated)
    readings: int  # readings on this day
    interpolated: bool  # the votes of the day rest on an interpolated total (this day's or the day before's)
    suggestions_interpolated: bool = False

    @property
    def votes_whole(self) -> int | None:
        return None if self.votes is None else round(self.votes)


def vote_days(
    readings_: Sequence[Reading], calendar: CampaignCalendar, start: dt.date, end: dt.date
) -> list[VoteDay]:
    """The ledger per local day from start to end (see the module docstring for the rules). Votes and
    suggestions are followed separately: a reading that gives no suggestion count leaves them to the
    readings that do."""
    valid = sorted((r for r in readings_ if not r.corrected), key=lambda r: (r.read_at, r.id))
    days = list(calendar.days(start - dt.timedelta(days=1), end))  # the day before: the first difference
    votes = _end_of_day(valid, calendar, days, "votes")
    suggestions = _end_of_day(valid, calendar, days, "suggestions")
    result = []
    for prev, day in zip(days, days[1:], strict=False):
        (v, interp), (pv, pinterp) = votes[day], votes[prev]
        (s, s_interp), (ps, ps_interp) = suggestions[day], suggestions[prev]
        on_day = [r for r in valid if calendar.local_date(r.read_at) == day]
        ranks = [r.rank for r in on_day if r.rank is not None]
        result.append(
            VoteDay(
                date=day,
                total=v,
                votes=None if v is None or pv is None else v - pv,
                suggestions_total=s,
                suggestions=None if s is None or ps is None else s - ps,
                rank=ranks[-1] if ranks else None,
                readings=len(on_day),
                interpolated=v is not None and (interp or (pv is not None and pinterp)),
                suggestions_interpolated=s is not None and (s_interp or (ps is not None and ps_interp)),
            )
        )
    return result


def _end_of_day(
    valid: Sequence[Reading], calendar: CampaignCalendar, days: Sequence[dt.date], name: str
) -> dict[dt.date, tuple[float | None, bool]]:
    """day -> (the count at its end, whether interpolated): the day's last reading that gives the
    count, else the count interpolated at local midnight after it."""
    last: dict[dt.date, float] = {}
    for r in valid:
        value = getattr(r, name)
        if value is not None:
            last[calendar.local_date(r.read_at)] = float(value)
    out: dict[dt.date, tuple[float | None, bool]] = {}
    for day in days:
        if day in last:
            out[day] = (last[day], False)
        else:
            value = _interpolate(valid, calendar.local_midnight(day + dt.timedelta(days=1)), name)
            out[day] = (value, value is not None)
    return out


def _interpolate(valid: Sequence[Reading], instant: dt.datetime, name: str) -> float | None:
    """The count at `instant`, linear in time between the last reading before and the first after
    that give it; None outside them."""
    before = [r for r in valid if r.read_at <= instant and getattr(r, name) is not None]
    after = [r for r in valid if r.read_at > instant and getattr(r, name) is not None]
    if not before or not after:
        return None
    a, b = before[-1], after[0]
    va, vb = float(getattr(a, name)), float(getattr(b, name))
    span = (b.read_at - a.read_at).total_seconds()
    return va + (vb - va) * (instant - a.read_at).total_seconds() / span


def _opt(value: int | None) -> float | None:
    return None if value is None else float(value)


def yesterday_line(
    engine: Engine, calendar: CampaignCalendar, day: dt.date, language: str = "en"
) -> str | None:
    """One line for the morning digest about `day`'s votes ("Votes on 1 Oct: +1,234 (total 45,678,
    rank 3)"), or None when the ledger cannot say (no readings around that day)."""
    found = vote_days(readings(engine, include_corrected=False), calendar, day, day)
    if not found or found[0].votes is None:
        return None
    d = found[0]
    votes = round(d.votes or 0)
    total = round(d.total or 0)
    if language == "id":
        text = f"Vote {day.isoformat()}: +{_group(votes, '.')} (total {_group(total, '.')}"
        text += f", peringkat {d.rank}" if d.rank else ""
        text += ", perkiraan: tidak ada pembacaan hari itu)" if d.interpolated else ")"
    else:
        text = f"Votes on {day.isoformat()}: +{_group(votes, ',')} (total {_group(total, ',')}"
        text += f", rank {d.rank}" if d.rank else ""
        text += ", estimated: no reading that day)" if d.interpolated else ")"
    return text


def _group(value: int, sep: str) -> str:
    return f"{value:,}".replace(",", sep)


# ---------------------------------------------------------------------------------------------------------
# Listing


def write_readings_csv(entries: Iterable[Reading], stream: IO[str], calendar: CampaignCalendar) -> None:
    """read_at (local ISO), date, votes, suggestions, rank, status (ok/corrected), source, note."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(LIST_COLUMNS)
    for r in entries:
        writer.writerow(
            [
                r.read_at.astimezone(calendar.tz).isoformat(timespec="minutes"),
                r.local_date.isoformat(),
                r.votes,
                "" if r.suggestions is None else r.suggestions,
                "" if r.rank is None else r.rank,
                "corrected" if r.corrected else "ok",
                neutralize(r.source),
                neutralize(r.note or ""),
            ]
        )


def format_readings_table(entries: Sequence[Reading], calendar: CampaignCalendar) -> str:
    if not entries:
        return "no vote readings recorded yet (add one with `campaign-monitor votes add --votes N`)"
    header = (f"read at ({calendar.tz.key})", "votes", "suggestions", "rank", "status", "note")
    rows = [
        (
            _local(r.read_at, calendar),
            str(r.votes),
            "" if r.suggestions is None else str(r.suggestions),
            "" if r.rank is None else str(r.rank),
            "corrected" if r.corrected else "ok",
            " ".join((r.note or "").split())[:60],
        )
        for r in entries
    ]
    return "\n".join(table_lines(header, rows))


def _local(instant: dt.datetime, calendar: CampaignCalendar) -> str:
    return instant.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M")


def _reading(row: Any) -> Reading:
    return Reading(
        id=int(row.id),
        read_at=row.read_at,
        local_date=row.local_date,
        votes=int(row.votes),
        suggestions=row.suggestions,
        rank=row.rank,
        note=row.note,
        source=row.source,
        corrected=bool(row.corrected),
    )
