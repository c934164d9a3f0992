"""`campaign-monitor run`: the jobs, the APScheduler set-up, catch-up, and a clean stop.

State that matters lives in our own tables (imported_files, vote_reminders, collection_runs) and the
report folders, never in a pickled job store: jobs are rebuilt from config at every start, and
catch-up asks the database and the disk what was missed ("was today's reminder sent?").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.http import redact
from monitor.campaign import CampaignCalendar
from monitor.collect import enabled_sources
from monitor.config import Config, secret_values
from monitor.db import readonly
from monitor.inbox import Inbox
from monitor.lock import RunLock, lock_path
from monitor.models import CollectionRun
from monitor.store import finish_run, mark_interrupted, start_run

log = logging.getLogger(__name__)

JOB_INBOX, JOB_REMINDER, JOB_REPORT = "inbox", "reminder", "daily-report"
JOB_REMINDER_RETRY = "reminder-retry"
JOB_DIGEST, JOB_DIGEST_RETRY, JOB_ALERTS = "digest", "digest-retry", "alerts"
JOB_BOT = "telegram-bot"  # the link-submission bot (monitor.bot); records its own runs
RETRY_MINUTES = 15  # a failed reminder is tried again this often, the same day
STOP_GRACE_SECONDS = 120  # SIGTERM waits this long for a running job, then exits anyway
REMINDER_GRACE_SECONDS = 3600  # a reminder run up to an hour late (e.g. after a suspend) still goes out
REPORT_GRACE_SECONDS = 3600
DIGEST_GRACE_SECONDS = 3600

JobOutcome = str  # "ok" | "partial" | "failed" | "rate_limited" | "skipped"


def api_every_minutes(config: Config, name: str) -> int:
    every: int = getattr(config.sources, name).every_minutes
    return every


class Jobs:
    """The job bodies. Each run is logged with its name and recorded in collection_runs as
    `job:<name>`; an exception is recorded and logged, never raised into the scheduler."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        calendar: CampaignCalendar,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.engine = engine
        self.calendar = calendar
        self.should_stop = should_stop  # a stop was asked for: end between steps
        self.inbox = Inbox(config, engine)
        self._token_asked: dt.date | None = None  # the Graph API is asked about the token once a day
        self._running = 0
        self._idle = threading.Condition()

    # --- bookkeeping
    def run_job(self, name: str, body: Callable[[], JobOutcome]) -> JobOutcome:
        with self._idle:
            self._running += 1
        try:
            run_id = start_run(self.engine, f"job:{name}", None)
            try:
                outcome, error = body(), None
            except Exception as exc:  # a failing job must not stop the scheduler
                log.exception("job %s failed", name)
                outcome, error = "failed", redact(f"{type(exc).__name__}: {exc}", secret_values(self.config))
            finish_run(self.engine, run_id, outcome, error=error)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        log.log(logging.WARNING if outcome == "failed" else logging.INFO, "job %s: %s", name, outcome)
        return outcome

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout)

    # --- the jobs
    def inbox_pass(self) -> JobOutcome:
        return self.run_job(JOB_INBOX, self._inbox)

    def _inbox(self) -> JobOutcome:
        from monitor.alerts import inbox_alerts, notify

        result = self.inbox.run_pass(self.should_stop)
        if result.failed:
            notify(self.config, self.engine, self.calendar, inbox_alerts(self.config, result.failed))
        return "ok" if result.clean else "partial"

    def collect(self, source: str) -> JobOutcome:
        return self.run_job(f"collect-{source}", lambda: self._collect(source))

    def _collect(self, source: str) -> JobOutcome:
        from monitor.alerts import notify, source_alerts
        from monitor.collect import collect_source

        result = collect_source(self.config, self.engine, source, calendar=self.calendar)
        # A failure (or the recovery after one) is said at once, not at the next alerts check.
        notify(
            self.config,
            self.engine,
            self.calendar,
            source_alerts(self.config, self.engine, self.calendar, [source]),
        )
        status: str = result.status
        return status

    def telegram_bot(self, poll_seconds: int | None = None) -> JobOutcome:
        """One pass of the link-submission bot. It runs every few seconds, so it records a
        `telegram_bot` run only when it handled messages or failed (monitor.bot), not a job row."""
        from monitor.bot import Bot

        with self._idle:
            self._running += 1
        try:
            outcome: str = Bot(self.config, self.engine, self.calendar).run_pass(poll_seconds).status
        except Exception:  # a failing pass must not stop the scheduler
            log.exception("job %s failed", JOB_BOT)
            outcome = "failed"
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        return outcome

    def reminder(self) -> JobOutcome:
        return self.run_job(JOB_REMINDER, self._reminder)

    def _reminder(self) -> JobOutcome:
        from monitor.reminder_time import is_drawn
        from monitor.reminders import send_reminders

        today = self.calendar.today()
        if not self.calendar.contains(today):
            return "skipped"
        from monitor.alerts import notify, reminder_alert

        if is_drawn(self.config) and not self.reminder_due():
            return "skipped"  # a job at one of the candidate times; today's drawn time is another
        deliveries = send_reminders(self.config, self.engine, self.calendar, today)
        failed = [d for d in deliveries if d.status == "failed"]
        if failed:
            alerts = [reminder_alert(self.config, today, d.channel, d.error or "?") for d in failed]
            notify(self.config, self.engine, self.calendar, alerts)
        return "failed" if failed else "ok"

    def reminder_due(self) -> bool:
        """Today is a campaign day, its reminder time has passed, and some channel has not sent it."""
        from monitor.reminder_time import reminder_due_at
        from monitor.reminders import reminder_sent_for

        today = self.calendar.today()
        return (
            self.calendar.contains(today)
            and self.calendar.now() >= reminder_due_at(self.config, self.calendar, today)
            and not reminder_sent_for(self.engine, today, self.config.reminders.channels)
        )

    def reminder_retry(self) -> JobOutcome:
        """Every RETRY_MINUTES: a failed delivery is tried again the same day (never the next day:
        after midnight, a day without a sent reminder is recorded as missed)."""
        from monitor.reminders import record_missed

        record_missed(self.config, self.engine, self.calendar, before=self.calendar.today())
        return self.reminder() if self.reminder_due() else "skipped"

    def daily_report(self, day: dt.date | None = None) -> JobOutcome:
        return self.run_job(JOB_REPORT, lambda: self._daily_report(day))

    def _daily_report(self, day: dt.date | None) -> JobOutcome:
        from reports.build import build_daily_report

        day = day or self.calendar.today()
        if not self.calendar.contains(day):
            return "skipped"
        from monitor.alerts import notify, report_alert

        try:
            result = build_daily_report(self.config, self.engine, self.calendar, day)
        except Exception as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", secret_values(self.config))
            notify(self.config, self.engine, self.calendar, [report_alert(self.config, day, detail)])
            raise
        log.info("daily report for %s: %s", day, result.index)
        for problem in result.problems:
            log.warning("daily report for %s: %s", day, problem)
        if result.problems:
            alert = report_alert(self.config, day, "; ".join(result.problems))
            notify(self.config, self.engine, self.calendar, [alert])
        return "partial" if result.problems else "ok"

    def digest(self) -> JobOutcome:
        return self.run_job(JOB_DIGEST, self._digest)

    def _digest(self) -> JobOutcome:
        from monitor.digest import send_digest

        today = self.calendar.today()
        if not self.calendar.contains(today - dt.timedelta(days=1)):
            return "skipped"
        result = send_digest(self.config, self.engine, self.calendar, today)
        return "failed" if any(d.status == "failed" for d in result.deliveries) else "ok"

    def digest_due(self) -> bool:
        from monitor.digest import digest_due

        return digest_due(self.config, self.engine, self.calendar)

    def digest_retry(self) -> JobOutcome:
        """Every RETRY_MINUTES: a failed digest is tried again the same day, never the next."""
        from monitor.digest import close_past_digests

        close_past_digests(self.engine, self.calendar)
        return self.digest() if self.digest_due() else "skipped"

    def alerts(self) -> JobOutcome:
        return self.run_job(JOB_ALERTS, self._alerts)

    def _alerts(self) -> JobOutcome:
        """The checks that need no event (silence, volume, token expiry, collector state) and the
        retry of today's failed alerts. Only while the campaign runs (and the day after its end)."""
        from monitor.alerts import check, notify, retry_failed

        today = self.calendar.today()
        if not (self.calendar.start <= today <= self.calendar.end + dt.timedelta(days=1)):
            return "skipped"
        retry_failed(self.config, self.engine, self.calendar)
        ask = self._token_asked != today
        self._token_asked = today
        found = check(self.config, self.engine, self.calendar, ask_token_expiry=ask)
        notify(self.config, self.engine, self.calendar, found)
        return "ok"

    # --- catch-up, from the database and the disk
    def report_missing(self, day: dt.date) -> bool:
        return (
            self.calendar.contains(day)
            and not (self.config.reports.out_dir / day.isoformat() / "index.html").exists()
        )

    def catch_up(self) -> list[JobOutcome]:
        """What should have happened by now and did not: today's reminder once its time has passed
        (never a past day's: those are recorded as missed), yesterday's and today's daily report.
        A stop request ends it between steps."""
        from monitor.reminders import record_missed

        outcomes: list[JobOutcome] = []
        today = self.calendar.today()
        missed = record_missed(self.config, self.engine, self.calendar, before=today)
        if missed:
            log.warning("catch-up: %d reminder(s) of past days were never sent; recorded as missed", missed)
        if self.reminder_due() and not self.should_stop():
            outcomes.append(self.reminder())
        if self.digest_due() and not self.should_stop():
            outcomes.append(self.digest())
        yesterday = today - dt.timedelta(days=1)
        if self.report_missing(yesterday) and not self.should_stop():
            outcomes.append(self.daily_report(yesterday))
        report_time = self.calendar.at_local(today, self.config.reports.daily_at)
        if self.calendar.now() >= report_time and self.report_missing(today) and not self.should_stop():
            outcomes.append(self.daily_report(today))
        return outcomes

    def collect_due(self, source: str) -> bool:
        """The source's last pass is older than its every_minutes (for `run --once` under cron)."""
        with Session(readonly(self.engine)) as session:
            last = last_job_run(session, f"collect-{source}")
        every = dt.timedelta(minutes=api_every_minutes(self.config, source))
        # A minute's slack, so a cron line of the same period never skips every other pass.
        return last is None or self.calendar.now() - last.started_at >= every - dt.timedelta(minutes=1)


