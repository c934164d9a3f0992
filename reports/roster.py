"""The roster section of the report: who posted, who has gone quiet, which kecamatan is behind.

Every number counts campaign posts (DESIGN 5) whose author is one of a member's accounts, or, when
no member's account wrote it, whose link the member submitted ("setor link"); `waiting` counts the
links a member submitted whose post no source has brought yet. The match
itself lives in `monitor.roster.posts_by_member`: one SQL pass per report that returns each member's
campaign posts and interactions per day (at most members x days rows), and every roster table is
built from those counts and the report's campaign posts per day (the share). Heavy imports (pandas,
matplotlib) stay inside the functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from monitor.config import CampaignConfig, Config
from monitor.roster import (
    MemberDays,
    Roster,
    RosterFileError,
    RosterMember,
    load_roster,
    matching,
    member_key,
    posts_by_member,
)
from monitor.submissions import waiting_by_member
from reports import charts
from reports.drawing import ChartJob
from reports.files import write_people_csv
from reports.filters import ReportFilter
from reports.queries import REPORT_POSTS, CampaignPosts, ReportScope, posts_per_day

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from reports.charts import ChartContext

ROSTER_COLUMNS = [
    "name",
    "group",
    "kecamatan",
    "kelurahan",
    "posts",
    "interactions",
    "active_days",
    "last_post_date",
    "waiting",  # submitted links whose post no source has brought yet (monitor.submissions)
]
MEMBER_COLUMNS = ["name", "group", "kecamatan", "kelurahan"]
QUIET_DAYS = 3
NO_KECAMATAN = "-"
log = logging.getLogger(__name__)

ROSTER_COLOUR, OTHERS_COLOUR, SHARE_COLOUR = "#2E7D32", "#C8E6C9", "#D55E00"


@dataclass(frozen=True)
class RosterReport:
    """Everything the report shows about the roster for one date range."""

    start: dt.date
    end: dt.date  # the day of the not-yet-posted and quiet lists
    table: pd.DataFrame  # ROSTER_COLUMNS, one row per member, posts desc then name
    participation: pd.DataFrame  # members x days (index: member label, columns: dates), posts
    not_posted_today: pd.DataFrame  # MEMBER_COLUMNS + last_post_date (members without a post on `end`)
    quiet: pd.DataFrame  # MEMBER_COLUMNS + last_post_date, days_quiet
    kecamatan: pd.DataFrame  # kecamatan, members, members_active, active_pct, posts, interactions
    share: pd.DataFrame  # date, campaign_posts, roster_posts, share_pct
    quiet_days: int = QUIET_DAYS
    bad_rows: int = 0  # roster file lines with a problem (`campaign-monitor roster check` lists them)
    skipped_rows: int = 0  # of those, lines that gave no member at all (no name)


@dataclass(frozen=True)
class RosterCounts:
    """A roster and what its one pass over the campaign posts counted: the slow half of the roster
    section, which a report runs beside its own queries."""

    roster: Roster
    counts: MemberDays  # monitor.roster.posts_by_member, from the campaign start
    waiting: Mapping[str, int]  # monitor.submissions.waiting_by_member


def count_roster(
    source: Engine | CampaignPosts, roster: Roster, campaign: CampaignConfig, end: dt.date
) -> RosterCounts:
    """Match the campaign posts from the campaign start to `end` to the roster's members (one pass).
    `source`: the report's campaign posts (reports.queries.campaign_posts), or the database."""
    end = min(end, campaign.end)
    bind, table = (source.conn, REPORT_POSTS.name) if isinstance(source, CampaignPosts) else (source, None)
    with matching(bind, roster) as conn:
        counts = posts_by_member(conn, campaign, end, table)  # the one pass over the posts
        waiting = waiting_by_member(conn, end)
    return RosterCounts(roster, counts, waiting)


def roster_tables(
    counted: RosterCounts,
    campaign: CampaignConfig,
    start: dt.date,
    end: dt.date,
    campaign_posts: Mapping[dt.date, int],
    quiet_days: int = QUIET_DAYS,
) -> RosterReport:
    """All roster tables for the report range [start, end] (cut to the campaign window), from the
    counts. `campaign_posts`: the campaign posts per day as the report counts them (the roster's
    share is a share of those; a filter narrows them)."""
    start, end = max(start, campaign.start), min(end, campaign.end)
    roster, counts, waiting = counted.roster, counted.counts, counted.waiting
    table = member_stats(roster, counts, start, end, waiting)
    member_lines = {m.line for m in roster.members}
    bad_lines = {p.line for p in roster.problems}
    return RosterReport(
        start=start,
        end=end,
        table=table,
        participation=participation(roster, counts, start, end),
        not_posted_today=not_posted_on(roster, counts, end, waiting),
        quiet=quiet_members(roster, counts, end, quiet_days, waiting),
        kecamatan=kecamatan_leaderboard(table),
        share=roster_share(counts, start, end, campaign_posts),
        quiet_days=quiet_days,
        bad_rows=len(bad_lines),
        skipped_rows=len(bad_lines - member_lines),
    )


