"""The command line: parse, call the library, print, exit with the documented status.

Exit status: 0 all done; 1 done in part (rows or files rejected, a source failed; the good part is
kept); 2 usage or config error. Expected errors print one line, never a traceback (-v shows it).
Heavy libraries (pandas, matplotlib) are imported inside the commands that draw, so `--help` is fast.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor import __version__
from monitor.errors import (
    AlreadyRunning,
    CampaignMonitorError,
    ConfigError,
    DatabaseError,
    ExportFormatError,
    UsageError,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.campaign import CampaignCalendar
    from monitor.config import Config

NOW_ENV = "CAMPAIGN_MONITOR_NOW"  # an ISO instant that replaces the clock (tests, rehearsals)
NOW_YEARS = (1970, 2200)

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


class App:
    """What every command needs, loaded on first use."""

    def __init__(self, config_path: Path | None, verbose: int, quiet: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.quiet = quiet

    @cached_property
    def config(self) -> Config:
        from monitor.config import load_config

        return load_config(self.config_path)

    @cached_property
    def engine(self) -> Engine:
        from monitor.db import check_time_zone
        from monitor.failures import open_storage

        engine = open_storage(self.config)
        check_time_zone(engine, self.config.path, self.config.campaign.timezone)
        return engine

    @cached_property
    def calendar(self) -> CampaignCalendar:
        from monitor.campaign import CampaignCalendar, fixed_clock, system_clock

        frozen = os.environ.get(NOW_ENV)
        if frozen:
            try:
                instant = dt.datetime.fromisoformat(frozen)
            except ValueError:
                raise UsageError(f"{NOW_ENV}={frozen!r} is not an ISO date-time") from None
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=self.config.campaign.tz)
            try:
                in_range = NOW_YEARS[0] <= instant.astimezone(dt.UTC).year <= NOW_YEARS[1]
            except OverflowError:
                in_range = False
            if not in_range:
                raise UsageError(
                    f"{NOW_ENV}={frozen!r} is out of range; give a date-time between "
                    f"{NOW_YEARS[0]} and {NOW_YEARS[1]}, e.g. 2022-10-01T07:00:00+07:00"
                )
            return CampaignCalendar(self.config.campaign, fixed_clock(instant))
        return CampaignCalendar(self.config.campaign, system_clock)

    def say(self, message: str = "", err: bool = False) -> None:
        if not self.quiet or err:
            click.echo(message, err=err)


class MonitorGroup(click.Group):
    """Turns expected errors into one line and the documented exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except Exception as exc:
                problem = _database_problem(ctx, exc)
                if problem is None:
                    raise
                raise problem from exc
        except CampaignMonitorError as exc:
            app = ctx.obj
            if isinstance(app, App) and app.verbose:
                logging.getLogger("campaign_monitor").exception("details")
            click.echo(f"error: {exc}", err=True)
            code = EXIT_USAGE if isinstance(exc, ConfigError | UsageError | DatabaseError) else EXIT_PARTIAL
            if isinstance(exc, AlreadyRunning):
                code = EXIT_PARTIAL
            ctx.exit(code)
        except Exception as exc:
            # The machine around us failed (a full disk, a read-only database, a file where a folder
            # belongs): one line with a fix, exit 1; what was committed before stays.
            from monitor.failures import describe

            line = describe(exc)
            if line is None:
                raise
            app = ctx.obj
            if isinstance(app, App) and app.verbose:
                logging.getLogger("campaign_monitor").exception("details")
            click.echo(f"error: {line}", err=True)
            ctx.exit(EXIT_PARTIAL)