def build_scheduler(config: Config, jobs: Jobs) -> BlockingScheduler:
    """Jobs from config with fixed ids (replace_existing), coalesced, one instance each, string triggers
    in the campaign time zone; chart work on its own single thread (matplotlib is not thread-safe)."""
    tz = config.campaign.tz
    scheduler = BlockingScheduler(
        timezone=tz,
        # The bot's long poll holds its own thread, so imports and reports never wait for it.
        executors={
            "default": ThreadPoolExecutor(2),
            "charts": ThreadPoolExecutor(1),
            "bot": ThreadPoolExecutor(1),
        },
    )
    # Stated on each job (not only as scheduler defaults) so the jobs carry them before start().
    once = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    now = dt.datetime.now(tz)
    inbox_seconds = config.sources.inbox.every_minutes * 60
    scheduler.add_job(
        jobs.inbox_pass,
        "interval",
        seconds=inbox_seconds,
        id=JOB_INBOX,
        name="import new files from the inbox",
        **once,
        next_run_time=now,
        misfire_grace_time=max(1, int(inbox_seconds)),
    )
    for source in enabled_sources(config):
        minutes = api_every_minutes(config, source)
        scheduler.add_job(
            jobs.collect,
            "interval",
            minutes=minutes,
            args=[source],
            id=f"collect-{source}",
            name=f"collect from the {source} API",
            **once,
            next_run_time=now,
            misfire_grace_time=minutes * 60,
        )
    bot = config.submissions.telegram
    if bot.enabled:
        scheduler.add_job(
            jobs.telegram_bot,
            "interval",
            seconds=bot.every_seconds,
            id=JOB_BOT,
            name="read the link-submission bot's messages",
            **once,
            executor="bot",
            next_run_time=now,
            misfire_grace_time=bot.every_seconds,
        )
    # One job per candidate time; with several, each checks whether today's drawn time is its own.
    for i, at in enumerate(config.reminders.all_times):
        scheduler.add_job(
            jobs.reminder,
            "cron",
            hour=at.hour,
            minute=at.minute,
            id=JOB_REMINDER if i == 0 else f"{JOB_REMINDER}-{i + 1}",
            name="send the daily vote reminder" + (f" (candidate time {at:%H:%M})" if i else ""),
            **once,
            misfire_grace_time=REMINDER_GRACE_SECONDS,
        )
    scheduler.add_job(
        jobs.reminder_retry,
        "interval",
        minutes=RETRY_MINUTES,
        id=JOB_REMINDER_RETRY,
        name="retry a failed vote reminder",
        **once,
        misfire_grace_time=RETRY_MINUTES * 60,
    )
    digest_at = config.digest.at
    scheduler.add_job(
        jobs.digest,
        "cron",
        hour=digest_at.hour,
        minute=digest_at.minute,
        id=JOB_DIGEST,
        name="send the morning digest",
        **once,
        misfire_grace_time=DIGEST_GRACE_SECONDS,
    )
    scheduler.add_job(
        jobs.digest_retry,
        "interval",
        minutes=RETRY_MINUTES,
        id=JOB_DIGEST_RETRY,
        name="retry a failed morning digest",
        **once,
        misfire_grace_time=RETRY_MINUTES * 60,
    )
    scheduler.add_job(
        jobs.alerts,
        "interval",
        minutes=RETRY_MINUTES,
        id=JOB_ALERTS,
        name="check for alerts and retry failed ones",
        **once,
        next_run_time=now,
        misfire_grace_time=RETRY_MINUTES * 60,
    )
    daily = config.reports.daily_at
    scheduler.add_job(
        jobs.daily_report,
        "cron",
        hour=daily.hour,
        minute=daily.minute,
        id=JOB_REPORT,
        name="rebuild the daily report",
        **once,
        executor="charts",
        misfire_grace_time=REPORT_GRACE_SECONDS,
    )
    return scheduler


