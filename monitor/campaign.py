"""The campaign calendar: the only place that knows what "today" is.

Every "day" is a local day in the campaign time zone; the window is inclusive on both ends;
day 1 is the start date. The clock is injectable so tests and catch-up logic can fix "now".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from monitor.config import CampaignConfig

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed_clock(instant: dt.datetime) -> Clock:
    """A clock frozen at `instant` (aware), for tests and one-off runs."""
    if instant.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    return lambda: instant


class CampaignCalendar:
    def __init__(self, campaign: CampaignConfig, clock: Clock = system_clock) -> None:
        self.campaign = campaign
        self.tz: ZoneInfo = campaign.tz
        self.clock = clock

    # --- instants and days
    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    def today(self) -> dt.date:
        return self.local_date(self.now())

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The campaign-zone date of an aware instant."""
        if instant.tzinfo is None:
            raise ValueError("local_date needs an aware datetime; store and pass UTC")
        return instant.astimezone(self.tz).date()

    def local_midnight(self, day: dt.date) -> dt.datetime:
        """The UTC instant at which local `day` begins."""
        return dt.datetime.combine(day, dt.time(0), self.tz).astimezone(dt.UTC)

    def at_local(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The UTC instant of a local wall-clock time on `day`."""
        return dt.datetime.combine(day, time, self.tz).astimezone(dt.UTC)

    # --- the window
    @property
    def start(self) -> dt.date:
        return self.campaign.start

    @property
    def end(self) -> dt.date:
        return self.campaign.end

    @property
    def total_days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def day_number(self, day: dt.date) -> int:
        """Campaign day: 1 on the start date; 0 or less before it, above total_days after it."""
        return (day - self.start).days + 1

    def days_left(self, day: dt.date) -> int:
        """Days after `day` until the end, inclusive of the end (0 on the last day)."""
        return max(0, (self.end - day).days)

    def days(self, start: dt.date | None = None, end: dt.date | None = None) -> Iterator[dt.date]:
        """Every local day from start to end inclusive (defaults: the campaign window)."""
        day, last = start or self.start, end or self.end
        while day <= last:
            yield day
            day += dt.timedelta(days=1)

    def default_range(self) -> tuple[dt.date, dt.date]:
        """The report range: the window, cut at today while the campaign runs."""
        today = self.today()
        if self.start <= today < self.end:
            return self.start, today
        return self.start, self.end
