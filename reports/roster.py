"""The roster section of the report: who posted, who has gone quiet, which kecamatan is behind.

Every number counts campaign posts (DESIGN 5) whose author is one of a member's accounts; the match
itself lives in `monitor.roster` (SQL against a temporary accounts table), so these functions only
aggregate. Heavy imports (pandas, matplotlib) stay inside the functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Date, Engine, Integer, column

from monitor.config import CampaignConfig, Config
from monitor.roster import (
    Roster,
    RosterFileError,
    RosterMember,
    bind_campaign,
    campaign_query,
    load_roster,
    matching,
)
from reports import charts
from reports.files import write_people_csv

if TYPE_CHECKING:
    import pandas as pd

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
    end: dt.date  # "today" of the not-yet-posted and quiet lists
    table: pd.DataFrame  # ROSTER_COLUMNS, one row per member, posts desc then name
    participation: pd.DataFrame  # members x days (index: member label, columns: dates), posts
    not_posted_today: pd.DataFrame  # MEMBER_COLUMNS + last_post_date
    quiet: pd.DataFrame  # MEMBER_COLUMNS + last_post_date, days_quiet
    kecamatan: pd.DataFrame  # kecamatan, members, members_active, active_pct, posts, interactions
    share: pd.DataFrame  # date, campaign_posts, roster_posts, share_pct
    quiet_days: int = QUIET_DAYS


def roster_report(
    engine: Engine,
    roster: Roster,
    campaign: CampaignConfig,
    start: dt.date,
    end: dt.date,
    quiet_days: int = QUIET_DAYS,
) -> RosterReport:
    """All roster tables for the report range [start, end] (cut to the campaign window)."""
    start, end = max(start, campaign.start), min(end, campaign.end)
    with matching(engine, roster) as conn:
        table = _member_stats(conn, roster, campaign, start, end)
        return RosterReport(
            start=start,
            end=end,
            table=table[ROSTER_COLUMNS].reset_index(drop=True),
            participation=participation(conn, roster, campaign, start, end),
            not_posted_today=not_posted_on(conn, roster, campaign, end),
            quiet=quiet_members(conn, roster, campaign, end, quiet_days),
            kecamatan=kecamatan_leaderboard(table),
            share=roster_share(conn, campaign, start, end),
            quiet_days=quiet_days,
        )


# ---------------------------------------------------------------------------------------------------------
# The report's use of it: section data, roster.csv, template context


def report_section(config: Config, engine: Engine, start: dt.date, end: dt.date) -> RosterReport | None:
    """The roster section of a report for [start, end], or None when there is no roster file (the
    roster is optional). A roster file that cannot be read at all is logged and left out; bad rows are
    logged (`campaign-monitor roster check` lists them) and the good rows are reported."""
    path = config.roster.path
    if not path.is_file():
        return None
    try:
        roster = load_roster(path)
    except RosterFileError as exc:
        log.warning("the roster is left out of the report: %s", exc)
        return None
    if roster.problems:
        log.warning(
            "roster %s has %d bad rows (first: %s); run `campaign-monitor roster check`",
            path,
            len(roster.problems),
            roster.problems[0],
        )
    return roster_report(engine, roster, config.campaign, start, end)


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
        "posted_today": len(table) - len(report.not_posted_today),
        "roster_posts": roster_posts,
        "campaign_posts": campaign_posts,
        "share_pct": round(100 * roster_posts / campaign_posts, 1) if campaign_posts else 0.0,
        "table": table.to_dict("records"),
        "not_posted_today": report.not_posted_today.to_dict("records"),
        "quiet": report.quiet.to_dict("records"),
        "kecamatan": report.kecamatan.to_dict("records"),
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
    return {"file": path.name, "width": int.from_bytes(head[16:20]), "height": int.from_bytes(head[20:24])}


# ---------------------------------------------------------------------------------------------------------
# Queries: `conn` comes from monitor.roster.matching(engine, roster)


def roster_table(
    conn: Connection, roster: Roster, campaign: CampaignConfig, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """`name,group,kecamatan,kelurahan,posts,interactions,active_days,last_post_date` for every member
    (zeros included) over the campaign posts of [start, end]; most posts first, then by name."""
    return _member_stats(conn, roster, campaign, start, end)[ROSTER_COLUMNS].reset_index(drop=True)


def _member_stats(
    conn: Connection, roster: Roster, campaign: CampaignConfig, start: dt.date, end: dt.date
) -> pd.DataFrame:
    import pandas as pd

    sql = campaign_query(
        """
        SELECT member, count(*) AS posts, sum(interactions) AS interactions,
               count(DISTINCT local_date) AS active_days, max(local_date) AS last_post_date
        FROM member_posts GROUP BY member
        """
    )
    stmt, params = bind_campaign(
        sql,
        campaign,
        start,
        end,
        column("member", Integer()),
        column("posts", Integer()),
        column("interactions", Integer()),
        column("active_days", Integer()),
        column("last_post_date", Date()),
    )
    found = {row.member: row for row in conn.execute(stmt, params)}
    rows = []
    for index, member in enumerate(roster.members):
        row = found.get(index)
        rows.append(
            {
                "member": index,
                **_member_fields(member),
                "posts": int(row.posts) if row else 0,
                "interactions": int(row.interactions or 0) if row else 0,
                "active_days": int(row.active_days) if row else 0,
                "last_post_date": row.last_post_date if row else None,
            }
        )
    frame = pd.DataFrame(rows, columns=["member", *ROSTER_COLUMNS])
    frame["_name"] = frame["name"].str.casefold()
    frame = frame.sort_values(["posts", "_name", "member"], ascending=[False, True, True], kind="stable")
    return frame.drop(columns="_name").reset_index(drop=True)


def participation(
    conn: Connection, roster: Roster, campaign: CampaignConfig, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Campaign posts per member per day: one row per member (most posts first, labelled by name,
    made unique when two members share one), one column per day of the range, zeros included."""
    import pandas as pd

    start, end = max(start, campaign.start), min(end, campaign.end)
    sql = campaign_query(
        "SELECT member, local_date AS day, count(*) AS posts FROM member_posts GROUP BY 1, 2"
    )
    stmt, params = bind_campaign(
        sql,
        campaign,
        start,
        end,
        column("member", Integer()),
        column("day", Date()),
        column("posts", Integer()),
    )
    counts = {(r.member, r.day): int(r.posts) for r in conn.execute(stmt, params)}
    days = list(_days(start, end))
    totals = {m: sum(n for (mm, _), n in counts.items() if mm == m) for m in range(len(roster.members))}
    order = sorted(
        range(len(roster.members)), key=lambda m: (-totals[m], roster.members[m].name.casefold(), m)
    )
    labels = member_labels(roster.members)
    return pd.DataFrame(
        [[counts.get((m, day), 0) for day in days] for m in order],
        index=pd.Index([labels[m] for m in order], name="member"),
        columns=days,
        dtype="int64",
    )


