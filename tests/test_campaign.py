"""The campaign calendar: local days, day numbers, the inclusive window, the injectable clock."""

from __future__ import annotations

import datetime as dt

from monitor.campaign import CampaignCalendar, fixed_clock

UTC = dt.UTC


def test_local_day_at_midnight(config) -> None:
    cal = CampaignCalendar(config.campaign)
    # 2022-09-18 17:00 UTC is 2022-09-19 00:00 WIB: the first minute of day 1.
    assert cal.local_date(dt.datetime(2022, 9, 18, 17, 0, tzinfo=UTC)) == dt.date(2022, 9, 19)
    assert cal.local_date(dt.datetime(2022, 9, 18, 16, 59, 59, tzinfo=UTC)) == dt.date(2022, 9, 18)
    assert cal.local_midnight(dt.date(2022, 9, 19)) == dt.datetime(2022, 9, 18, 17, 0, tzinfo=UTC)


def test_window_is_inclusive(config) -> None:
    cal = CampaignCalendar(config.campaign)
    assert cal.total_days == 43
    days = list(cal.days())
    assert days[0] == dt.date(2022, 9, 19) and days[-1] == dt.date(2022, 10, 31) and len(days) == 43
    assert cal.contains(dt.date(2022, 10, 31)) and not cal.contains(dt.date(2022, 11, 1))
    assert not cal.contains(dt.date(2022, 9, 18))
    assert cal.day_number(dt.date(2022, 9, 19)) == 1 and cal.day_number(dt.date(2022, 10, 31)) == 43
    assert cal.days_left(dt.date(2022, 10, 31)) == 0 and cal.days_left(dt.date(2022, 9, 19)) == 42


def test_today_follows_the_clock(config) -> None:
    late = fixed_clock(dt.datetime(2022, 10, 5, 17, 30, tzinfo=UTC))  # 00:30 WIB on the 6th
    cal = CampaignCalendar(config.campaign, late)
    assert cal.today() == dt.date(2022, 10, 6)
    assert cal.default_range() == (dt.date(2022, 9, 19), dt.date(2022, 10, 6))
    after = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2023, 1, 1, tzinfo=UTC)))
    assert after.default_range() == (dt.date(2022, 9, 19), dt.date(2022, 10, 31))
    assert cal.at_local(dt.date(2022, 10, 6), dt.time(7)) == dt.datetime(2022, 10, 6, 0, 0, tzinfo=UTC)