def roster_report(
    source: Engine | CampaignPosts,
    roster: Roster,
    campaign: CampaignConfig,
    start: dt.date,
    end: dt.date,
    quiet_days: int = QUIET_DAYS,
    campaign_posts: Mapping[dt.date, int] | None = None,
) -> RosterReport:
    """All roster tables for the report range [start, end] (cut to the campaign window): the pass and
    the tables in one call.

    `campaign_posts`: the campaign posts per day as the report counts them; default: those of
    `source` (every campaign post of the database, or the report's filtered ones).
    `source`: the report's campaign posts (reports.queries.campaign_posts), or the database."""
    counted = count_roster(source, roster, campaign, end)
    if campaign_posts is None:
        scope = ReportScope(campaign, max(start, campaign.start), min(end, campaign.end))
        campaign_posts = posts_per_day(source, scope)
    return roster_tables(counted, campaign, start, end, campaign_posts, quiet_days)


# ---------------------------------------------------------------------------------------------------------
# The report's use of it: section data, roster.csv, template context


def count_section(
    config: Config, source: Engine | CampaignPosts, end: dt.date, report_filter: ReportFilter | None = None
) -> RosterCounts | None:
    """The slow half of a report's roster section: the roster file read and its pass over the posts
    up to `end` (roster_tables makes the section from it). None when there is no roster file (the
    roster is optional). Raises RosterFileError when the file is there but cannot be read as a roster
    (the report shows that instead of the section). Bad rows are logged and counted in the section's
    `bad_rows` (`campaign-monitor roster check` lists them); the good rows are reported.

    With a `report_filter` (--platform, --group) only the group's members and their accounts on
    those platforms count."""
    path = config.roster.path
    if not path.is_file():
        return None
    try:
        roster = load_roster(path)
    except OSError as exc:  # no permission, a disk error: say so on the page, not only in a log
        raise RosterFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if roster.problems:
        # The report's notes say it to the team (once); the log keeps the first bad row for -v.
        log.debug(
            "roster %s has %d bad rows (first: %s); run `campaign-monitor roster check`",
            path,
            len(roster.problems),
            roster.problems[0],
        )
    if report_filter is not None and report_filter.active:
        roster = report_filter.narrow_roster(roster)
    return count_roster(source, roster, config.campaign, end)


def write_roster_csv(report: RosterReport, out_dir: Path) -> Path:
    """roster.csv (`name,group,kecamatan,kelurahan,posts,interactions,active_days,last_post_date`) for
    people: UTF-8 with BOM, formula cells neutralized, written atomically; no post yet = empty date."""
    rows = [
        [v.isoformat() if isinstance(v, dt.date) else "" if v is None else v for v in row]
        for row in report.table.itertuples(index=False)
    ]
    return write_people_csv(out_dir / "roster.csv", ROSTER_COLUMNS, rows)


def template_context(report: RosterReport, out_dir: Path) -> dict[str, Any]:
    """What the report template's roster block shows (charts already written in out_dir)."""
    table = report.table
    share = report.share
    campaign_posts = int(share["campaign_posts"].sum())
    roster_posts = int(share["roster_posts"].sum())
    return {
        "day": report.end,
        "quiet_days": report.quiet_days,
        "members": len(table),
        "members_active": int((table["posts"] > 0).sum()),
        "waiting": int(table["waiting"].sum()),
        "posted_today": len(table) - len(report.not_posted_today),
        "roster_posts": roster_posts,
        "campaign_posts": campaign_posts,
        "share_pct": round(100 * roster_posts / campaign_posts, 1) if campaign_posts else 0.0,
        "table": table.to_dict("records"),
        "not_posted_today": report.not_posted_today.to_dict("records"),
        "quiet": report.quiet.to_dict("records"),
        "kecamatan": report.kecamatan.to_dict("records"),
        "bad_rows": report.bad_rows,
        "skipped_rows": report.skipped_rows,
        "charts": {
            key: _image(out_dir / name)
            for key, name in (("heatmap", "roster_heatmap.png"), ("share", "roster_share.png"))
            if (out_dir / name).is_file()
        },
    }


