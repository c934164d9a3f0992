"""Build the report folder: query -> CSV files -> charts -> workbook -> PDF -> index.html.

`build_report` writes one folder for a range (the `report` command). `build_daily_report` writes
`<out_dir>/<YYYY-MM-DD>/` for the campaign so far and then points `<out_dir>/latest` at it by
replacing a symlink atomically, so whoever opens `latest/index.html` always gets one whole report
(see docs/report.md).

To add a section: its query in `gather` (a field of ReportData), its charts as ChartJobs in
`chart_jobs` (they are drawn in parallel processes while the rest of the report is counted), its
sheet in `reports.workbook.sheets`, and a template block; the CSV files are the stable interface and
only grow by a new file.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar
from monitor.config import Config
from monitor.errors import UsageError
from monitor.roster import RosterFileError
from reports import charts, queries, roster, scoreboard
from reports.compare import Comparison, comparison_of, headline_periods, report_kind
from reports.drawing import ChartJob, Drawing
from reports.files import atomic_write_text, write_people_csv
from reports.filters import ReportFilter
from reports.html import local_time, render_report
from reports.labels import labels_for
from reports.leftovers import clean_leftovers, temp_tag
from reports.queries import ALL, DAILY_COLUMNS, ReportScope
from reports.summary import Headline, build_headline, reminder_runs

if TYPE_CHECKING:
    import pandas as pd

    from reports.roster import RosterReport

QUERY_THREADS = max(1, min(2, os.cpu_count() or 1))  # the report's queries run this many at a time
TOP_POSTS_CSV = 50  # rows in top_posts.csv
TOP_POSTS_PAGE = 20  # rows on the page (the CSV has the rest)
TOP_ACCOUNTS = 15
LATEST = "latest"


@dataclass(frozen=True)
class ReportResult:
    """Where a report was written and what it covers.

    `problems`: what the report had to leave out (a roster file that cannot be read); the page shows
    them too, and the `report` command exits 1 ("done in part"). `notes`: what a reader should know,
    not a failure (the range was cut at today, roster rows were skipped)."""

    out_dir: Path
    index: Path
    start: dt.date
    end: dt.date
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the report shows, already aggregated (small frames, not posts)."""

    scope: ReportScope
    daily: pd.DataFrame
    totals: dict[str, int]
    last_day: dict[str, int]
    day_before: dict[str, int]
    hashtags: pd.DataFrame
    all_tags: pd.DataFrame
    top_posts: pd.DataFrame
    top_accounts: pd.DataFrame
    posting_times: pd.DataFrame
    coverage: pd.DataFrame
    reminders: pd.DataFrame
    comparison: Comparison  # the headline numbers against the period before
    quarters: dict[int, int]  # UTC quarter-hour -> campaign posts (posting times, reminder effect)
    roster: RosterReport | None = None  # the community roster section; None without a roster file
    roster_error: str = ""  # why a roster file that is there could not be read ('' when it could)


# ---------------------------------------------------------------------------------------------------------
# Public entry points


