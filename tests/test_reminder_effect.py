"""Does the reminder work? A synthetic campaign in which posting rises by a known amount in the three
hours after each reminder (and one in which it does not), with the reminder time drawn each day from
three times and sent through the real reminder machinery; plus the short window and the fixed time
that must give "not enough data", and the draw itself.

Posting: every quarter-hour from 06:00 to 22:00 WIB gets Poisson(0.5) campaign posts (about 6 in any
three hours); with the effect, 12 more posts follow each reminder, one per quarter-hour for 3 hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import ConfigError
from monitor.models import VoteReminder
from monitor.records import PostRecord
from monitor.reminder_time import reminder_due_at, reminder_time
from monitor.reminders import send_reminders
from monitor.scheduler import Jobs
from monitor.store import start_run, write_batch
from reports import reminder_effect
from reports.build import build_report
from reports.queries import ReportScope
from reports.scoreboard import digest_lines

TIMES = '[reminders]\nat = ["07:00", "12:00", "17:00"]\nseed = "uji"\n'
START = dt.date(2022, 9, 19)
EXTRA = 12  # posts added after each reminder in the "works" campaign


def campaign(
    write_config: Callable[..., Path],
    days: int,
    extra: int,
    seed: int,
    times: str = TIMES,
    language: str = "en",
) -> tuple[Config, Engine, CampaignCalendar]:
    """Store `days` days of synthetic posting and send each day's reminder at its drawn time."""
    config = load_config(write_config(times, language))
    engine = open_engine(config.storage.url)
    tz = config.campaign.tz
    rng = np.random.default_rng(seed)
    run_id = start_run(engine, "synthetic", None)
    records: list[PostRecord] = []
    for i in range(days):
        day = START + dt.timedelta(days=i)
        due = reminder_due_at(config, CampaignCalendar(config.campaign), day)
        sent = due + dt.timedelta(minutes=2)
        cal = CampaignCalendar(config.campaign, fixed_clock(sent))
        assert [d.status for d in send_reminders(config, engine, cal, day)] == ["sent"]
        for quarter in range(6 * 4, 22 * 4):
            begin = dt.datetime.combine(day, dt.time(quarter // 4, quarter % 4 * 15), tz)
            for n in range(int(rng.poisson(0.5))):
                records.append(post(f"b{i}-{quarter}-{n}", begin + dt.timedelta(minutes=1 + n)))
        for k in range(extra):
            records.append(post(f"r{i}-{k}", sent + dt.timedelta(minutes=3 + 15 * k)))
    write_batch(engine, run_id, records, tz)
    end = START + dt.timedelta(days=days)
    now = CampaignCalendar(config.campaign, fixed_clock(dt.datetime.combine(end, dt.time(9), tz)))
    return config, engine, now


def post(key: str, when: dt.datetime) -> PostRecord:
    return PostRecord(
        platform="instagram",
        post_key=key,
        created_at=when,
        source="synthetic",
        text="#WeLoveProbolinggo",
        author_handle=f"kim_{key[-1]}",
        likes=1,
        hashtags=frozenset({"weloveprobolinggo"}),
    )


def analysed(config: Config, engine: Engine, cal: CampaignCalendar) -> reminder_effect.ReminderEffect:
    last = cal.today() - dt.timedelta(days=1)
    return reminder_effect.analyse_report(engine, ReportScope(config.campaign, START, last), cal)


def test_the_draw_is_seeded_uses_every_time_and_is_recorded(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(TIMES))
    assert config.reminders.all_times == (dt.time(7), dt.time(12), dt.time(17))
    draws = [reminder_time(config, START + dt.timedelta(days=i)) for i in range(30)]
    assert set(draws) == {dt.time(7), dt.time(12), dt.time(17)}
    assert draws == [reminder_time(load_config(config.path), START + dt.timedelta(days=i)) for i in range(30)]
    other = load_config(write_config(TIMES.replace('"uji"', '"lain"')))
    assert draws != [reminder_time(other, START + dt.timedelta(days=i)) for i in range(30)]

    engine = open_engine(config.storage.url)
    day = START + dt.timedelta(days=2)
    due = reminder_due_at(config, CampaignCalendar(config.campaign), day)
    send_reminders(config, engine, CampaignCalendar(config.campaign, fixed_clock(due)), day)
    with engine.connect() as conn:
        planned = conn.execute(select(VoteReminder.planned_at)).scalar_one()
    assert planned == due


def test_scheduler_waits_for_the_drawn_time(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(TIMES))
    engine = open_engine(config.storage.url)
    day = START + dt.timedelta(days=1)
    due = reminder_due_at(config, CampaignCalendar(config.campaign), day)
    early = Jobs(
        config, engine, CampaignCalendar(config.campaign, fixed_clock(due - dt.timedelta(minutes=1)))
    )
    assert not early.reminder_due() and early._reminder() == "skipped"
    on_time = Jobs(config, engine, CampaignCalendar(config.campaign, fixed_clock(due)))
    assert on_time.reminder_due() and on_time._reminder() == "ok"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[]", "empty list"),
        ('["07:00", "07:00"]', "lists a time twice"),
        ('["07:00", "siang"]', "not a time"),
    ],
)
def test_bad_reminder_times_are_config_errors(
    write_config: Callable[..., Path], value: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write_config(f"[reminders]\nat = {value}\n"))


