"""Does the vote reminder work? Campaign posts in the hours after each reminder that was actually sent,
against the same hours of the day on comparable days (the method is in docs/report.md).

For each day with a sent reminder (its earliest `sent_at` over the channels), the *window* is the
WINDOW_HOURS after it, in quarter-hours (the quarter that holds sent_at and the ones after it).
A *comparable day* is another complete day of the range whose same local clock window is free of its
own reminder's effect: it had no reminder sent, or its reminder was sent WINDOW_HOURS or more away
from that window's start. The day's *baseline* is the mean of the comparable days' posts in that
window; its *effect* is posts minus baseline. The estimate is the mean effect over the reminder days
that have at least MIN_COMPARABLE comparable days; the interval is a percentile bootstrap that
resamples whole days and recomputes the baselines too (seeded: the same data give the same
interval). With fewer than MIN_DAYS such days the verdict is "not enough data", whatever the numbers say.

A reminder sent at the same time every day leaves no comparable day except the days it failed or was
missed; `[reminders] at` with several times (one drawn each day) makes every day comparable to the
days whose reminder went out at another time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from monitor.models import VoteReminder
from reports.queries import QUARTER, ReportScope, _rows, posts_by_quarter

if TYPE_CHECKING:
    from monitor.campaign import CampaignCalendar

WINDOW_HOURS = 3
MIN_DAYS = 7  # reminder days with a baseline before a verdict is given
MIN_COMPARABLE = 2  # comparable days a reminder day needs for its baseline
BOOTSTRAP = 4000
CONFIDENCE = 0.95
PROFILE_HOURS = 6  # the chart shows this many hours either side of the reminder

NOT_ENOUGH, MORE, LESS, UNCLEAR = "not_enough_data", "more_posts", "fewer_posts", "no_clear_effect"


@dataclass(frozen=True)
class ReminderDay:
    date: dt.date
    sent_at: dt.datetime  # UTC, the first channel that sent it
    posts: int  # campaign posts in the window after it
    baseline: float | None  # mean posts in the same clock window on the comparable days
    comparable_days: int

    @property
    def effect(self) -> float | None:
        return None if self.baseline is None else self.posts - self.baseline


@dataclass(frozen=True)
class ReminderEffect:
    """The analysis result; `verdict` is one of NOT_ENOUGH, MORE, LESS, UNCLEAR."""

    window_hours: int
    days: list[ReminderDay]
    estimate: float | None  # extra posts in the window after a reminder (mean over the used days)
    low: float | None
    high: float | None
    verdict: str
    used_days: int
    baseline_mean: float | None  # mean baseline over the used days (to read the estimate against)
    reason: str = ""  # why there is no verdict, in plain words
    # Hours from the reminder -> mean posts per quarter-hour, on reminder days and comparable days.
    profile: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def enough(self) -> bool:
        return self.verdict != NOT_ENOUGH


# ---------------------------------------------------------------------------------------------------------
# Data from the database


def sent_reminders(engine: Engine, scope: ReportScope) -> dict[dt.date, dt.datetime]:
    """local date -> the earliest sent_at of the day's reminder (over channels), for the range."""
    rows = _rows(
        engine,
        select(VoteReminder.local_date, func.min(VoteReminder.sent_at))
        .where(
            VoteReminder.status == "sent",
            VoteReminder.sent_at.is_not(None),
            VoteReminder.local_date >= scope.start,
            VoteReminder.local_date <= scope.end,
        )
        .group_by(VoteReminder.local_date),
    )
    out: dict[dt.date, dt.datetime] = {}
    for day, sent in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
        if isinstance(sent, str):  # min() over the column comes back as text on SQLite
            sent = dt.datetime.fromisoformat(sent)
        out[day] = sent.replace(tzinfo=dt.UTC) if sent.tzinfo is None else sent.astimezone(dt.UTC)
    return out