def not_posted_on(conn: Connection, roster: Roster, campaign: CampaignConfig, day: dt.date) -> pd.DataFrame:
    """Members without a campaign post on `day` (the report's "today"), with their last campaign post
    before it (empty: never); longest silence first."""
    last = _last_posts(conn, campaign, day)
    posted_today = {m for m, when in last.items() if when == day}
    rows = [
        {**_member_fields(member), "last_post_date": last.get(m)}
        for m, member in enumerate(roster.members)
        if m not in posted_today
    ]
    return _by_silence(rows, ["last_post_date"])


def quiet_members(
    conn: Connection, roster: Roster, campaign: CampaignConfig, day: dt.date, days: int = QUIET_DAYS
) -> pd.DataFrame:
    """Members who posted for the campaign before but not in the `days` days up to `day`
    (days_quiet = days since their last campaign post, >= `days`); longest silence first."""
    last = _last_posts(conn, campaign, day)
    rows = []
    for m, member in enumerate(roster.members):
        when = last.get(m)
        if when is not None and (day - when).days >= days:
            rows.append({**_member_fields(member), "last_post_date": when, "days_quiet": (day - when).days})
    return _by_silence(rows, ["last_post_date", "days_quiet"])


def _last_posts(conn: Connection, campaign: CampaignConfig, day: dt.date) -> dict[int, dt.date]:
    """Each member's last campaign post day from the campaign start up to `day`."""
    sql = campaign_query("SELECT member, max(local_date) AS day FROM member_posts GROUP BY member")
    stmt, params = bind_campaign(
        sql, campaign, campaign.start, day, column("member", Integer()), column("day", Date())
    )
    return {r.member: r.day for r in conn.execute(stmt, params)}


def _by_silence(rows: list[dict[str, Any]], extra: list[str]) -> pd.DataFrame:
    import pandas as pd

    # Never posted first, then the oldest last post; ties by name.
    rows.sort(key=lambda r: (r["last_post_date"] or dt.date.min, r["name"].casefold()))
    return pd.DataFrame(rows, columns=[*MEMBER_COLUMNS, *extra])