class _LogFile(logging.FileHandler):
    """The [logging] file: a write that fails (a full disk) says so in one line, once, instead of
    printing a traceback for every record."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            err = sys.exc_info()[1]
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            sys.stderr.write(f"campaign-monitor: cannot write the log file {self.baseFilename} ({reason})\n")


def _database_problem(ctx: click.Context, exc: Exception) -> DatabaseError | None:
    """A lost or refused database connection met in the middle of a command, as one line."""
    from sqlalchemy import exc as sa_exc

    app = ctx.obj
    if isinstance(exc, sa_exc.DBAPIError) and isinstance(app, App) and "config" in app.__dict__:
        from monitor.db import connection_error

        return connection_error(exc, app.config.storage.url)
    return None


def setup_logging(verbose: int, quiet: bool, log_file: Path | None = None) -> None:
    """Log to stderr (and `log_file`); every record is redacted of the configured secrets. Raises
    OSError when the log file cannot be opened."""
    from monitor.redaction import RedactingLogFilter

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not any(getattr(h, "_campaign_monitor", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(fmt)
        handler.addFilter(RedactingLogFilter())
        handler._campaign_monitor = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _LogFile(log_file, encoding="utf-8")
        file_handler.setFormatter(fmt)
        file_handler.addFilter(RedactingLogFilter())
        root.addHandler(file_handler)


def setup_log_file(app: App) -> None:
    """setup_logging with the config's [logging] file; a file that cannot be opened is a ConfigError."""
    log_file = app.config.logging.file
    try:
        setup_logging(app.verbose, app.quiet, log_file)
    except OSError as exc:
        raise ConfigError(
            app.config.path,
            "logging.file",
            f"{log_file} cannot be opened for writing ({exc.strerror})",
            'point it at a writable file, or set it to "" to log to the terminal only',
        ) from None


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="config.toml to use (default: $CAMPAIGN_MONITOR_CONFIG, then ./config.toml).",
)
@click.option("-v", "--verbose", count=True, help="More detail, and tracebacks for errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="campaign-monitor")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """Monitor a city's hashtag campaign: import exports and API posts, send the daily vote
    reminder, and build the daily report."""
    ctx.obj = App(config_path, verbose, quiet)
    setup_logging(verbose, quiet)
    # SIGTERM ends a one-shot command like Ctrl-C does, so an import records how far it got; `run`
    # installs its own handler (finish the running job, then stop).
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


# ---------------------------------------------------------------------------------------------------------
# init


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.pass_obj
def init(app: App, directory: Path) -> None:
    """Write a starter config.toml and the data folders into DIRECTORY (default: here)."""
    from monitor.starter import write_starter

    written = write_starter(directory)
    for path in written:
        app.say(f"created {path}")
    if not written:
        app.say(f"{directory / 'config.toml'} already exists; nothing changed")
    app.say("next: edit config.toml, then `campaign-monitor ingest EXPORT.csv` and `campaign-monitor report`")


# ---------------------------------------------------------------------------------------------------------
# status


@main.command()
@click.pass_obj
def status(app: App) -> None:
    """Posts per platform and source, the last imports and runs, rejects, and the next jobs."""
    from monitor.status import describe

    app.say(describe(app.config, app.engine, app.calendar))


# ---------------------------------------------------------------------------------------------------------
# run


@main.command()
@click.option("--once", is_flag=True, help="Run every due job once and exit (for cron), without scheduling.")
@click.pass_obj
def run(app: App, once: bool) -> None:
    """The background job: import the inbox, poll enabled APIs, send the daily vote reminder and the
    morning digest, rebuild the daily report and send alerts, on the schedule in config.toml. Stops
    cleanly on SIGTERM or Ctrl-C."""
    from monitor.scheduler import Runner, run_once

    setup_log_file(app)
    if once:
        code = run_once(app.config, app.engine, app.calendar)
        click.get_current_context().exit(code)
    Runner(app.config, app.engine, app.calendar).run()


# ---------------------------------------------------------------------------------------------------------
# demo


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("campaign-monitor-demo"),
    show_default=True,
    help="Folder for the demo's config, database and report (its database is made afresh).",
)
@click.option(
    "--language",
    type=click.Choice(["id", "en"]),
    default="id",
    show_default=True,
    help="Language of the demo report and reminders.",
)
@click.option(
    "--url",
    metavar="URL",
    default=None,
    help="Run the demo on this empty database instead of a fresh demo.db in --out "
    "(e.g. postgresql://USER@HOST/campaign_demo).",
)
@click.pass_obj
def demo(app: App, out_dir: Path, language: str, url: str | None) -> None:
    """The whole pipeline on the bundled synthetic sample exports: import them into a fresh database,
    log a vote reminder for every campaign day, and write the report. Touches nothing outside --out
    (and the database given by --url)."""
    from monitor.demo import run_demo

    result = run_demo(out_dir, say=app.say, language=language, url=url)
    app.say(f"report: {result.index}")
    app.say(f"open it in a browser, e.g. xdg-open {result.index}")


# ---------------------------------------------------------------------------------------------------------
# remind, reminders


@main.command()
@click.option(
    "--date", "day_text", metavar="YYYY-MM-DD", help="The day (default: today in the campaign zone)."
)
@click.option("--dry-run", is_flag=True, help="Print the message; send nothing and record nothing.")
@click.pass_context
def remind(ctx: click.Context, day_text: str | None, dry_run: bool) -> None:
    """Send the daily vote reminder on every configured channel, at most once per day and channel.
    Exit 1 if a channel failed (the next `remind` that day retries it)."""
    from monitor.reminders import send_reminders

    app: App = ctx.obj
    day = parse_day(day_text, "--date") or app.calendar.today()
    deliveries = send_reminders(app.config, app.engine, app.calendar, day, dry_run=dry_run)
    cal = app.calendar
    if not cal.contains(day):
        app.say(f"{day} is outside the campaign ({cal.start} to {cal.end}): no vote reminder")
        return
    if not deliveries:
        app.say("no reminder channels configured ([reminders] channels)")
        return
    message = deliveries[0].message
    app.say(f"vote reminder for {day} (campaign day {cal.day_number(day)} of {cal.total_days}):")
    if dry_run or any(d.status == "sent" for d in deliveries):
        app.say(message)
        app.say()
    _say_deliveries(app, deliveries, "remind", late="a reminder")
    failed = [d for d in deliveries if d.status == "failed"]
    if failed:
        from monitor.alerts import notify, reminder_alert

        # Under cron as under `run`: a failed reminder is an alert (once per channel and day).
        alerts = [reminder_alert(app.config, day, d.channel, d.error or "?") for d in failed]
        notify(app.config, app.engine, app.calendar, alerts)
        ctx.exit(EXIT_PARTIAL)


@main.command("reminders")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout instead of a table.")
@click.pass_obj
def reminders_log(app: App, as_csv: bool) -> None:
    """The vote reminder log: each day and channel, its status, attempts and when it was sent."""
    from monitor.reminders import format_log_table, reminder_log, write_log_csv

    entries = reminder_log(app.engine)
    if as_csv:
        write_log_csv(entries, sys.stdout, app.calendar)
    else:
        app.say(format_log_table(entries, app.calendar))


# ---------------------------------------------------------------------------------------------------------
# collect


@main.command()
@click.option(
    "--source",
    "source",
    type=click.Choice(["inbox", "twitter", "instagram", "facebook", "threads"]),
    default=None,
    help="Only this source (an API source must be enabled in config.toml).",
)
@click.pass_context
def collect(ctx: click.Context, source: str | None) -> None:
    """One pass of the inbox folder and the enabled API collectors (X, Instagram, Facebook, Threads); tokens
    come from the environment variables named in config.toml."""
    from monitor.collect import collect as collect_sources
    from monitor.collect import enabled_sources
    from monitor.inbox import Inbox
    from monitor.lock import run_lock

    app: App = ctx.obj
    # The same lock as `run`: two processes never import one inbox file or page one API at once.
    with run_lock(app.config):
        problems = False
        if source in (None, "inbox"):
            inbox = Inbox(app.config, app.engine).run_pass()
            app.say(
                f"inbox: {len(inbox.imported)} files imported, {len(inbox.failed)} failed, "
                f"{len(inbox.waiting)} still being written"
                + (f", {len(inbox.skipped)} skipped (see the log)" if inbox.skipped else "")
                + (f", {len(inbox.reimported)} imported again" if inbox.reimported else "")
            )
            for outcome in inbox.outcomes:
                app.say(f"  {outcome.path.name}: {outcome.counted or outcome.message}")
                if outcome.warning:
                    app.say(f"  warning: {outcome.warning}")
            problems = not inbox.clean
            if source == "inbox":
                _alert_after_collect(app, [], inbox.failed)
                ctx.exit(EXIT_PARTIAL if problems else EXIT_OK)
        if source is None and not enabled_sources(app.config):
            _alert_after_collect(app, [], inbox.failed)
            app.say(
                "no API source is enabled: set `enabled = true` under [sources.twitter], "
                "[sources.instagram], [sources.facebook] or [sources.threads] (see docs/sources.md)"
            )
            ctx.exit(EXIT_PARTIAL if problems else EXIT_OK)
        results = collect_sources(app.config, app.engine, app.calendar, source=source)
    _alert_after_collect(app, [r.source for r in results], inbox.failed if source in (None, "inbox") else [])
    for r in results:
        line = f"{r.source}: {r.status} - {r.pages} pages fetched, {r.new} new posts, {r.updated} updated"
        if r.rejected:
            line += f", {r.rejected} items rejected"
        app.say(line)
        if r.tally.rows:
            app.say(f"  counted: {r.counted}")
        if r.error:
            app.say(f"  {r.error}", err=True)
    if problems or any(not r.ok for r in results):
        ctx.exit(EXIT_PARTIAL)


def _alert_after_collect(app: App, sources: list[str], failed_files: list[Path]) -> None:
    """A one-shot `collect` alerts like the scheduler does: refused files, failed or recovered sources."""
    from monitor.alerts import inbox_alerts, notify, source_alerts

    alerts = inbox_alerts(app.config, failed_files)
    if sources:
        alerts += source_alerts(app.config, app.engine, app.calendar, sources)
    notify(app.config, app.engine, app.calendar, alerts)


# ---------------------------------------------------------------------------------------------------------
# digest, alerts


@main.command()
@click.option(
    "--date",
    "day_text",
    metavar="YYYY-MM-DD",
    help="The day it is sent on (default: today in the campaign zone); it reports on the day before.",
)
@click.option("--dry-run", is_flag=True, help="Print the message; send nothing and record nothing.")
@click.pass_context
def digest(ctx: click.Context, day_text: str | None, dry_run: bool) -> None:
    """Send the morning digest (yesterday's posts, interactions, accounts, top post, members, sources)
    on every [digest] channel, at most once per day and channel. Exit 1 if a channel failed (the next
    `digest` that day retries it)."""
    from monitor.digest import send_digest

    app: App = ctx.obj
    day = parse_day(day_text, "--date") or app.calendar.today()
    result = send_digest(app.config, app.engine, app.calendar, day, dry_run=dry_run)
    cal = app.calendar
    if not cal.contains(result.about):
        app.say(
            f"the digest of {day} would report on {result.about}, outside the campaign "
            f"({cal.start} to {cal.end}): no digest"
        )
        return
    if not result.deliveries:
        app.say("no digest channels configured ([digest] channels)")
        return
    app.say(f"digest of {day} (about {result.about}):")
    if dry_run or any(d.status == "sent" for d in result.deliveries):
        app.say(result.text)
        app.say()
    _say_deliveries(app, result.deliveries, "digest")
    if any(d.status == "failed" for d in result.deliveries):
        ctx.exit(EXIT_PARTIAL)


def _say_deliveries(app: App, deliveries: Any, command: str, late: str = "it") -> None:
    """One line per channel on what became of a message (the digest's, the vote reminder's): a failed
    one on stderr, saying that the next `command` retries it. `late` names what is never sent late."""
    notes = {
        "sent": "sent",
        "already_sent": "already sent earlier; not sent again",
        "in_progress": "another process is sending it right now",
        "missed": f"missed - the day has passed and {late} is not sent late",
        "dry_run": "dry run - nothing sent or recorded",
    }
    for d in deliveries:
        if d.status == "failed":
            app.say(f"  {d.channel}: failed - {d.error} (the next {command} retries it)", err=True)
        else:
            app.say(f"  {d.channel}: {notes.get(d.status, d.status)}")


@main.command("alerts")
@click.option("--check", "run_check", is_flag=True, help="Run the alert checks now and send what they find.")
@click.option("--dry-run", is_flag=True, help="Run the checks and print what would be sent; send nothing.")
@click.option("--csv", "as_csv", is_flag=True, help="The alert log as CSV on stdout instead of a table.")
@click.pass_context
def alerts_command(ctx: click.Context, run_check: bool, dry_run: bool, as_csv: bool) -> None:
    """The alert log: each alert (kind, key, day, channel) and its status. With --check, first look
    for collector failures and recoveries, a Meta token about to expire, silent sources and an
    unusual day of posts, and send each new one once (`run` does this every 15 minutes)."""
    from monitor.alerts import alert_log, check, format_log_table, retry_failed, send_alerts, write_log_csv

    app: App = ctx.obj
    config, engine, cal = app.config, app.engine, app.calendar
    if run_check or dry_run:
        if not dry_run:
            retry_failed(config, engine, cal)
        results = send_alerts(config, engine, cal, check(config, engine, cal), dry_run=dry_run)
        if not results:
            app.say("no alert now")
        for r in results:
            status = r.delivery.status
            line = f"{r.alert.kind} ({r.alert.key}) via {r.delivery.channel}: {status}"
            app.say(line, err=status == "failed")
            if status in ("sent", "dry_run"):
                app.say(f"  {r.alert.text}")
        if dry_run:
            return
        if any(r.delivery.status == "failed" for r in results):
            ctx.exit(EXIT_PARTIAL)
        return
    entries = alert_log(engine)
    if as_csv:
        write_log_csv(entries, sys.stdout, cal)
    else:
        app.say(format_log_table(entries, cal))


# ---------------------------------------------------------------------------------------------------------
# ingest


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_name",
    metavar="NAME",
    help="Read every file as this format instead of detecting it from its content: crowdtangle-facebook, "
    "crowdtangle-instagram, mbs-facebook, mbs-instagram, twarc-csv, twitter-analytics, apify-instagram-csv, "
    "tiktok-studio, mcl-facebook, mcl-instagram, or the name of a [[formats]] entry in config.toml; for "
    "JSON files: zeeschuimer, apify-instagram, apify-tiktok, instaloader.",
)
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], format_name: str | None) -> None:
    """Import export files (CSV), browser captures and scraper datasets (JSON/NDJSON, .json.xz) or
    folders of them, in the order given. The format of each file is detected from its content. Bad
    rows (items) are rejected with their line number and the rest is kept; exit 1 when anything was
    rejected (`campaign-monitor rejects` lists them). Importing a file again adds no duplicates. Each
    file's summary says how many rows became campaign posts and why the others did not.

    When files share a post, the metrics of its latest observation win whatever the order: the time
    an export says it was made (a column, or a timestamp in the file name), else the file's
    modification time; equal times go to the file imported later."""
    from monitor.ingest import export_paths, ingest_paths, summary_lines

    app: App = ctx.obj
    files = export_paths(paths)
    if not files:
        app.say("no CSV files found")
        return
    config, engine = app.config, app.engine
    if sys.stderr.isatty() and not app.quiet:
        total = sum(p.stat().st_size for p in files)
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
            results = ingest_paths(config, engine, files, format_name, progress=bar.update)
    else:
        results = ingest_paths(config, engine, files, format_name)
    for line in summary_lines(results, config):
        app.say(line)
    if any(r.had_problems for r in results):
        ctx.exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# rejects, inspect


@main.command()
@click.option(
    "--file",
    "file_name",
    metavar="NAME",
    help="Only the rejects of this file (its path as imported, or its file name).",
)
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="An Excel-safe CSV on stdout; with --file, in the file's own columns, to fix and import again.",
)
@click.pass_obj
def rejects(app: App, file_name: str | None, as_csv: bool) -> None:
    """The rejected rows still to fix: file, line, reason and the raw row. A reject is listed once
    however often its file was imported, and no longer once its row imports cleanly."""
    from monitor.rejects import format_table, open_rejects, write_csv

    entries = open_rejects(app.engine, file_name)
    if as_csv:
        write_csv(entries, sys.stdout)
    else:
        app.say(format_table(entries))


@main.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_obj
def inspect(app: App, files: tuple[Path, ...]) -> None:
    """What each export file is: its format, encoding, delimiter, date order and rows; for a file no
    format matches, the nearest formats (most shared columns), the columns each lacks, and a
    [[formats]] entry to paste into config.toml. Reads the files only; imports nothing."""
    from monitor.inspection import describe, inspect_file

    reports = [inspect_file(path, app.config.formats, app.config.campaign) for path in files]
    app.say("\n\n".join(describe(r) for r in reports))


# ---------------------------------------------------------------------------------------------------------
# roster


@main.group()
def roster() -> None:
    """The community roster (KIM and LPM members and their accounts)."""


@roster.command("check")
@click.option(
    "--min-posts",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Campaign posts from which an account not on the roster is listed.",
)
@click.pass_context
def roster_check(ctx: click.Context, min_posts: int) -> None:
    """Roster accounts never seen in any source (likely typos), frequent campaign posters not on the
    roster, and the roster's bad rows (exit 1 when there are any; 2 when there is no roster file)."""
    from monitor.roster import check_roster, describe_check, load_roster

    app: App = ctx.obj
    loaded = load_roster(app.config.roster.path)
    app.say(describe_check(check_roster(app.engine, loaded, app.config.campaign, min_posts)))
    if loaded.problems:
        ctx.exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# report


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write the report into (default: reports.out_dir of the config).",
)
@click.option("--from", "from_day", metavar="YYYY-MM-DD", help="First local day (default: campaign start).")
@click.option("--to", "to_day", metavar="YYYY-MM-DD", help="Last local day (default: today or campaign end).")
@click.option(
    "--platform",
    "platforms",
    metavar="NAME",
    multiple=True,
    help="Only posts on this platform (facebook, instagram, x/twitter, ...); repeat for several.",
)
@click.option(
    "--group",
    metavar="NAME",
    default=None,
    help="Only posts by the roster members of this group or kecamatan (needs the roster file).",
)
@click.pass_obj
def report(
    app: App,
    out_dir: Path | None,
    from_day: str | None,
    to_day: str | None,
    platforms: tuple[str, ...],
    group: str | None,
) -> None:
    """Build the campaign report (index.html, charts, daily.csv, top_posts.csv, hashtags.csv,
    report.xlsx, summary.pdf) for a range of local days, cut to the campaign window, and print where
    index.html is. --platform and --group narrow every number, chart and file."""
    from reports.build import build_report
    from reports.filters import resolve_filter

    start, end = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    if start is not None and end is not None and start > end:
        raise UsageError(f"--from {start} is after --to {end}; swap them")
    report_filter = resolve_filter(app.config, platforms, group)
    result = build_report(
        app.config, app.engine, out_dir or app.config.reports.out_dir, start, end, app.calendar, report_filter
    )
    for note in result.notes:
        app.say(f"note: {note}")
    for problem in result.problems:
        app.say(f"problem: {problem}", err=True)
    app.say(f"report {result.start} to {result.end}: {result.index}")
    if result.problems:  # built, but something was left out: done in part
        click.get_current_context().exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# db upgrade, db current


@main.group()
def db() -> None:
    """Schema migrations of the database named by [storage] url."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Bring the database's schema to this release (Alembic revisions; rows are kept). A database made
    before migrations existed is recognised. Back up the database first (docs/deployment.md)."""
    from monitor.db import open_engine, where
    from monitor.failures import storage_url
    from monitor.schema import upgrade

    storage_url(app.config)  # a URL that cannot work is one line naming the key
    engine = open_engine(app.config.storage.url, create=False)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        app.say(f"{where(engine.url)}: schema already at revision {after}")
    else:
        app.say(f"{where(engine.url)}: schema upgraded from revision {before or '(empty)'} to {after}")


@db.command("current")
@click.pass_obj
def db_current(app: App) -> None:
    """Print the database's schema revision and whether it is the one this release needs; exit 1
    when `db upgrade` is due."""
    from monitor.db import open_engine, where
    from monitor.failures import storage_url
    from monitor.schema import current, head

    storage_url(app.config)
    engine = open_engine(app.config.storage.url, create=False)
    try:
        state = current(engine)
    finally:
        engine.dispose()
    if state.empty:
        app.say(f"{where(engine.url)}: empty (the first command creates revision {head()})")
        return
    made = " (made before migrations: `db upgrade` records it)" if state.legacy else ""
    if state.current:
        app.say(f"{where(engine.url)}: revision {state.revision} (head){made}")
        return
    app.say(f"{where(engine.url)}: revision {state.revision}{made}; this release needs {head()}")
    app.say("run `campaign-monitor db upgrade` (back the database up first)")
    click.get_current_context().exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# votes: the vote and suggestion ledger


@main.group(invoke_without_command=True)
@click.option("--csv", "as_csv", is_flag=True, help="List the readings as CSV on stdout instead of a table.")
@click.pass_context
def votes(ctx: click.Context, as_csv: bool) -> None:
    """The vote and suggestion ledger: what the team read on the campaign website. Without a
    subcommand, lists every reading (corrected ones marked)."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.votes import format_readings_table, readings, write_readings_csv

    app: App = ctx.obj
    entries = readings(app.engine)
    if as_csv:
        write_readings_csv(entries, sys.stdout, app.calendar)
    else:
        app.say(format_readings_table(entries, app.calendar))


@votes.command("add")
@click.option(
    "--at", "when", metavar="WHEN", help="When it was read: YYYY-MM-DD HH:MM, campaign time (default: now)."
)
@click.option("--votes", "votes_text", required=True, metavar="N", help="The vote count the website shows.")
@click.option("--suggestions", "suggestions_text", metavar="N", help="The suggestion count, if shown.")
@click.option("--rank", type=click.IntRange(min=1), help="The city's rank, if shown.")
@click.option("--note", help="A note to keep with the reading.")
@click.option(
    "--correct",
    is_flag=True,
    help="The earlier reading(s) this contradicts were wrong: keep them, marked corrected.",
)
@click.pass_obj
def votes_add(
    app: App,
    when: str | None,
    votes_text: str,
    suggestions_text: str | None,
    rank: int | None,
    note: str | None,
    correct: bool,
) -> None:
    """Record one reading of the vote count (several a day are fine). A count lower than an earlier
    one is refused unless --correct (exit 2)."""
    from monitor.votes import add_reading, parse_count, parse_when

    cal = app.calendar
    read_at = parse_when(when, cal) if when else cal.now()
    count = parse_count(votes_text, "--votes", required=True)
    assert count is not None
    result = add_reading(
        app.engine,
        cal,
        read_at,
        count,
        parse_count(suggestions_text, "--suggestions"),
        rank,
        note,
        correct=correct,
    )
    stamp = read_at.astimezone(cal.tz).strftime("%Y-%m-%d %H:%M")
    if result.reading is None:
        app.say(f"already recorded: {count} votes at {stamp}; nothing added")
        return
    app.say(f"recorded: {count} votes at {stamp} ({cal.tz.key})")
    for old in result.corrected:
        app.say(f"  marked corrected: {old.votes} votes at {old.read_at.astimezone(cal.tz):%Y-%m-%d %H:%M}")


@votes.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def votes_import(ctx: click.Context, file: Path) -> None:
    """Import readings from a CSV sheet with the columns at, votes, suggestions, rank, note (and
    optionally correct). Bad rows are listed and the others kept (exit 1)."""
    from monitor.votes import import_readings

    app: App = ctx.obj
    result = import_readings(app.engine, app.calendar, file)
    app.say(
        f"{file.name}: {result.added} readings added, {result.unchanged} already recorded, "
        f"{result.corrected} earlier readings marked corrected, {len(result.rejected)} rejected"
    )
    for line, reason in result.rejected:
        app.say(f"  line {line}: {reason}", err=True)
    if result.rejected:
        ctx.exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# submissions


@main.group(invoke_without_command=True)
@click.option(
    "--state",
    type=click.Choice(["seen", "waiting", "refused"]),
    default=None,
    help="Only submissions in this state (waiting: the post is in no source yet).",
)
@click.option("--member", metavar="NAME", default=None, help="Only this member's (the name on the roster).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout instead of a table.")
@click.pass_context
def submissions(ctx: click.Context, state: str | None, member: str | None, as_csv: bool) -> None:
    """Post links members submitted ("setor link") by Google Form, WhatsApp or the Telegram bot, and
    what became of each: seen (the post is in the data), waiting (not yet) or refused (and why).
    Without a subcommand: list them, oldest first."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.submissions import format_table, list_submissions, refresh_states, write_csv

    app: App = ctx.obj
    refresh_states(app.engine, app.config)
    rows = list_submissions(app.engine, state, member)
    if as_csv:
        write_csv(rows, sys.stdout, app.config.campaign.tz)
    else:
        app.say(format_table(rows, app.config.campaign.tz))


@submissions.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    default=None,
    help="Day/month order of the file's dates when they fit both (dmy: Indonesia, UK; mdy: US). "
    "Default: decided from the file's dates, or [submissions.form] date_order.",
)
@click.pass_context
def submissions_import(ctx: click.Context, files: tuple[Path, ...], date_order: str | None) -> None:
    """Import Google Form responses sheets (CSV, columns named in [submissions.form]) or WhatsApp chat
    exports (.txt, or the iOS .zip) of the setor-link group. Importing a file again, or a later export
    of the same group, adds only what is new. Exit 1 when rows could not be read."""
    from functools import partial

    from collectors.http import make_session
    from collectors.links import expand_short_link
    from monitor.roster import load_roster
    from monitor.submissions import import_file, summary_line

    app: App = ctx.obj
    roster = load_roster(app.config.roster.path)
    problems = False
    with make_session() as session:
        expand = partial(expand_short_link, session) if app.config.submissions.follow_short_links else None
        for path in files:
            try:
                result = import_file(app.config, app.engine, roster, path, date_order, expand)
            except ExportFormatError as exc:  # one unreadable file must not cost the others
                app.say(f"error: {exc}", err=True)
                problems = True
                continue
            app.say(summary_line(result))
            for line, reason in result.problems[:20]:
                app.say(f"  line {line}: {reason}", err=True)
            problems = problems or result.had_problems
    if problems:
        ctx.exit(EXIT_PARTIAL)