def _image(path: Path) -> dict[str, Any]:
    # The PNG header holds the size; width/height on <img> keep the page from jumping while it loads.
    with path.open("rb") as handle:
        head = handle.read(24)
    return {
        "file": path.name,
        "width": int.from_bytes(head[16:20]),
        "height": int.from_bytes(head[20:24]),
        "text_px": charts.min_text_px(path) or 0.0,
    }


# ---------------------------------------------------------------------------------------------------------
# The tables, from the per-member per-day counts of monitor.roster.posts_by_member


def member_stats(
    roster: Roster,
    counts: MemberDays,
    start: dt.date,
    end: dt.date,
    waiting: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """`name,group,kecamatan,kelurahan,posts,interactions,active_days,last_post_date,waiting` for every
    member (zeros included) over the campaign posts of [start, end]; most posts first, then by name.
    `waiting` (member_key -> links) counts the member's submitted links whose post is not seen yet."""
    waiting = waiting or {}
    import pandas as pd

    by_member: dict[int, dict[dt.date, tuple[int, int]]] = {}
    for (m, day), value in counts.items():
        if start <= day <= end:
            by_member.setdefault(m, {})[day] = value
    rows = []
    for index, member in enumerate(roster.members):
        days = by_member.get(index, {})
        rows.append(
            {
                "member": index,
                **_member_fields(member),
                "posts": sum(posts for posts, _ in days.values()),
                "interactions": sum(inter for _, inter in days.values()),
                "active_days": len(days),
                "last_post_date": max(days, default=None),
                "waiting": waiting.get(member_key(member.name), 0),
            }
        )
    frame = pd.DataFrame(rows, columns=["member", *ROSTER_COLUMNS])
    frame["_name"] = frame["name"].str.casefold()
    frame = frame.sort_values(["posts", "_name", "member"], ascending=[False, True, True], kind="stable")
    return frame[ROSTER_COLUMNS].reset_index(drop=True)


def participation(roster: Roster, counts: MemberDays, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Campaign posts per member per day: one row per member (most posts first, labelled by name,
    made unique when two members share one), one column per day of the range, zeros included."""
    import pandas as pd

    days = list(_days(start, end))
    posts = {(m, day): n for (m, day), (n, _) in counts.items() if start <= day <= end}
    totals = Counter[int]()
    for (m, _), n in posts.items():
        totals[m] += n
    order = sorted(
        range(len(roster.members)), key=lambda m: (-totals[m], roster.members[m].name.casefold(), m)
    )
    labels = member_labels(roster.members)
    return pd.DataFrame(
        [[posts.get((m, day), 0) for day in days] for m in order],
        index=pd.Index([labels[m] for m in order], name="member"),
        columns=days,
        dtype="int64",
    )


def not_posted_on(
    roster: Roster, counts: MemberDays, day: dt.date, waiting: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Members without a campaign post on `day` (the report's last day), with their last campaign
    post before it (empty: never) and their links still waiting for their post; longest silence first."""
    waiting = waiting or {}
    last = _last_posts(counts, day)
    rows = [
        {
            **_member_fields(member),
            "last_post_date": last.get(m),
            "waiting": waiting.get(member_key(member.name), 0),
        }
        for m, member in enumerate(roster.members)
        if last.get(m) != day
    ]
    return _by_silence(rows, ["last_post_date", "waiting"])


def quiet_members(
    roster: Roster,
    counts: MemberDays,
    day: dt.date,
    days: int = QUIET_DAYS,
    waiting: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Members who posted for the campaign before but not in the `days` days up to `day`
    (days_quiet = days since their last campaign post, >= `days`); longest silence first. `waiting`:
    links they submitted whose post is not seen yet (chase the data, not the member)."""
    waiting = waiting or {}
    last = _last_posts(counts, day)
    rows = []
    for m, member in enumerate(roster.members):
        when = last.get(m)
        if when is not None and (day - when).days >= days:
            rows.append(
                {
                    **_member_fields(member),
                    "last_post_date": when,
                    "days_quiet": (day - when).days,
                    "waiting": waiting.get(member_key(member.name), 0),
                }
            )
    return _by_silence(rows, ["last_post_date", "days_quiet", "waiting"])


def _last_posts(counts: MemberDays, day: dt.date) -> dict[int, dt.date]:
    """Each member's last campaign post day from the campaign start up to `day`."""
    last: dict[int, dt.date] = {}
    for m, when in counts:
        if when <= day and when > last.get(m, dt.date.min):
            last[m] = when
    return last


def _by_silence(rows: list[dict[str, Any]], extra: list[str]) -> pd.DataFrame:
    import pandas as pd

    # Never posted first, then the oldest last post; ties by name.
    rows.sort(key=lambda r: (r["last_post_date"] or dt.date.min, r["name"].casefold()))
    return pd.DataFrame(rows, columns=[*MEMBER_COLUMNS, *extra])


def kecamatan_key(name: str) -> str:
    """How two spellings of one kecamatan compare: `Mayangan`, `mayangan ` and `MAYANGAN` are one."""
    return " ".join(name.split()).casefold()


def kecamatan_leaderboard(member_stats: pd.DataFrame) -> pd.DataFrame:
    """Per kecamatan: members, members_active (>= 1 campaign post in the range), active_pct, posts,
    interactions; the most active share of members first, so the kecamatan behind is at the bottom.
    Spellings that differ only in case or spaces are one kecamatan, shown in its most common spelling."""
    import pandas as pd

    columns = ["kecamatan", "members", "members_active", "active_pct", "posts", "interactions"]
    names = member_stats["kecamatan"].map(lambda k: " ".join(str(k).split()) or NO_KECAMATAN)
    keys = names.map(kecamatan_key)
    # Counter.most_common keeps first-seen order among ties: the roster's first spelling wins a tie.
    spelling = {key: Counter(names[keys == key]).most_common(1)[0][0] for key in dict.fromkeys(keys)}
    frame = member_stats.assign(key=keys, active=(member_stats["posts"] > 0).astype(int))
    board = (
        frame.groupby("key", sort=False)
        .agg(
            members=("name", "size"),
            members_active=("active", "sum"),
            posts=("posts", "sum"),
            interactions=("interactions", "sum"),
        )
        .reset_index()
    )
    if board.empty:
        return pd.DataFrame(columns=columns)
    board["kecamatan"] = board["key"].map(spelling)
    board["active_pct"] = (100 * board["members_active"] / board["members"]).round(1)
    board = board.sort_values(["active_pct", "posts", "key"], ascending=[False, False, True], kind="stable")
    return board[columns].reset_index(drop=True)


def roster_share(
    counts: MemberDays, start: dt.date, end: dt.date, campaign_posts: Mapping[dt.date, int]
) -> pd.DataFrame:
    """Per day of the range: campaign_posts (as the report counts them), roster_posts (campaign posts
    by any member) and share_pct."""
    import pandas as pd

    ours = Counter[dt.date]()
    for (_, day), (n, _) in counts.items():
        ours[day] += n
    rows = []
    for day in _days(start, end):
        total = campaign_posts.get(day, 0)
        rows.append(
            {
                "date": day,
                "campaign_posts": total,
                "roster_posts": ours[day],
                "share_pct": round(100 * ours[day] / total, 1) if total else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=["date", "campaign_posts", "roster_posts", "share_pct"])


def member_labels(members: Iterable[RosterMember]) -> list[str]:
    """Names for charts and the heatmap: the name, plus group or line when two members share it."""
    members = list(members)
    seen: dict[str, int] = {}
    for m in members:
        seen[m.name.casefold()] = seen.get(m.name.casefold(), 0) + 1
    labels = []
    for m in members:
        if seen[m.name.casefold()] == 1:
            labels.append(m.name)
        else:
            labels.append(f"{m.name} ({m.group or 'line ' + str(m.line)})")
    # Same name and same group: fall back to the line, which is unique.
    if len(set(labels)) < len(labels):
        labels = [
            label if labels.count(label) == 1 else f"{m.name} (line {m.line})"
            for label, m in zip(labels, members, strict=True)
        ]
    return labels


def _member_fields(member: RosterMember) -> dict[str, str]:
    return {
        "name": member.name,
        "group": member.group,
        "kecamatan": member.kecamatan,
        "kelurahan": member.kelurahan,
    }


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------------------
# Charts: matplotlib Figure() with Agg (no pyplot state), written to a temporary name and renamed.


def heatmap_job(
    counted: RosterCounts, start: dt.date, end: dt.date, out_dir: Path, ctx: ChartContext
) -> ChartJob:
    """roster_heatmap.png as a job for reports.drawing: from the counts alone, so the longest chart
    starts drawing before the rest of the section (which waits for the report's posts per day)."""
    campaign = ctx.scope.campaign
    start, end = max(start, campaign.start), min(end, campaign.end)
    grid = participation(counted.roster, counted.counts, start, end)
    return ChartJob(heatmap_chart, (grid, out_dir / "roster_heatmap.png", ctx))


def share_job(report: RosterReport, out_dir: Path, ctx: ChartContext) -> ChartJob:
    return ChartJob(share_chart, (report.share, out_dir / "roster_share.png", ctx))


def write_roster_charts(report: RosterReport, out_dir: Path, ctx: ChartContext) -> list[Path]:
    """roster_heatmap.png and roster_share.png in out_dir, in the report's chart style."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        heatmap_chart(report.participation, out_dir / "roster_heatmap.png", ctx),
        share_chart(report.share, out_dir / "roster_share.png", ctx),
    ]


ROW_IN = 0.3  # heatmap row height: room for names at the charts' text size; 94 members ~ 3,700 px
NAME_FONT = charts.TEXT_PT
NAME_CHARS = 20


def heatmap_chart(grid: pd.DataFrame, path: Path, ctx: ChartContext) -> Path:
    """Members (rows, most posts first) x days (columns) of `grid` (RosterReport.participation); the
    colour is the day's campaign posts."""
    with charts.chart_style():
        if grid.shape[0] == 0 or grid.shape[1] == 0:
            return charts.no_data_chart(ctx, ctx.labels["chart_roster_heatmap"], path)
        return charts.save_figure(heatmap_figure(grid, ctx), path)


def heatmap_figure(grid: pd.DataFrame, ctx: ChartContext) -> Figure:
    """The heatmap's figure (call inside charts.chart_style(), with at least one member and day).

    The title sits at the figure's left edge (the names push the plot right), and dates are on top
    as well as at the foot: with a long roster the foot is thousands of pixels down."""
    import matplotlib
    import numpy
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import MaxNLocator

    labels = ctx.labels
    members = grid.shape[0]
    height = max(3.8, ROW_IN * members + 3.2)
    fig = charts.new_figure(height=height)
    ax = fig.add_subplot()
    charts.figure_title(fig, labels["chart_roster_heatmap"])
    days_shown: list[Any] = list(grid.columns)  # dates
    first, last = days_shown[0].toordinal(), days_shown[-1].toordinal()
    values = grid.to_numpy()
    # A day without a post is white, so the first post already shows: 0 sits under the scale.
    greens = ListedColormap(matplotlib.colormaps["Greens"](numpy.linspace(0.3, 1.0, 256))).with_extremes(
        under="white"
    )
    image = ax.imshow(
        values,
        aspect="auto",
        cmap=greens,
        interpolation="nearest",
        vmin=0.5,
        vmax=max(1, int(values.max())),
        extent=(first - 0.5, last + 0.5, members - 0.5, -0.5),
    )
    ax.set_yticks(
        range(members), [charts.shorten(str(label), NAME_CHARS) for label in grid.index], fontsize=NAME_FONT
    )
    ax.grid(False)
    charts.day_axis(ax, ctx, marks=False, dates_on_top=True)
    # The scale stays about 3.5 inches long at the top, however tall the roster makes the chart.
    bar = fig.colorbar(image, ax=ax, shrink=min(0.9, 3.2 / height), anchor=(0.0, 1.0), pad=0.02)
    bar.set_label(labels["posts"])
    bar.locator = MaxNLocator(integer=True, nbins=4)
    bar.update_ticks()
    return fig


def share_chart(share: pd.DataFrame, path: Path, ctx: ChartContext) -> Path:
    """Campaign posts per day, split into roster members and other accounts, with the roster share
    (`share`: RosterReport.share)."""
    labels = ctx.labels
    title = labels["chart_roster_share"]
    with charts.chart_style():
        if share.empty or int(share["campaign_posts"].sum()) == 0:
            return charts.no_data_chart(ctx, title, path)
        fig = charts.new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        x = charts.day_x(list(share["date"]))
        ours = [int(v) for v in share["roster_posts"]]
        others = [int(v) for v in share["campaign_posts"] - share["roster_posts"]]
        charts.bars(ax, x, ours, color=ROSTER_COLOUR, label=labels["chart_roster_members"])
        charts.bars(ax, x, others, ours, color=OTHERS_COLOUR, label=labels["chart_roster_others"])
        ax.set_ylabel(labels["posts"])
        charts.thousands_axis(ax, ctx)
        right = ax.twinx()
        # No campaign post that day: no share to draw (a gap, not a drop to 0 %).
        pct = [
            v if n else float("nan") for v, n in zip(share["share_pct"], share["campaign_posts"], strict=True)
        ]
        right.plot(x, pct, color=SHARE_COLOUR, lw=2, marker="o", ms=3.5, label=labels["chart_roster_pct"])
        right.set_ylim(0, 105)
        right.grid(False)
        right.spines["right"].set_visible(True)
        right.set_ylabel("%")
        charts.day_axis(ax, ctx, max_ticks=3)
        charts.legend_below(fig, ctx, ax, right)
        return charts.save_figure(fig, path)
