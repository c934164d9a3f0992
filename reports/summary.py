"""The report's headline, shared by the page, the workbook's summary sheet and the PDF: the title
(what the report covers), the period, the filter, the notes, and each headline number with its
change against the period before (reports.compare). One place, so the three never disagree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reports.compare import Comparison, Kind
from reports.filters import ReportFilter
from reports.labels import format_day, format_number

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class HeadlineFigure:
    """One headline number. `value` is the whole range's; `current` the compared period's (the same
    as value, or the last 7 days for the campaign so far); None = unknown (no source gave views)."""

    key: str
    label: str
    value: int | None
    current: int | None
    previous: int | None
    change: int | None
    change_pct: float | None
    note: str = ""  # e.g. how many posts the views cover


@dataclass(frozen=True)
class Headline:
    kind: Kind
    title: str
    start: dt.date
    end: dt.date
    period: str  # 'Sen 19 Sep 2022 – Sen 31 Okt 2022 (H1–H43 dari 43)'
    filter_text: str  # '' without a filter
    comparison_text: str  # 'dibanding minggu sebelumnya (12 Sep – 18 Sep)' / '7 hari terakhir ...'
    basis: str  # "previous" or "last7"
    current_period: tuple[dt.date, dt.date]
    previous_period: tuple[dt.date, dt.date]
    figures: list[HeadlineFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # range cut to the window / at today, for the reader

    def figure(self, key: str) -> HeadlineFigure:
        return next(f for f in self.figures if f.key == key)


def build_headline(
    labels: dict[str, str],
    language: str,
    kind: Kind,
    start: dt.date,
    end: dt.date,
    campaign_start: dt.date,
    total_days: int,
    totals: dict[str, int],
    comparison: Comparison,
    report_filter: ReportFilter,
    notes: list[str],
) -> Headline:
    def day_no(day: dt.date) -> int:
        return (day - campaign_start).days + 1

    short = labels["day_short"]
    period = (
        f"{format_day(start, language)} – {format_day(end, language)} "
        f"({short}{day_no(start)}–{short}{day_no(end)} {labels['of']} {total_days})"
    )
    prev = (comparison.previous_start, comparison.previous_end)
    span = f"{format_day(prev[0], language, year=False)} – {format_day(prev[1], language, year=False)}"
    if comparison.basis == "last7":
        text = f"{labels['last7']} {labels['vs_7_before']} ({span})"
    elif kind == "day":
        text = f"{labels['vs_previous_day']} ({format_day(prev[0], language, year=False)})"
    elif kind == "week":
        text = f"{labels['vs_previous_week']} ({span})"
    else:
        days = (prev[1] - prev[0]).days + 1
        text = labels["vs_previous_days"].replace("{days}", str(days)) + f" ({span})"
    if comparison.previous is None:
        text += f": {labels['no_previous']}"
    figures = []
    for key, label in (
        ("posts", labels["posts"]),
        ("interactions", labels["interactions"]),
        ("authors", labels["accounts"]),
        ("views", labels["views"]),
    ):
        value: int | None = totals[key]
        current: int | None = comparison.current[key]
        previous = None if comparison.previous is None else comparison.previous[key]
        change, pct = comparison.change(key), comparison.change_pct(key)
        note = ""
        if key == "views":
            # A period without any post whose source reports views has unknown views, not 0.
            if comparison.previous is not None and not comparison.previous["views_posts"]:
                previous = change = pct = None
            if not comparison.current["views_posts"]:
                current = change = pct = None
            covered = totals["views_posts"]
            if covered:
                note = (
                    labels["views_coverage"]
                    .replace("{n}", format_number(covered, language))
                    .replace("{m}", format_number(totals["posts"], language))
                )
            else:
                value = current = previous = change = None
                pct = None
                note = labels["views_none"]
        figures.append(HeadlineFigure(key, label, value, current, previous, change, pct, note))
    return Headline(
        kind=kind,
        title=labels[f"title_{kind}"],
        start=start,
        end=end,
        period=period,
        filter_text=report_filter.describe(labels),
        comparison_text=text,
        basis=comparison.basis,
        current_period=(comparison.current_start, comparison.current_end),
        previous_period=prev,
        figures=figures,
        notes=notes,
    )


def reminder_runs(reminders: pd.DataFrame, tz: dt.tzinfo) -> list[dict[str, Any]]:
    """The reminder log folded into runs: consecutive days of one channel with the same status and
    the same sending time (HH:MM) are one row (first day, last day, days), so 43 identical 'sent at
    07:00' rows read as one. Ordered by first day, then channel."""
    runs: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for r in reminders.sort_values(["date", "channel"]).to_dict("records"):
        sent = r["sent_at"]
        time = ""
        if sent is not None and sent == sent:  # NaT/NaN compare unequal to themselves
            instant = sent if sent.tzinfo else sent.replace(tzinfo=dt.UTC)
            time = instant.astimezone(tz).strftime("%H:%M")
        last = open_runs.get(r["channel"])
        if (
            last is not None
            and last["status"] == r["status"]
            and last["time"] == time
            and (r["date"] - last["last"]).days == 1
        ):
            last["last"], last["last_day"] = r["date"], r["campaign_day"]
            last["days"] += 1
            continue
        run = {
            "first": r["date"],
            "last": r["date"],
            "first_day": r["campaign_day"],
            "last_day": r["campaign_day"],
            "days": 1,
            "channel": r["channel"],
            "status": r["status"],
            "time": time,
        }
        runs.append(run)
        open_runs[r["channel"]] = run
    return runs
