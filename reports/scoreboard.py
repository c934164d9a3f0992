"""The scoreboard sections of the report: votes and suggestions (the ledger), share of voice against
the peer cities, and whether the vote reminder works. `build_sections` is the one hook the report
build calls: it writes these sections' CSV files and charts and returns their HTML (rendered from
templates/scoreboard.html with the report's filters), so the rest of the report stays as it is.

`digest_lines` gives the morning digest its lines: yesterday's votes, and the reminder verdict once
enough days exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar
from monitor.config import Config
from monitor.votes import VoteDay, readings, vote_days, yesterday_line
from reports import reminder_effect, share_of_voice
from reports.files import write_people_csv
from reports.queries import ALL, ReportScope

if TYPE_CHECKING:
    import pandas as pd

    from reports.charts import ChartContext

VOTES_CSV = "votes.csv"
VOTES_COLUMNS = [
    "date",
    "campaign_day",
    "votes",
    "total",
    "suggestions",
    "suggestions_total",
    "rank",
    "readings",
    "interpolated",
]
SOV_CSV = "share_of_voice.csv"
REMINDER_CSV = "reminder_effect.csv"
REMINDER_COLUMNS = ["date", "sent_at", "posts_after", "baseline", "effect", "comparable_days"]

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "votes": "Vote dan usulan",
        "votes_note": (
            "Dari pembacaan di situs kampanye (`campaign-monitor votes add`). Vote per hari = "
            "pembacaan terakhir hari itu dikurangi pembacaan terakhir hari sebelumnya; hari "
            "tanpa pembacaan diperkirakan (interpolasi) dan ditandai *."
        ),
        "votes_none": "Belum ada pembacaan vote. Catat dengan `campaign-monitor votes add --votes N`.",
        "votes_total": "Total vote",
        "votes_last_day": "Vote hari terakhir",
        "suggestions_total": "Total usulan",
        "rank": "Peringkat",
        "votes_per_day": "Vote per hari",
        "suggestions_per_day": "Usulan per hari",
        "readings": "Pembacaan",
        "interpolated": "perkiraan",
        "chart_votes": "Vote, postingan dan interaksi per hari",
        "sov": "Perbandingan dengan kota lain",
        "sov_note": (
            "Postingan dengan tagar masing-masing kota. Pangsa = bagian kota dari jumlah semua kota."
        ),
        "city": "Kota",
        "share_posts": "Pangsa postingan",
        "share_interactions": "Pangsa interaksi",
        "completeness": "Kelengkapan data",
        "sov_no_posts": "belum ada postingan",
        "sov_one_source": "hanya dari satu sumber ({source})",
        "sov_sources": "{n} sumber",
        "sov_missing_platforms": "tidak ada data {platforms}",
        "chart_sov": "Pangsa postingan per hari",
        "share_pct": "Pangsa (%)",
        "effect": "Apakah pengingat vote berhasil?",
        "effect_note": (
            "Postingan kampanye dalam {hours} jam setelah setiap pengingat yang terkirim, "
            "dibandingkan jam yang sama pada hari-hari pembanding. Metode: docs/report.md."
        ),
        "sent_at": "Terkirim",
        "posts_after": "Postingan setelahnya",
        "baseline": "Biasanya",
        "difference": "Selisih",
        "comparable_days": "Hari pembanding",
        "chart_effect": "Postingan di sekitar waktu pengingat",
        "hours_from": "Jam dari pengingat",
        "per_quarter": "Postingan per 15 menit",
        "reminder_days": "Hari pengingat",
        "comparable": "Hari pembanding, jam yang sama",
    },
    "en": {
        "votes": "Votes and suggestions",
        "votes_note": (
            "From the readings of the campaign website (`campaign-monitor votes add`). Votes "
            "per day = the day's last reading minus the day before's; a day without a reading "
            "is estimated (interpolated) and marked *."
        ),
        "votes_none": "No vote readings yet. Record one with `campaign-monitor votes add --votes N`.",
        "votes_total": "Votes in total",
        "votes_last_day": "Votes on the last day",
        "suggestions_total": "Suggestions in total",
        "rank": "Rank",
        "votes_per_day": "Votes per day",
        "suggestions_per_day": "Suggestions per day",
        "readings": "Readings",
        "interpolated": "estimated",
        "chart_votes": "Votes, posts and interactions per day",
        "sov": "Share of voice against the peer cities",
        "sov_note": (
            "Posts with each city's own hashtags. Share = the city's part of all the cities' total."
        ),
        "city": "City",
        "share_posts": "Share of posts",
        "share_interactions": "Share of interactions",
        "completeness": "How complete",
        "sov_no_posts": "no posts yet",
        "sov_one_source": "seen through one source only ({source})",
        "sov_sources": "{n} sources",
        "sov_missing_platforms": "no {platforms} data",
        "chart_sov": "Share of posts per day",
        "share_pct": "Share (%)",
        "effect": "Does the vote reminder work?",
        "effect_note": (
            "Campaign posts in the {hours} hours after each reminder that was sent, against "
            "the same hours on comparable days. Method: docs/report.md."
        ),
        "sent_at": "Sent",
        "posts_after": "Posts after",
        "baseline": "Usually",
        "difference": "Difference",
        "comparable_days": "Comparable days",
        "chart_effect": "Posts around the reminder time",
        "hours_from": "Hours from the reminder",
        "per_quarter": "Posts per 15 minutes",
        "reminder_days": "Reminder days",
        "comparable": "Comparable days, same hours",
    },
}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


@dataclass
class Sections:
    """What build_sections wrote: the HTML to place on the page, the CSV files and the charts."""

    html: str = ""
    csv_files: list[Path] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# The hook


def build_sections(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    scope: ReportScope,
    daily: pd.DataFrame,
    out_dir: Path,
    ctx: ChartContext,
    quarters: Mapping[int, int] | None = None,
) -> Sections:
    """Compute, write and render the three scoreboard sections for the report's range.
    `quarters`: the report's queries.posts_by_quarter (queried here when not given)."""
    from markupsafe import Markup

    from reports.html import environment
    from reports.labels import labels_for as report_labels

    language = config.campaign.language
    S = labels_for(language)
    out = Sections()
    ledger = readings(engine, include_corrected=False)
    days = vote_days(ledger, calendar, scope.start, scope.end)
    out.csv_files.append(write_votes_csv(days, scope, out_dir / VOTES_CSV))
    votes_ctx: dict[str, Any] | None = None
    if ledger:
        out.charts.append(votes_chart(ctx, days, daily, out_dir / "votes_per_day.png", S))
        known = [d for d in days if d.total is not None]
        last = days[-1]
        votes_ctx = {
            "days": days,
            "total": known[-1].total if known else None,
            "last_day": last,
            "suggestions_total": next(
                (d.suggestions_total for d in reversed(days) if d.suggestions_total is not None), None
            ),
            "rank": next((d.rank for d in reversed(days) if d.rank is not None), None),
            "chart": _chart_entry(out.charts[-1]),
        }
    sov = share_of_voice.share_of_voice(engine, config, scope)
    sov_ctx: dict[str, Any] | None = None
    if sov is not None:
        out.csv_files.append(write_sov_csv(sov, out_dir / SOV_CSV))
        path = share_of_voice.chart(ctx, sov, out_dir / "share_of_voice.png", S["chart_sov"], S["share_pct"])
        out.charts.append(path)
        sov_ctx = {
            "cities": [
                {**c.__dict__, "completeness": share_of_voice.completeness_label(c, S)} for c in sov.cities
            ],
            "chart": _chart_entry(path),
        }
    effect = reminder_effect.analyse_report(engine, scope, calendar, quarters=quarters)
    out.csv_files.append(write_effect_csv(effect, calendar, out_dir / REMINDER_CSV))
    effect_path = effect_chart(ctx, effect, out_dir / "reminder_effect.png", S)
    out.charts.append(effect_path)
    compared = reminder_effect.compare_votes(days, reminder_effect.sent_reminders(engine, scope))
    votes_line = reminder_effect.votes_text(compared, language) if ledger else ""
    effect_ctx = reminder_effect.template_context(effect, calendar, language) | {
        "votes_text": votes_line,
        "chart": _chart_entry(effect_path),
    }
    template = environment(language).get_template("scoreboard.html")
    out.html = Markup(
        template.render(
            S=S, L=report_labels(language), votes=votes_ctx, sov=sov_ctx, effect=effect_ctx, language=language
        )
    )
    return out