def analyse_report(
    engine: Engine,
    scope: ReportScope,
    calendar: CampaignCalendar,
    window_hours: int = WINDOW_HOURS,
    quarters: Mapping[int, int] | None = None,
) -> ReminderEffect:
    """The analysis over the report's range, from the database (`quarters`: the report's
    queries.posts_by_quarter, when it has them already)."""
    return analyse(
        posts_by_quarter(engine, scope) if quarters is None else quarters,
        sent_reminders(engine, scope),
        [day for day in scope.days() if scope.campaign.start <= day <= scope.campaign.end],
        calendar,
        window_hours,
    )


# ---------------------------------------------------------------------------------------------------------
# The analysis (pure: counts in, estimate out)


def analyse(
    quarters: Mapping[int, int],
    sent: Mapping[dt.date, dt.datetime],
    days: Sequence[dt.date],
    calendar: CampaignCalendar,
    window_hours: int = WINDOW_HOURS,
) -> ReminderEffect:
    """Compare the posts after each reminder with the same hours on comparable days (module docstring).

    `quarters`: UTC quarter-hour -> campaign posts; `sent`: day -> first sent_at; `days`: the days to
    use (only those whose window has ended by calendar.now() count)."""
    width = window_hours * 3600 // QUARTER
    now_q = int(calendar.now().timestamp()) // QUARTER
    tz = calendar.tz

    def window_start(day: dt.date, clock: dt.time) -> int:
        return int(dt.datetime.combine(day, clock, tz).timestamp()) // QUARTER

    def count(start: int) -> int:
        return sum(quarters.get(q, 0) for q in range(start, start + width))

    complete = [
        day
        for day in days
        if int(calendar.local_midnight(day + dt.timedelta(days=1)).timestamp()) // QUARTER <= now_q
    ]
    reminder_days: list[ReminderDay] = []
    profile_on: list[list[int]] = []
    profile_off: list[list[int]] = []
    span = PROFILE_HOURS * 3600 // QUARTER
    # For the bootstrap: per reminder day, its own posts, and each complete day's posts in its clock
    # window with whether that day is comparable.
    grid: list[tuple[int, int, list[int], list[bool]]] = []  # (day index, posts, window posts, comparable)
    for index, day in enumerate(complete):
        if day not in sent:
            continue
        s = sent[day]
        start = int(s.timestamp()) // QUARTER
        clock = dt.datetime.fromtimestamp(start * QUARTER, dt.UTC).astimezone(tz).time()
        comparable: list[int] = []
        row_posts: list[int] = []
        row_ok: list[bool] = []
        for other in complete:
            other_start = window_start(other, clock)
            row_posts.append(count(other_start))
            row_ok.append(False)
            if other == day:
                continue
            other_sent = sent.get(other)
            if other_sent is not None:
                other_sent_q = int(other_sent.timestamp()) // QUARTER
                if abs(other_sent_q - other_start) < width:  # its own reminder's hours overlap
                    continue
            row_ok[-1] = True
            comparable.append(other_start)
        grid.append((index, count(start), row_posts, row_ok))
        baseline = (
            sum(count(q) for q in comparable) / len(comparable) if len(comparable) >= MIN_COMPARABLE else None
        )
        reminder_days.append(ReminderDay(day, s, count(start), baseline, len(comparable)))
        profile_on.append([quarters.get(start + k, 0) for k in range(-span, span)])
        for q in comparable:
            profile_off.append([quarters.get(q + k, 0) for k in range(-span, span)])
    profile = {}
    if profile_on:
        hours = [k * QUARTER / 3600 for k in range(-span, span)]
        profile["reminder"] = list(zip(hours, _column_means(profile_on), strict=True))
        if profile_off:
            profile["comparable"] = list(zip(hours, _column_means(profile_off), strict=True))
    used = [d for d in reminder_days if d.effect is not None]
    effects = [d.effect for d in used if d.effect is not None]
    if not reminder_days:
        reason = "no reminder was sent on a finished day of this range"
    elif not used:
        reason = (
            "no day is comparable: the reminder went out at the same time every day, so nothing shows "
            "what those hours look like without it (list several times in [reminders] at)"
        )
    else:
        reason = f"{len(used)} reminder day(s) have comparable days; at least {MIN_DAYS} are needed"
    if len(used) < MIN_DAYS:
        return ReminderEffect(
            window_hours,
            reminder_days,
            _mean(effects),
            None,
            None,
            NOT_ENOUGH,
            len(used),
            _mean([d.baseline for d in used if d.baseline is not None]),
            reason,
            profile,
        )
    estimate = _mean(effects)
    low, high = bootstrap_days(grid, len(complete))
    if low > 0:
        verdict = MORE
    elif high < 0:
        verdict = LESS
    else:
        verdict = UNCLEAR
    return ReminderEffect(
        window_hours,
        reminder_days,
        estimate,
        low,
        high,
        verdict,
        len(used),
        _mean([d.baseline for d in used if d.baseline is not None]),
        "",
        profile,
    )


