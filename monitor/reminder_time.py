"""When the day's vote reminder is due: the one configured time, or one drawn from several.

With `[reminders] at = ["07:00", "12:00", "17:00"]` each local day gets one of the times at random, so
posting that follows the reminder can be told apart from posting that simply happens at that hour
(docs/report.md, "Does the reminder work?"). The draw is seeded by `[reminders] seed` (default: the
campaign name) and the date, so every process, restart and re-run draws the same time for a day, and
the time is recorded in vote_reminders.planned_at.
"""

from __future__ import annotations

import datetime as dt
import random

from monitor.campaign import CampaignCalendar
from monitor.config import Config


def reminder_time(config: Config, day: dt.date) -> dt.time:
    """The local time of day at which `day`'s reminder is due."""
    times = config.reminders.all_times
    if len(times) == 1:
        return times[0]
    seed = config.reminders.seed or config.campaign.name
    # random.Random seeded with text hashes it with SHA-512: the same draw in every process.
    return random.Random(f"{seed}|{day.isoformat()}").choice(sorted(times))


def reminder_due_at(config: Config, calendar: CampaignCalendar, day: dt.date) -> dt.datetime:
    """The UTC instant of `day`'s reminder (its drawn or only time, in the campaign zone)."""
    return calendar.at_local(day, reminder_time(config, day))


def is_drawn(config: Config) -> bool:
    """Whether the reminder time is drawn each day (several times configured)."""
    return len(config.reminders.all_times) > 1