def digest_lines(config: Config, engine: Engine, calendar: CampaignCalendar, day: dt.date) -> list[str]:
    """The morning digest's scoreboard lines for the digest of `day`: the votes of the day before
    (when the ledger can say), and the reminder verdict over the campaign so far once it has enough
    days (never "not enough data": the digest stays short)."""
    language = config.campaign.language
    lines: list[str] = []
    yesterday = day - dt.timedelta(days=1)
    votes = yesterday_line(engine, calendar, yesterday, language)
    if votes:
        lines.append(votes)
    start = config.campaign.start
    if yesterday >= start:
        scope = ReportScope(config.campaign, start, min(yesterday, config.campaign.end))
        effect = reminder_effect.analyse_report(engine, scope, calendar)
        if effect.enough:
            lines.append(reminder_effect.verdict_text(effect, language))
    return lines


# ---------------------------------------------------------------------------------------------------------
# Files


def write_votes_csv(days: list[VoteDay], scope: ReportScope, path: Path) -> Path:
    rows = [
        [
            d.date.isoformat(),
            scope.campaign_day(d.date),
            _whole(d.votes),
            _whole(d.total),
            _whole(d.suggestions),
            _whole(d.suggestions_total),
            "" if d.rank is None else d.rank,
            d.readings,
            "yes" if d.interpolated else "",
        ]
        for d in days
    ]
    return write_people_csv(path, VOTES_COLUMNS, rows)


def write_sov_csv(sov: share_of_voice.ShareOfVoice, path: Path) -> Path:
    rows = [[r[0].isoformat(), *r[1:]] for r in sov.daily.itertuples(False)]
    return write_people_csv(path, share_of_voice.COLUMNS, rows)