def test_a_rise_after_the_reminder_is_recovered_within_its_interval(
    write_config: Callable[..., Path],
) -> None:
    config, engine, cal = campaign(write_config, days=30, extra=EXTRA, seed=1)
    effect = analysed(config, engine, cal)
    assert effect.used_days == 30 and effect.verdict == reminder_effect.MORE
    assert effect.low is not None and effect.high is not None and effect.estimate is not None
    assert effect.low <= EXTRA <= effect.high
    assert abs(effect.estimate - EXTRA) < 2 and effect.high - effect.low < 5
    assert "The reminder works: about" in reminder_effect.verdict_text(effect, "en")
    lines = digest_lines(config, engine, cal, cal.today())
    assert lines and lines[-1].startswith("The reminder works")


def test_no_rise_gives_no_clear_effect(write_config: Callable[..., Path]) -> None:
    config, engine, cal = campaign(write_config, days=30, extra=0, seed=2)
    effect = analysed(config, engine, cal)
    assert effect.verdict == reminder_effect.UNCLEAR, effect
    assert effect.low is not None and effect.high is not None and effect.low <= 0 <= effect.high
    assert reminder_effect.verdict_text(effect, "en").startswith("No clear effect")


def test_a_short_window_is_not_enough_data(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config, engine, cal = campaign(write_config, days=5, extra=EXTRA, seed=3)
    effect = analysed(config, engine, cal)
    assert effect.verdict == reminder_effect.NOT_ENOUGH and effect.low is None
    assert "Not enough data" in reminder_effect.verdict_text(effect, "en")
    assert digest_lines(config, engine, cal, cal.today()) == []  # the digest waits for enough days
    result = build_report(config, engine, tmp_path / "out", START, START + dt.timedelta(days=4), cal)
    html = result.index.read_text(encoding="utf-8")
    assert 'id="reminder-effect"' in html and "Not enough data to say yet" in html
    assert (tmp_path / "out" / "reminder_effect.png").stat().st_size > 0
    csv_text = (tmp_path / "out" / "reminder_effect.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0] == "date,sent_at,posts_after,baseline,effect,comparable_days"
    assert len(csv_text.splitlines()) == 6


def test_a_fixed_reminder_time_leaves_nothing_to_compare(write_config: Callable[..., Path]) -> None:
    config, engine, cal = campaign(write_config, days=12, extra=EXTRA, seed=4, times="", language="id")
    effect = analysed(config, engine, cal)
    assert effect.verdict == reminder_effect.NOT_ENOUGH and effect.used_days == 0
    assert "same time every day" in effect.reason
    assert reminder_effect.verdict_text(effect, "id").startswith("Belum cukup data")


def test_several_times_make_one_job_each_and_status_shows_the_drawn_one(
    write_config: Callable[..., Path],
) -> None:
    from monitor.scheduler import JOB_REMINDER, build_scheduler, job_statuses

    config = load_config(write_config(TIMES))
    engine = open_engine(config.storage.url)
    cal = CampaignCalendar(
        config.campaign, fixed_clock(dt.datetime(2022, 9, 20, 0, 30, tzinfo=config.campaign.tz))
    )
    jobs = {job.id: job for job in build_scheduler(config, Jobs(config, engine, cal)).get_jobs()}
    assert {JOB_REMINDER, f"{JOB_REMINDER}-2", f"{JOB_REMINDER}-3"} <= set(jobs)
    assert "hour='17'" in str(jobs[f"{JOB_REMINDER}-3"].trigger)
    status = {s.job: s for s in job_statuses(config, engine, cal)}
    assert status[JOB_REMINDER].next_run == reminder_due_at(config, cal, dt.date(2022, 9, 20))


def test_votes_are_compared_on_days_with_and_without_a_reminder() -> None:
    from monitor.votes import VoteDay

    sent = {dt.date(2022, 10, d): dt.datetime(2022, 10, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4)}

    def day(d: int, votes: float, interpolated: bool = False) -> VoteDay:
        return VoteDay(dt.date(2022, 10, d), None, votes, None, None, None, 1, interpolated)

    # By hand: with a reminder 100, 200, 300 (mean 200; 4 Oct is interpolated, left out); without
    # 50, 50, 80 (mean 60): 140 more votes on a reminder day.
    days = [day(1, 100), day(2, 200), day(3, 300), day(4, 999, True), day(5, 50), day(6, 50), day(7, 80)]
    got = reminder_effect.compare_votes(days, sent)
    assert got.difference == pytest.approx(140)
    assert got.low is not None and got.high is not None and 0 < got.low <= 140 <= got.high
    assert reminder_effect.votes_text(got, "en").startswith(
        "Votes: 200 a day on average on 3 days with a reminder, 60 on 3"
    )
    few = reminder_effect.compare_votes(days[:6], sent)
    assert few.difference is None and "at least 3 of each" in reminder_effect.votes_text(few, "en")