@dataclass
class Runner:
    """Holds the lock, catches up, runs the scheduler, and stops cleanly on SIGTERM/SIGINT."""

    config: Config
    engine: Engine
    calendar: CampaignCalendar

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.jobs = Jobs(self.config, self.engine, self.calendar, self.stopping.is_set)
        self.scheduler: BlockingScheduler | None = None

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s: finishing the running job, then stopping", signal.Signals(signum).name)
        self.stopping.set()
        # Shut down from another thread: the handler may interrupt the scheduler while it holds its locks.
        threading.Thread(target=self._shutdown_when_started, daemon=True).start()

    def _shutdown_when_started(self) -> None:
        for _ in range(200):
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=False)
                return
            time.sleep(0.05)

    def run(self) -> int:
        with RunLock(lock_path(self.config)):
            previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
            try:
                interrupted = mark_interrupted(self.engine, "job:")
                if interrupted:
                    log.warning(
                        "%d job run(s) of a previous `run` never finished; marked interrupted", interrupted
                    )
                log.info("campaign-monitor run: catching up")
                self.jobs.catch_up()
                if self.stopping.is_set():
                    return self._stopped()
                self.scheduler = build_scheduler(self.config, self.jobs)
                for job in self.scheduler.get_jobs():
                    log.info("job %s (%s): %s", job.id, job.name, job.trigger)
                if self.stopping.is_set():  # asked while the scheduler was being built
                    return self._stopped()
                self.scheduler.start()  # blocks until request_stop
                return self._stopped()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    def _stopped(self) -> int:
        if not self.jobs.wait_idle(STOP_GRACE_SECONDS):
            log.warning("a job still runs after %d s; exiting without it", STOP_GRACE_SECONDS)
            logging.shutdown()
            os._exit(0)  # committed work is safe; the unfinished batch rolls back
        log.info("stopped")
        return 0