def write_effect_csv(effect: reminder_effect.ReminderEffect, calendar: CampaignCalendar, path: Path) -> Path:
    rows = [
        [
            d.date.isoformat(),
            d.sent_at.astimezone(calendar.tz).isoformat(timespec="minutes"),
            d.posts,
            "" if d.baseline is None else round(d.baseline, 2),
            "" if d.effect is None else round(d.effect, 2),
            d.comparable_days,
        ]
        for d in effect.days
    ]
    return write_people_csv(path, REMINDER_COLUMNS, rows)


def _whole(value: float | None) -> Any:
    return "" if value is None else round(value)


def _chart_entry(path: Path) -> dict[str, Any]:
    import struct

    from reports.charts import min_text_px

    with path.open("rb") as handle:
        width, height = struct.unpack(">II", handle.read(24)[16:24])
    return {"file": path.name, "width": width, "height": height, "text_px": min_text_px(path) or 0.0}


# ---------------------------------------------------------------------------------------------------------
# Charts


def votes_chart(
    ctx: ChartContext, days: list[VoteDay], daily: pd.DataFrame, path: Path, S: dict[str, str]
) -> Path:
    """Votes per day (estimated days hatched, the running total as a line), posts per day and
    interactions per day, in three panels over the same days."""
    from reports import charts

    with charts.chart_style():
        fig = charts.new_figure(height=8.5)
        top, middle, bottom = fig.subplots(3, 1, sharex=True)
        top.set_title(S["chart_votes"], loc="left")
        x_days = [d.date for d in days]
        known = [(d.date.toordinal(), d.votes or 0.0, d.interpolated) for d in days if d.votes is not None]
        if known:
            charts.bars(
                top, [k[0] for k in known if not k[2]], [k[1] for k in known if not k[2]],
                color="#D55E00", label=S["votes_per_day"],
            )  # fmt: skip
            estimated = [k for k in known if k[2]]
            if estimated:
                charts.bars(
                    top, [k[0] for k in estimated], [k[1] for k in estimated], color="white",
                    edgecolor="#D55E00", linewidth=1.0, hatch="//",
                    label=f"{S['votes_per_day']} ({S['interpolated']})",
                )  # fmt: skip
        top.set_ylabel(S["votes_per_day"])
        charts.thousands_axis(top, ctx)
        totals = [(d.date.toordinal(), d.total) for d in days if d.total is not None]
        if totals:
            right = top.twinx()
            right.plot(
                [t[0] for t in totals],
                [t[1] for t in totals],
                color=charts.LINE_COLOUR,
                lw=2,
                label=S["votes_total"],
            )
            right.grid(False)
            right.spines["right"].set_visible(True)
            right.set_ylim(bottom=0)
            charts.thousands_axis(right, ctx)
        every = daily[daily.platform == ALL].set_index("date").reindex(x_days).fillna(0)
        x = charts.day_x(x_days)
        charts.bars(middle, x, [int(v) for v in every["posts"]], color="#0072B2", label=ctx.labels["posts"])
        middle.set_ylabel(ctx.labels["posts"])
        charts.thousands_axis(middle, ctx)
        charts.bars(
            bottom,
            x,
            [int(v) for v in every["interactions"]],
            color="#009E73",
            label=ctx.labels["interactions"],
        )
        bottom.set_ylabel(ctx.labels["interactions"])
        charts.thousands_axis(bottom, ctx)
        charts.day_axis(top, ctx)
        for ax in (top, middle):
            ax.tick_params(labelbottom=False)
        axes = [top, middle, bottom] + ([right] if totals else [])
        charts.legend_below(fig, ctx, *axes)
        return charts.save_figure(fig, path)


def effect_chart(
    ctx: ChartContext, effect: reminder_effect.ReminderEffect, path: Path, S: dict[str, str]
) -> Path:
    """Mean posts per quarter-hour around the reminder (hour 0) on reminder days, and in the same
    clock hours on comparable days; the analysed window shaded."""
    from reports import charts

    title = S["chart_effect"]
    with charts.chart_style():
        if "reminder" not in effect.profile:
            return charts.no_data_chart(ctx, title, path)
        fig = charts.new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        ax.axvspan(0, effect.window_hours, color=charts.WINDOW_SHADE, zorder=0)
        on = effect.profile["reminder"]
        ax.plot([h for h, _ in on], [v for _, v in on], color="#D55E00", lw=2.2, label=S["reminder_days"])
        off = effect.profile.get("comparable")
        if off:
            ax.plot(
                [h for h, _ in off],
                [v for _, v in off],
                color="#0072B2",
                lw=2.2,
                ls="--",
                label=S["comparable"],
            )
        ax.axvline(0, color=charts.REMINDER_COLOUR, lw=1.5)
        ax.set_xlabel(S["hours_from"])
        ax.set_ylabel(S["per_quarter"])
        ax.set_ylim(bottom=0)
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
        return charts.save_figure(fig, path)