def bootstrap_days(
    grid: Sequence[tuple[int, int, list[int], list[bool]]],
    n_days: int,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap interval of the estimate, resampling whole days: each replicate draws
    the days with replacement and recomputes every baseline from the drawn comparable days, so the
    interval carries the baselines' uncertainty as well as the reminder days' own."""
    import numpy as np

    rows = np.array([index for index, _, _, _ in grid])
    posts = np.array([p for _, p, _, _ in grid], dtype=float)
    window = np.array([w for _, _, w, _ in grid], dtype=float)  # reminder day x day
    ok = np.array([m for _, _, _, m in grid], dtype=float)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_days, [1 / n_days] * n_days, size=BOOTSTRAP).astype(float)  # B x days
    comparable = weights @ ok.T  # B x reminder days: drawn comparable days
    baseline_sum = weights @ (ok * window).T
    usable = comparable >= MIN_COMPARABLE
    baseline = np.divide(baseline_sum, comparable, out=np.zeros_like(baseline_sum), where=usable)
    own = weights[:, rows] * usable  # each reminder day counts as often as it was drawn
    totals = own.sum(axis=1)
    estimates = np.divide(
        (own * (posts - baseline)).sum(axis=1), totals, out=np.full(len(totals), np.nan), where=totals > 0
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _column_means(rows: list[list[int]]) -> list[float]:
    return [sum(col) / len(rows) for col in zip(*rows, strict=True)]


# ---------------------------------------------------------------------------------------------------------
# Words


def verdict_text(effect: ReminderEffect, language: str) -> str:
    """The plain-language verdict for the report and the digest."""
    h = effect.window_hours
    if effect.verdict == NOT_ENOUGH:
        if language == "id":
            return (
                f"Belum cukup data untuk menyimpulkan: {effect.used_days} hari pengingat dapat dibandingkan, "
                f"minimal {MIN_DAYS} hari diperlukan."
            )
        return f"Not enough data to say yet: {effect.reason}."
    est, low, high = effect.estimate or 0.0, effect.low or 0.0, effect.high or 0.0
    base = effect.baseline_mean or 0.0
    nums = _fmt(est, language), _fmt(low, language), _fmt(high, language), _fmt(base, language)
    if language == "id":
        interval = (
            f"(interval 95%: {nums[1]} sampai {nums[2]}, dari {effect.used_days} hari; "
            f"biasanya {nums[3]} postingan pada jam itu)"
        )
        if effect.verdict == MORE:
            return f"Pengingat berhasil: {nums[0]} postingan lebih banyak dalam {h} jam sesudahnya"
            f" {interval}."
        if effect.verdict == LESS:
            return f"Setelah pengingat justru lebih sedikit postingan: {nums[0]} dalam {h} jam {interval}."
        return f"Belum terlihat efek yang jelas: selisih {nums[0]} postingan dalam {h} jam {interval}."
    interval = (
        f"(95% interval {nums[1]} to {nums[2]}, over {effect.used_days} days; "
        f"those hours usually have {nums[3]} posts)"
    )
    if effect.verdict == MORE:
        return f"The reminder works: about {nums[0]} more posts in the {h} hours after it {interval}."
    if effect.verdict == LESS:
        return f"Fewer posts follow the reminder: {nums[0]} in the {h} hours after it {interval}."
    return f"No clear effect: {nums[0]} posts difference in the {h} hours after the reminder {interval}."


def _fmt(value: float, language: str) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    if text == "-0":
        text = "0"
    return text.replace(".", ",") if language == "id" else text


def template_context(effect: ReminderEffect, calendar: CampaignCalendar, language: str) -> dict[str, Any]:
    tz = calendar.tz
    return {
        "verdict": effect.verdict,
        "verdict_text": verdict_text(effect, language),
        "window_hours": effect.window_hours,
        "days": [
            {
                "date": d.date,
                "sent_at": d.sent_at.astimezone(tz).strftime("%H:%M"),
                "posts": d.posts,
                "baseline": d.baseline,
                "effect": d.effect,
                "comparable_days": d.comparable_days,
            }
            for d in effect.days
        ],
    }


# ---------------------------------------------------------------------------------------------------------
# Votes, where the readings allow


MIN_VOTE_DAYS = 3  # days with a reading-based vote count in each group before votes are compared


@dataclass(frozen=True)
class VoteComparison:
    """Votes per day on days with a sent reminder against days without one, from days whose votes
    rest on real readings (never interpolated ones). `difference` is None when a group is too small."""

    with_reminder: list[float]
    without_reminder: list[float]
    difference: float | None = None
    low: float | None = None
    high: float | None = None


def compare_votes(
    vote_days: Sequence[Any], sent: Mapping[dt.date, dt.datetime], seed: int = 0
) -> VoteComparison:
    """`vote_days`: monitor.votes.VoteDay rows. Readings come a few a day, too coarse to place in the
    hours after a reminder, so votes are compared per day: days it was sent against days it failed or
    was missed (a 95% bootstrap interval resampling the days within each group)."""
    import numpy as np

    on = [d.votes for d in vote_days if d.votes is not None and not d.interpolated and d.date in sent]
    off = [d.votes for d in vote_days if d.votes is not None and not d.interpolated and d.date not in sent]
    if len(on) < MIN_VOTE_DAYS or len(off) < MIN_VOTE_DAYS:
        return VoteComparison(on, off)
    rng = np.random.default_rng(seed)
    a, b = np.asarray(on, dtype=float), np.asarray(off, dtype=float)
    diffs = rng.choice(a, (BOOTSTRAP, len(a))).mean(axis=1) - rng.choice(b, (BOOTSTRAP, len(b))).mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return VoteComparison(on, off, float(a.mean() - b.mean()), float(low), float(high))


def votes_text(comparison: VoteComparison, language: str) -> str:
    """One sentence on votes and the reminder, or why the readings cannot tell."""
    on, off = len(comparison.with_reminder), len(comparison.without_reminder)
    if comparison.difference is None:
        if language == "id":
            return (
                f"Vote: {on} hari dengan pengingat dan {off} hari tanpa pengingat punya pembacaan; "
                f"minimal {MIN_VOTE_DAYS} hari di masing-masing diperlukan untuk membandingkan."
            )
        return (
            f"Votes: {on} days with a reminder and {off} days without one have readings; at least "
            f"{MIN_VOTE_DAYS} of each are needed to compare."
        )
    mean_on = sum(comparison.with_reminder) / on
    mean_off = sum(comparison.without_reminder) / off
    nums = [_fmt(v, language) for v in (mean_on, mean_off, comparison.difference or 0, comparison.low or 0)]
    nums.append(_fmt(comparison.high or 0, language))
    if language == "id":
        return (
            f"Vote: rata-rata {nums[0]} per hari pada {on} hari dengan pengingat, {nums[1]} pada {off} hari "
            f"tanpa pengingat (selisih {nums[2]}, interval 95%: {nums[3]} sampai {nums[4]})."
        )
    return (
        f"Votes: {nums[0]} a day on average on {on} days with a reminder, {nums[1]} on {off} days without "
        f"(difference {nums[2]}, 95% interval {nums[3]} to {nums[4]})."
    )