def report_range(
    calendar: CampaignCalendar, start: dt.date | None = None, end: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The days a report covers: the asked range (defaults: calendar.default_range()), cut to the
    campaign window and at today (later days have no data yet). Raises UsageError when the range
    misses the window, starts after today, or is reversed (checked in that order, so the message
    names the real mistake even when only one end was given)."""
    default_start, default_end = calendar.default_range()
    start, end = start or default_start, end or default_end
    if start > calendar.end or end < calendar.start:
        raise UsageError(
            f"the range {start}..{end} is outside the campaign {calendar.start}..{calendar.end}; "
            "pick days inside it"
        )
    today = calendar.today()
    if max(start, calendar.start) > today:
        raise UsageError(
            f"the report range starts {max(start, calendar.start)}, after today ({today}); no data yet"
        )
    if start > end:
        raise UsageError(f"the report range starts {start}, after it ends {end}; swap --from and --to")
    return max(start, calendar.start), min(end, calendar.end, today)


def build_report(
    config: Config,
    engine: Engine,
    out_dir: Path,
    start: dt.date | None = None,
    end: dt.date | None = None,
    calendar: CampaignCalendar | None = None,
    report_filter: ReportFilter | None = None,
) -> ReportResult:
    """Write the report for start..end (default: the campaign so far) into out_dir (created).

    `report_filter` (reports.filters.resolve_filter: `--platform`, `--group`) narrows every number,
    chart and file to those posts."""
    calendar = calendar or CampaignCalendar(config.campaign)
    first, last = report_range(calendar, start, end)
    report_filter = report_filter or ReportFilter()
    scope = ReportScope(config.campaign, first, last, report_filter)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir)  # temporary files of a build that was killed here
    problems: list[str] = []
    notes: list[str] = []
    labels = labels_for(config.campaign.language)
    page_notes: list[str] = []
    asked = f"{start or first}..{end or last}"
    if (start is not None and start < calendar.start) or (end is not None and end > calendar.end):
        notes.append(f"the range {asked} is cut to the campaign {calendar.start}..{calendar.end}")
        page_notes.append(labels["range_cut_window"].replace("{asked}", asked))
    cut_at_today = end is not None and min(end, calendar.end) > last
    if cut_at_today:
        notes.append(f"the range ends today ({last}), not {end}: later days have no data yet")
        page_notes.append(labels["range_cut"])

    # 1. every number, from SQL. The roster's pass over the posts runs beside the report's queries
    # (it needs their counts only when a filter narrows the report).
    beside = ThreadPoolExecutor(1, thread_name_prefix="report-roster")
    early_roster = None
    if not report_filter.active:
        early_roster = beside.submit(roster.report_section, config, engine, first, last)
    beside.shutdown(wait=False)
    data = gather(engine, scope)
    language = config.campaign.language
    ctx = chart_context(data, language)
    # 2. the charts, drawn in parallel processes while this one counts the roster and the scoreboard
    drawings = [Drawing(chart_jobs(data, out_dir, ctx))]
    try:
        try:  # the roster, when there is one
            if early_roster is not None:
                data.roster = early_roster.result()
            else:
                data.roster = roster.report_section(
                    config, engine, first, last, report_filter, _daily_posts(data)
                )
        except RosterFileError as exc:
            data.roster_error = str(exc)
            problems.append(f"the roster is left out of the report: {exc}")
        if data.roster is not None and data.roster.bad_rows:
            notes.append(
                f"{data.roster.bad_rows} roster rows have problems ({data.roster.skipped_rows} skipped); "
                "run `campaign-monitor roster check` to see them"
            )
        headline = build_headline(
            labels,
            language,
            report_kind(scope),
            first,
            last,
            calendar.start,
            calendar.total_days,
            data.totals,
            data.comparison,
            report_filter,
            page_notes,
        )
        generated = local_time(calendar.now(), config.campaign.tz) + f" ({config.campaign.timezone})"
        # 3. the roster's charts, the workbook and the one-page PDF, drawn beside the others
        roster_jobs = roster.chart_jobs(data.roster, out_dir, ctx) if data.roster is not None else []
        documents = document_jobs(data, out_dir, language, config.campaign.name, headline, generated)
        drawings.append(Drawing([*roster_jobs, *documents]))
        csv_files = write_csvs(data, out_dir)  # 4. the CSV exports (the stable interface)
        # 5. votes, peer cities, the reminder effect: their own files, charts and HTML (reports/scoreboard.py)
        board = scoreboard.build_sections(
            config, engine, calendar, scope, data.daily, out_dir, ctx, data.quarters
        )
        csv_files += board.csv_files
        *roster_charts, workbook, pdf = drawings[1].paths()
        chart_files = [*drawings[0].paths(), *roster_charts]
    except BaseException:
        for drawing in drawings:  # no worker may still write into a folder the caller removes
            drawing.wait()
        raise
    index = write_index(  # 6. the page
        config, calendar, data, out_dir, chart_files, [*csv_files, workbook, pdf], headline, board.html
    )
    files = [*csv_files, *chart_files, *board.charts, workbook, pdf, index]
    return ReportResult(out_dir, index, first, last, files, problems, notes)


def _daily_posts(data: ReportData) -> dict[dt.date, int]:
    """Campaign posts per day (all platforms), as the report counts them (with its filter)."""
    totals = data.daily[data.daily.platform == ALL]
    return {day: int(n) for day, n in zip(totals["date"], totals["posts"], strict=True)}


def build_daily_report(
    config: Config, engine: Engine, calendar: CampaignCalendar, day: dt.date
) -> ReportResult:
    """Write `<out_dir>/<day>/` (campaign start .. day) and swap `<out_dir>/latest` to it atomically.

    Returns the result with out_dir and index in the dated folder. The report is built in a hidden
    staging folder first, so neither the dated folder nor `latest` ever shows a half-written report.
    """
    if day < config.campaign.start:
        raise UsageError(f"{day} is before the campaign starts ({config.campaign.start}); no daily report")
    root = Path(config.reports.out_dir)
    root.mkdir(parents=True, exist_ok=True)
    clean_leftovers(root)  # staging folders and swaps of a build that was killed
    final = root / day.isoformat()
    staging = root / f".staging-{day.isoformat()}-{temp_tag()}-{secrets.token_hex(4)}"
    try:
        result = build_report(config, engine, staging, config.campaign.start, day, calendar)
        publish(staging, final, root / LATEST)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    files = [final / path.name for path in result.files]
    return replace(result, out_dir=final, index=final / result.index.name, files=files)


def publish(staging: Path, final: Path, latest: Path) -> None:
    """Move a finished report folder to `final` and point the `latest` symlink at it.

    Each swap of `latest` is os.replace of a fresh symlink: atomic, so `latest` always points at a
    complete folder. When `final` already exists (a rebuild of the same day), `latest` first points at
    the staging folder while a hard-linked copy takes the place of the old `final`.
    """
    if final.exists():
        _point(latest, staging)
        copy = final.with_name(f".copy-{final.name}-{temp_tag()}-{secrets.token_hex(4)}")
        shutil.copytree(staging, copy, copy_function=os.link)
        trash = final.with_name(f".old-{final.name}-{temp_tag()}-{secrets.token_hex(4)}")
        final.rename(trash)
        copy.rename(final)
        _point(latest, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        staging.rename(final)
        _point(latest, final)


def _point(link: Path, target: Path) -> None:
    """Atomically make `link` a relative symlink to `target` (a sibling folder)."""
    tmp = link.with_name(f".{link.name}-{temp_tag()}-{secrets.token_hex(4)}")
    os.symlink(target.name, tmp, target_is_directory=True)
    if link.is_dir() and not link.is_symlink():
        # A real folder named latest (copied by hand) cannot be replaced by a symlink in one step.
        shutil.rmtree(link)
    os.replace(tmp, link)


# ---------------------------------------------------------------------------------------------------------
# Steps


def gather(engine: Engine, scope: ReportScope) -> ReportData:
    """Run every query of the report (all aggregated in the database), QUERY_THREADS at a time: each
    on its own connection, and the database works while Python waits (sqlite3 and psycopg release
    the GIL), so over a large campaign the queries take about half as long on two cores."""
    last = scope.end
    with ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="report-query") as pool:

        def run(query: Callable[..., Any], *args: Any) -> Future[Any]:
            return pool.submit(query, engine, scope, *args)

        daily = run(queries.daily_by_platform)
        tag_sets = run(queries.tag_sets)  # one pass for both tag tables
        quarters = run(queries.posts_by_quarter)  # one pass for posting times and the reminder effect
        # The range's totals, its comparison periods and the top accounts: one pass by account.
        accounts = run(queries.account_pass, TOP_ACCOUNTS, headline_periods(scope)[1:])
        top_posts = run(queries.top_posts, TOP_POSTS_CSV)
        coverage = run(queries.data_coverage)
        reminders = run(queries.reminders)
        if scope.start < last:
            pair_daily = daily
        else:  # a one-day report still compares with the day before
            pair_scope = replace(scope, start=last - dt.timedelta(days=1))
            pair_daily = pool.submit(queries.daily_by_platform, engine, pair_scope)
    pair = pair_daily.result()
    pair_totals = pair[pair.platform == ALL].set_index("date")
    found, top_accounts = accounts.result()
    range_totals, comparison = comparison_of(scope, found)
    return ReportData(
        scope=scope,
        daily=daily.result(),
        totals=range_totals,
        comparison=comparison,
        quarters=quarters.result(),
        last_day=_day_figures(pair_totals, last),
        day_before=_day_figures(pair_totals, last - dt.timedelta(days=1)),
        hashtags=queries.hashtags_daily(engine, scope, tag_sets.result()),
        all_tags=queries.all_tags_daily(engine, scope, tag_sets.result()),
        top_posts=top_posts.result(),
        top_accounts=top_accounts,
        posting_times=queries.posting_times(engine, scope, quarters.result()),
        coverage=coverage.result(),
        reminders=reminders.result(),
    )


def _day_figures(totals: pd.DataFrame, day: dt.date) -> dict[str, int]:
    row: Any = totals.loc[day]
    return {
        "posts": int(row["posts"]),
        "interactions": int(row["interactions"]),
        "authors": int(row["authors"]),
    }


def write_csvs(data: ReportData, out_dir: Path) -> list[Path]:
    """daily.csv, top_posts.csv, hashtags.csv and, with a roster, roster.csv (UTF-8 with BOM, formula
    cells neutralized)."""
    daily = write_people_csv(out_dir / "daily.csv", DAILY_COLUMNS, _csv_cells(data.daily[DAILY_COLUMNS]))
    top_columns = ["rank", "platform", "date", "author", "url", "likes", "comments", "shares", "interactions"]
    top = write_people_csv(
        out_dir / "top_posts.csv", [*top_columns, "text"], _csv_cells(data.top_posts[[*top_columns, "text"]])
    )
    tag_columns = ["date", "hashtag", "posts", "interactions"]
    tags = write_people_csv(out_dir / "hashtags.csv", tag_columns, _csv_cells(data.hashtags[tag_columns]))
    files = [daily, top, tags]
    if data.roster is not None:
        files.append(roster.write_roster_csv(data.roster, out_dir))
    return files


def _csv_cells(frame: pd.DataFrame) -> list[list[Any]]:
    """Dates as YYYY-MM-DD; an unknown value (None: a metric the source did not give) as an empty cell."""
    return [
        [v.isoformat() if isinstance(v, dt.date) else "" if v is None else v for v in row]
        for row in frame.itertuples(False)
    ]


def chart_context(data: ReportData, language: str) -> charts.ChartContext:
    """The range, the language and the days a vote reminder went out, for every chart."""
    sent = data.reminders[data.reminders.status == "sent"]["date"]
    return charts.ChartContext(data.scope, language, frozenset(sent))


def chart_jobs(data: ReportData, out_dir: Path, ctx: charts.ChartContext) -> list[ChartJob]:
    """The report's PNG charts, in the order the page shows them (the roster's come after them)."""
    return [
        ChartJob(charts.posts_per_day, (ctx, data.daily, out_dir / "posts_per_day.png")),
        ChartJob(charts.interactions_per_day, (ctx, data.daily, out_dir / "interactions_per_day.png")),
        ChartJob(charts.hashtags, (ctx, data.hashtags, data.all_tags, out_dir / "hashtags.png")),
        ChartJob(charts.top_accounts, (ctx, data.top_accounts, out_dir / "top_accounts.png")),
        ChartJob(charts.posting_times, (ctx, data.posting_times, out_dir / "posting_times.png")),
    ]


def document_jobs(
    data: ReportData, out_dir: Path, language: str, campaign_name: str, headline: Headline, generated: str
) -> list[ChartJob]:
    """report.xlsx and summary.pdf, as jobs drawn beside the charts."""
    from reports.pdf import write_summary_pdf
    from reports.workbook import write_workbook

    return [
        ChartJob(write_workbook, (out_dir / "report.xlsx", language, data, headline, generated)),
        ChartJob(
            write_summary_pdf, (out_dir / "summary.pdf", language, campaign_name, data, headline, generated)
        ),
    ]


CHART_TITLES = {
    "posts_per_day.png": "chart_posts",
    "interactions_per_day.png": "chart_interactions",
    "hashtags.png": "chart_hashtags",
    "top_accounts.png": "chart_accounts",
    "posting_times.png": "chart_times",
}


def write_index(
    config: Config,
    calendar: CampaignCalendar,
    data: ReportData,
    out_dir: Path,
    chart_files: list[Path],
    download_files: list[Path],
    headline: Headline,
    scoreboard_html: str = "",
) -> Path:
    """index.html: headline figures, charts, tables; links are relative so the folder can move."""
    language = config.campaign.language
    labels = labels_for(language)
    scope = data.scope
    tz = config.campaign.tz
    now = calendar.now()
    today = calendar.today()
    coverage = _coverage_days(data)
    context = {
        "campaign": config.campaign,
        "hashtags": ["#" + tag for tag in scope.tracked_tags.values()],
        "start": scope.start,
        "end": scope.end,
        "start_day": scope.campaign_day(scope.start),
        "end_day": scope.campaign_day(scope.end),
        "total_days": calendar.total_days,
        # Counted from today, whatever the range: a report on a past range must not promise days.
        "days_left": calendar.days_left(today),
        "generated_at": local_time(now, tz) + f" ({config.campaign.timezone})",
        "headline": headline,
        # The last day is today and not over: its cards count only the hours so far.
        "so_far_until": now.astimezone(tz).strftime("%H:%M") if scope.end == today else "",
        "totals": data.totals,
        "last_day": data.last_day,
        "day_before": data.day_before,
        "charts": [
            _chart_entry(path, labels.get(CHART_TITLES.get(path.name, ""), path.stem))
            for path in chart_files
            if path.name in CHART_TITLES
        ],
        "top_posts": data.top_posts.head(TOP_POSTS_PAGE).to_dict("records"),
        "top_accounts": data.top_accounts.to_dict("records"),
        "coverage": coverage,
        "coverage_gaps": [day for day in coverage if day["posts"] == 0],
        "reminders": reminder_runs(data.reminders, tz),
        "downloads": [path.name for path in download_files],
        "roster": roster.template_context(data.roster, out_dir) if data.roster is not None else None,
        "roster_error": data.roster_error,
        "scoreboard": scoreboard_html,
    }
    return atomic_write_text(out_dir / "index.html", render_report(language, context))


def _chart_entry(path: Path, title: str) -> dict[str, Any]:
    # The PNG header holds the size; width/height on <img> keep the page from jumping while it loads.
    with path.open("rb") as handle:
        width, height = struct.unpack(">II", handle.read(24)[16:24])
    text_px = charts.min_text_px(path) or 0.0
    return {"file": path.name, "title": title, "width": width, "height": height, "text_px": text_px}


def _coverage_days(data: ReportData) -> list[dict[str, Any]]:
    days: dict[dt.date, dict[str, Any]] = {}
    row: Any
    for row in data.coverage.itertuples(False):
        entry = days.setdefault(
            row.date,
            {
                "date": row.date,
                "campaign_day": data.scope.campaign_day(row.date),
                "posts": 0,
                "s": {},
                "t": {},
            },
        )
        if row.posts:
            entry["posts"] += row.posts
            entry["s"][row.source] = entry["s"].get(row.source, 0) + row.posts
            if row.target:
                name = _target_name(row.target)
                entry["t"][name] = entry["t"].get(name, 0) + row.posts
    return [
        {**e, "sources": sorted(e["s"].items()), "targets": sorted(e["t"].items())} for e in days.values()
    ]


def _target_name(target: str) -> str:
    # A file path shows its name (the folder is the same inbox every time); an API base stays whole.
    return target if "://" in target else Path(target).name