def run_once(config: Config, engine: Engine, calendar: CampaignCalendar) -> int:
    """Every due job once (for cron): the inbox, each enabled API source whose interval has passed,
    the link-submission bot's queued messages, then catch-up. Returns the exit status: 0 all ok, 1 if
    any job failed or was partial."""
    with RunLock(lock_path(config)):
        mark_interrupted(engine, "job:")
        jobs = Jobs(config, engine, calendar)
        outcomes = [jobs.inbox_pass()]
        outcomes += [jobs.collect(source) for source in enabled_sources(config) if jobs.collect_due(source)]
        if config.submissions.telegram.enabled:
            outcomes.append(jobs.telegram_bot(poll_seconds=0))  # what is queued, without waiting
        outcomes += jobs.catch_up()
        outcomes.append(jobs.alerts())
    return 0 if all(o in ("ok", "skipped") for o in outcomes) else 1


# ---------------------------------------------------------------------------------------------------------
# For `status`


@dataclass
class JobStatus:
    job: str
    last_started: dt.datetime | None
    last_status: str | None
    last_error: str | None
    next_run: dt.datetime | None


def last_job_run(session: Session, name: str) -> CollectionRun | None:
    """The latest recorded run of job `name` (rows `job:<name>` in collection_runs)."""
    query = select(CollectionRun).where(CollectionRun.source == f"job:{name}")
    return session.scalars(query.order_by(CollectionRun.id.desc()).limit(1)).first()


