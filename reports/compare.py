"""What a report covers (its kind, for the title) and what its headline numbers are compared with.

Every headline number (campaign posts, interactions, active accounts, views) is compared with the
previous period of the same length: a day with the day before, a week with the week before, any
other range with the same number of days just before it. A report on the campaign so far (or the
whole campaign) has no period before it, so it compares its last 7 days with the 7 days before
those. Both periods are counted by the same SQL (`queries.rank_accounts`) with the same filter, in
one pass with the report's own totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from reports.queries import ReportScope

Kind = Literal["day", "week", "campaign", "campaign_so_far", "range"]
HEADLINE = ("posts", "interactions", "authors", "views")
LAST_DAYS = 7


def report_kind(scope: ReportScope) -> Kind:
    """day (one day), week (7 days), campaign (the whole window), campaign_so_far (from the start
    day to a day before the end), or range (anything else)."""
    days = (scope.end - scope.start).days + 1
    if scope.start == scope.campaign.start and scope.end == scope.campaign.end:
        return "campaign"
    if scope.start == scope.campaign.start and days > LAST_DAYS:
        return "campaign_so_far"
    if days == 1:
        return "day"
    if days == LAST_DAYS:
        return "week"
    if scope.start == scope.campaign.start:
        return "campaign_so_far"
    return "range"


@dataclass(frozen=True)
class Comparison:
    """The figures of `current` (a period) against `previous` (the period before it).

    `current` is the whole report range, or its last 7 days for the campaign so far (`last7`).
    previous_totals is None when the previous period lies entirely before the campaign (nothing to
    compare with: shown as '–', never as a fall from 0)."""

    basis: Literal["previous", "last7"]
    current_start: dt.date
    current_end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    current: dict[str, int]
    previous: dict[str, int] | None

    def change(self, key: str) -> int | None:
        if self.previous is None:
            return None
        return self.current[key] - self.previous[key]

    def change_pct(self, key: str) -> float | None:
        """The change in percent of the previous value (None without one, or when it was 0)."""
        if self.previous is None or not self.previous[key]:
            return None
        return 100.0 * (self.current[key] - self.previous[key]) / self.previous[key]


def periods(
    scope: ReportScope,
) -> tuple[Literal["previous", "last7"], tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(basis, current period, previous period) for a report scope."""
    if report_kind(scope) in ("campaign", "campaign_so_far"):
        end = scope.end
        start = max(scope.start, end - dt.timedelta(days=LAST_DAYS - 1))
        length = (end - start).days + 1
        return "last7", (start, end), (start - dt.timedelta(days=length), start - dt.timedelta(days=1))
    length = (scope.end - scope.start).days + 1
    previous = (scope.start - dt.timedelta(days=length), scope.start - dt.timedelta(days=1))
    return "previous", (scope.start, scope.end), previous


def headline_periods(scope: ReportScope) -> list[tuple[dt.date, dt.date]]:
    """The periods a report's headline counts: its range, the compared current period and, when it
    lies at least partly in the campaign, the period before (the order comparison_of reads them)."""
    _, current, previous = periods(scope)
    wanted = [(scope.start, scope.end), current]
    if previous[1] >= scope.campaign.start:
        wanted.append(previous)
    return wanted


def comparison_of(scope: ReportScope, found: list[dict[str, int]]) -> tuple[dict[str, int], Comparison]:
    """The range's totals and the headline comparison from the totals of headline_periods()."""
    basis, (start, end), (prev_start, prev_end) = periods(scope)
    totals, current, *previous = found
    before = previous[0] if previous else None
    return totals, Comparison(basis, start, end, prev_start, prev_end, current, before)
