"""`campaign-monitor status`: what is in the database and what ran last, as plain text."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from monitor.campaign import CampaignCalendar
from monitor.config import Config
from monitor.db import readonly
from monitor.lock import RunLock, lock_path
from monitor.models import CollectionRun, Post, RejectedRow, Submission
from monitor.scheduler import JOB_REMINDER, JOB_REPORT, job_statuses


def describe(config: Config, engine: Engine, calendar: CampaignCalendar) -> str:
    lines: list[str] = []
    today = calendar.today()
    c = config.campaign
    if calendar.contains(today):
        day, left = calendar.day_number(today), calendar.days_left(today)
        when = f"day {day} of {calendar.total_days}, {left} days left"
    elif today < c.start:
        when = f"starts in {(c.start - today).days} days"
    else:
        when = "ended"
    lines.append(f"{c.name}: {c.start} to {c.end} ({c.timezone}); today {today}: {when}")
    with readonly(engine).connect() as conn:
        per_source = conn.execute(
            select(Post.platform, Post.source, func.count())
            .group_by(Post.platform, Post.source)
            .order_by(Post.platform, Post.source)
        ).all()
        lines.append("")
        lines.append("posts by platform and the source that last delivered them:")
        if not per_source:
            lines.append("  (none yet: import an export with `campaign-monitor ingest FILE`)")
        for platform, source, count in per_source:
            lines.append(f"  {platform:<10} {source:<28} {count:>8}")
        runs = (
            Session(bind=conn)
            .scalars(select(CollectionRun).order_by(CollectionRun.id.desc()).limit(10))
            .all()
        )
        lines.append("")
        lines.append("last runs:")
        if not runs:
            lines.append("  (none)")
        for run in runs:
            started = _local(run.started_at, calendar)
            target = f" {run.target}" if run.target else ""
            lines.append(
                f"  #{run.id} {started} {run.source}{target}: {run.status}, read {run.rows_read}, "
                f"new {run.rows_new}, updated {run.rows_updated}, unchanged {run.rows_unchanged}, "
                f"rejected {run.rows_rejected}" + (f" - {run.error}" if run.error else "")
            )
            if run.counted:
                lines.append(f"      counted: {run.counted}")
        rejected = conn.execute(
            select(func.count()).select_from(RejectedRow).where(RejectedRow.resolved_run_id.is_(None))
        ).scalar_one()
        lines.append("")
        lines.append(
            f"rejected rows to fix: {rejected}"
            + (
                " (`campaign-monitor rejects` lists them; `--csv` to fix and import again)"
                if rejected
                else ""
            )
        )
        lines.extend(_submission_lines(conn))
    lines.append("")
    holder = RunLock(lock_path(config)).holder()
    running = f"running (pid {holder})" if holder else "not running: next runs are when it starts"
    lines.append(f"jobs of `campaign-monitor run`, which is {running}:")
    for job in job_statuses(config, engine, calendar):
        last = (
            f"{_local(job.last_started, calendar)} {job.last_status}"
            + (f" - {job.last_error}" if job.last_error else "")
            if job.last_started
            else "never"
        )
        if job.next_run:
            upcoming = _local(job.next_run, calendar)
        elif job.job in (JOB_REMINDER, JOB_REPORT):
            upcoming = "none (the campaign is over)"
        else:
            upcoming = "when `run` starts"
        lines.append(f"  {job.job:<20} last: {last}; next: {upcoming}")
    return "\n".join(lines)


def _submission_lines(conn: Connection) -> list[str]:
    """Member link submissions by state (`waiting` read from the posts themselves)."""
    from monitor.submissions import waiting_by_member

    states = dict(conn.execute(select(Submission.state, func.count()).group_by(Submission.state)).all())
    if not states:
        return []
    waiting = sum(waiting_by_member(conn).values())
    accepted = states.get("seen", 0) + states.get("waiting", 0)
    return [
        f"member link submissions: {accepted - waiting} seen, {waiting} waiting, "
        f"{states.get('refused', 0)} refused (`campaign-monitor submissions --state waiting`)"
    ]


def _local(instant: dt.datetime | None, calendar: CampaignCalendar) -> str:
    return instant.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M") if instant else "-"