def kecamatan_leaderboard(member_stats: pd.DataFrame) -> pd.DataFrame:
    """Per kecamatan: members, members_active (>= 1 campaign post in the range), active_pct, posts,
    interactions; the most active share of members first, so the kecamatan behind is at the bottom."""
    import pandas as pd

    frame = member_stats.assign(
        kecamatan=member_stats["kecamatan"].replace("", NO_KECAMATAN),
        active=(member_stats["posts"] > 0).astype(int),
    )
    board = (
        frame.groupby("kecamatan", sort=False)
        .agg(
            members=("name", "size"),
            members_active=("active", "sum"),
            posts=("posts", "sum"),
            interactions=("interactions", "sum"),
        )
        .reset_index()
    )
    if board.empty:
        return pd.DataFrame(
            columns=["kecamatan", "members", "members_active", "active_pct", "posts", "interactions"]
        )
    board["active_pct"] = (100 * board["members_active"] / board["members"]).round(1)
    board = board.sort_values(
        ["active_pct", "posts", "kecamatan"], ascending=[False, False, True], kind="stable"
    )
    columns = ["kecamatan", "members", "members_active", "active_pct", "posts", "interactions"]
    return board[columns].reset_index(drop=True)


def roster_share(conn: Connection, campaign: CampaignConfig, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per day of the range: campaign_posts, roster_posts (campaign posts by any member) and share_pct."""
    import pandas as pd

    start, end = max(start, campaign.start), min(end, campaign.end)
    sql = campaign_query(
        """
        SELECT local_date AS day, count(*) AS posts, 'all' AS kind FROM campaign_posts GROUP BY 1
        UNION ALL
        SELECT local_date, count(DISTINCT post_id), 'roster' FROM member_posts GROUP BY 1
        """
    )
    stmt, params = bind_campaign(
        sql, campaign, start, end, column("day", Date()), column("posts", Integer()), column("kind")
    )
    counts = {(r.kind, r.day): int(r.posts) for r in conn.execute(stmt, params)}
    rows = []
    for day in _days(start, end):
        total, ours = counts.get(("all", day), 0), counts.get(("roster", day), 0)
        rows.append(
            {
                "date": day,
                "campaign_posts": total,
                "roster_posts": ours,
                "share_pct": round(100 * ours / total, 1) if total else 0.0,
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


def write_roster_charts(report: RosterReport, out_dir: Path, ctx: ChartContext) -> list[Path]:
    """roster_heatmap.png and roster_share.png in out_dir, in the report's chart style."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        heatmap_chart(report, out_dir / "roster_heatmap.png", ctx),
        share_chart(report, out_dir / "roster_share.png", ctx),
    ]


def heatmap_chart(report: RosterReport, path: Path, ctx: ChartContext) -> Path:
    """Members (rows, most posts first) x days (columns); the colour is the day's campaign posts."""
    import matplotlib
    import numpy
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import MaxNLocator

    labels = ctx.labels
    title = labels["chart_roster_heatmap"]
    grid = report.participation
    members, days = grid.shape
    with charts.chart_style():
        if members == 0 or days == 0:
            return charts.no_data_chart(ctx, title, path)
        fig = charts.new_figure(height=max(3.5, 0.34 * members + 2.4))
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
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
        ax.set_yticks(range(members), [charts.shorten(str(label), 24) for label in grid.index], fontsize=11)
        ax.grid(False)
        charts.day_axis(ax, ctx, marks=False)
        bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
        bar.set_label(labels["posts"])
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        return charts.save_figure(fig, path)


def share_chart(report: RosterReport, path: Path, ctx: ChartContext) -> Path:
    """Campaign posts per day, split into roster members and other accounts, with the roster share."""
    labels = ctx.labels
    title = labels["chart_roster_share"]
    share = report.share
    with charts.chart_style():
        if share.empty or int(share["campaign_posts"].sum()) == 0:
            return charts.no_data_chart(ctx, title, path)
        fig = charts.new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        x = charts.day_x(list(share["date"]))
        ours = [int(v) for v in share["roster_posts"]]
        others = [int(v) for v in share["campaign_posts"] - share["roster_posts"]]
        ax.bar(x, ours, width=0.8, color=ROSTER_COLOUR, label=labels["chart_roster_members"])
        ax.bar(x, others, bottom=ours, width=0.8, color=OTHERS_COLOUR, label=labels["chart_roster_others"])
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
        charts.day_axis(ax, ctx)
        charts.legend_below(fig, ctx, ax, right)
        return charts.save_figure(fig, path)