def job_statuses(config: Config, engine: Engine, calendar: CampaignCalendar) -> list[JobStatus]:
    """The last run of each job and when it will next run (computed from config, as `run` would)."""
    tz = config.campaign.tz
    now = calendar.now().astimezone(tz)
    names = [
        JOB_INBOX,
        *(f"collect-{s}" for s in enabled_sources(config)),
        JOB_REMINDER,
        JOB_DIGEST,
        JOB_REPORT,
    ]
    result = []
    with Session(readonly(engine)) as session:
        for name in names:
            last = last_job_run(session, name)
            if name == JOB_REMINDER:
                next_run = _next_reminder_time(config, calendar, now)
            elif name == JOB_REPORT:
                next_run = _next_campaign_time(calendar, config.reports.daily_at, now)
            elif name == JOB_DIGEST:
                next_run = _next_campaign_time(calendar, config.digest.at, now, days_after=1)
            else:
                minutes = (
                    config.sources.inbox.every_minutes
                    if name == JOB_INBOX
                    else api_every_minutes(config, name.removeprefix("collect-"))
                )
                base = (last.finished_at or last.started_at) if last else None
                next_run = max(now, base + dt.timedelta(minutes=minutes)) if base else None
            result.append(
                JobStatus(
                    job=name,
                    last_started=last.started_at if last else None,
                    last_status=last.status if last else None,
                    last_error=last.error if last else None,
                    next_run=next_run,
                )
            )
    return result


def _next_reminder_time(config: Config, calendar: CampaignCalendar, now: dt.datetime) -> dt.datetime | None:
    """The next reminder: at the configured time, or at the next drawn one (several times)."""
    from monitor.reminder_time import is_drawn, reminder_due_at

    if not is_drawn(config):
        return _next_campaign_time(calendar, config.reminders.at, now)
    day = max(now.astimezone(calendar.tz).date(), calendar.start)
    while day <= calendar.end:
        due = reminder_due_at(config, calendar, day)
        if due >= now:
            return due.astimezone(calendar.tz)
        day += dt.timedelta(days=1)
    return None


def _next_campaign_time(
    calendar: CampaignCalendar, at: dt.time, now: dt.datetime, days_after: int = 0
) -> dt.datetime | None:
    """The next `at` on a campaign day (days_after=1: the days after the campaign's days, as the
    digest reports on the day before)."""
    shift = dt.timedelta(days=days_after)
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=calendar.tz)
    earliest = max(now, dt.datetime.combine(calendar.start + shift, dt.time(0), calendar.tz))
    fire: dt.datetime | None = trigger.get_next_fire_time(None, earliest)
    if fire is None or fire.date() > calendar.end + shift:
        return None
    return fire
