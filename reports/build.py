"""Build the report folder: query -> CSV files -> charts -> workbook -> PDF -> index.html.

`build_report` writes one folder for a range (the `report` command). `build_daily_report` writes
`<out_dir>/<YYYY-MM-DD>/` for the campaign so far and then points `<out_dir>/latest` at it by
replacing a symlink atomically, so whoever opens `latest/index.html` always gets one whole report
(see docs/report.md).

To add a section: its query in `gather` (a field of ReportData) and its charts as ChartJobs handed
to the drawing there once its numbers are in (they are drawn in parallel processes while the rest of
the report is counted), its sheet in `reports.workbook.sheets`, and a template block; the CSV files
are the stable interface and only grow by a new file.
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

    from reports.roster import RosterCounts, RosterReport

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

    # 1. every number, from SQL over the campaign posts selected once; 2. each chart drawn in parallel
    # processes from the moment its numbers are in, while the database goes on with the next ones
    drawings: list[Drawing] = []
    try:
        data, report_charts, roster_charts = gather(config, engine, scope, out_dir, drawings)
        if data.roster_error:
            problems.append(f"the roster is left out of the report: {data.roster_error}")
        if data.roster is not None and data.roster.bad_rows:
            notes.append(
                f"{data.roster.bad_rows} roster rows have problems ({data.roster.skipped_rows} skipped); "
                "run `campaign-monitor roster check` to see them"
            )
        language = config.campaign.language
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
        # 3. the workbook and the one-page PDF, drawn beside the charts
        documents = Drawing(document_jobs(data, out_dir, language, config.campaign.name, headline, generated))
        drawings.append(documents)
        csv_files = write_csvs(data, out_dir)  # 4. the CSV exports (the stable interface)
        # 5. votes, peer cities, the reminder effect: their own files, charts and HTML (reports/scoreboard.py)
        ctx = chart_context(scope, data.reminders, language)
        board = scoreboard.build_sections(
            config, engine, calendar, scope, data.daily, out_dir, ctx, data.quarters
        )
        csv_files += board.csv_files
        workbook, pdf = documents.paths()
        chart_files = [*report_charts.paths(), *roster_charts.paths()]
    except BaseException:
        for drawing in drawings:  # no worker may still write into a folder the caller removes
            drawing.wait()
        raise
    index = write_index(  # 6. the page
        config, calendar, data, out_dir, chart_files, [*csv_files, workbook, pdf], headline, board.html
    )
    files = [*csv_files, *chart_files, *board.charts, workbook, pdf, index]
    return ReportResult(out_dir, index, first, last, files, problems, notes)


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


class Pending:
    """Chart files in page order, drawn by several Drawings that start as their numbers come in."""

    def __init__(self) -> None:
        self._parts: list[Drawing] = []

    def add(self, drawings: list[Drawing], jobs: list[ChartJob]) -> None:
        drawing = Drawing(jobs)
        drawings.append(drawing)
        self._parts.append(drawing)

    def paths(self) -> list[Path]:
        return [path for part in self._parts for path in part.paths()]


def gather(
    config: Config, engine: Engine, scope: ReportScope, out_dir: Path, drawings: list[Drawing]
) -> tuple[ReportData, Pending, Pending]:
    """Run every query of the report and start drawing each chart as soon as its numbers are in:
    (data, the report's charts in page order, the roster's charts).

    The campaign posts are selected once (queries.campaign_posts) and the queries run one after
    another on the connection that holds them, in a thread of their own: the database works while
    this thread hands finished numbers to the drawing processes (sqlite3 and psycopg let go of the
    GIL while they wait). When nothing narrows the report, the roster's pass runs at once beside the
    selection, on its own connection, as its heatmap is the longest drawing; with a filter it counts
    the report's own posts, after the day table. The rest of the roster section waits for the day
    table: its share is a share of the report's posts per day. Every Drawing started is appended to
    `drawings`."""
    language = config.campaign.language
    charts_in_order, roster_charts = Pending(), Pending()
    beside = ThreadPoolExecutor(1, thread_name_prefix="report-roster")
    counting: Future[RosterCounts | None] | None = None
    if not scope.filter.active:
        counting = beside.submit(roster.count_section, config, engine, scope.end)
    beside.shutdown(wait=False)
    with queries.campaign_posts(engine, scope) as posts, ThreadPoolExecutor(1, "report-query") as db:

        def ask(query: Callable[..., Any], *args: Any) -> Future[Any]:
            return db.submit(query, posts, scope, *args)

        reminders = ask(queries.reminders)
        daily = ask(queries.daily_by_platform)  # groups the mix (CampaignPosts.mix) the next ones share
        if counting is None:  # a filter narrows the roster to the report's posts
            counting = db.submit(roster.count_section, config, posts, scope.end, scope.filter)
        tag_sets = ask(queries.tag_sets)  # both tag tables
        quarters = ask(queries.posts_by_quarter)  # posting times and the reminder effect
        # The active accounts of the range and its comparison periods, and the top accounts.
        accounts = ask(queries.rank_accounts, TOP_ACCOUNTS, headline_periods(scope)[1:])
        ranked_posts = ask(queries.rank_top_posts, TOP_POSTS_CSV)
        coverage = ask(queries.data_coverage)
        pair_daily = daily
        if scope.start == scope.end:  # a one-day report still compares with the day before
            pair_scope = replace(scope, start=scope.end - dt.timedelta(days=1))
            pair_daily = db.submit(queries.daily_by_platform, posts, pair_scope)

        ctx = chart_context(scope, reminders.result(), language)
        counted, roster_error = None, ""
        try:
            counted = counting.result()
        except RosterFileError as exc:  # the page says why instead of showing the section
            roster_error = str(exc)
        if counted is not None:
            roster_charts.add(drawings, [roster.heatmap_job(counted, scope.start, scope.end, out_dir, ctx)])
        by_day = daily.result()
        charts_in_order.add(
            drawings,
            [
                ChartJob(charts.posts_per_day, (ctx, by_day, out_dir / "posts_per_day.png")),
                ChartJob(charts.interactions_per_day, (ctx, by_day, out_dir / "interactions_per_day.png")),
            ],
        )
        roster_data = None
        if counted is not None:
            totals = by_day[by_day.platform == ALL]
            per_day = {day: int(n) for day, n in zip(totals["date"], totals["posts"], strict=True)}
            roster_data = roster.roster_tables(counted, config.campaign, scope.start, scope.end, per_day)
            roster_charts.add(drawings, [roster.share_job(roster_data, out_dir, ctx)])
        sets = tag_sets.result()
        hashtags = queries.hashtags_daily(posts, scope, sets)
        all_tags = queries.all_tags_daily(posts, scope, sets)
        charts_in_order.add(
            drawings, [ChartJob(charts.hashtags, (ctx, hashtags, all_tags, out_dir / "hashtags.png"))]
        )
        by_quarter = quarters.result()
        posting_times = queries.posting_times(posts, scope, by_quarter)
        # The top accounts and the top posts' authors named in one pass over the posts.
        ranked_accounts, ranked = accounts.result(), ranked_posts.result()
        named = [*ranked_accounts.accounts, *ranked.accounts]
        spelled = db.submit(queries.account_spellings, posts.conn, named).result()
        top_accounts = ranked_accounts.frame(spelled)
        charts_in_order.add(
            drawings,
            [
                ChartJob(charts.top_accounts, (ctx, top_accounts, out_dir / "top_accounts.png")),
                ChartJob(charts.posting_times, (ctx, posting_times, out_dir / "posting_times.png")),
            ],
        )
        pair = pair_daily.result()
    pair_totals = pair[pair.platform == ALL].set_index("date")
    range_totals, comparison = comparison_of(scope, ranked_accounts.totals)
    data = ReportData(
        scope=scope,
        daily=by_day,
        totals=range_totals,
        comparison=comparison,
        quarters=by_quarter,
        last_day=_day_figures(pair_totals, scope.end),
        day_before=_day_figures(pair_totals, scope.end - dt.timedelta(days=1)),
        hashtags=hashtags,
        all_tags=all_tags,
        top_posts=ranked.frame(spelled),
        top_accounts=top_accounts,
        posting_times=posting_times,
        coverage=coverage.result(),
        reminders=reminders.result(),
        roster=roster_data,
        roster_error=roster_error,
    )
    return data, charts_in_order, roster_charts


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


def chart_context(scope: ReportScope, reminders: pd.DataFrame, language: str) -> charts.ChartContext:
    """The range, the language and the days a vote reminder went out (marked on every day chart)."""
    sent = reminders[reminders.status == "sent"]["date"]
    return charts.ChartContext(scope, language, frozenset(sent))


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
