"""Synthetic but realistic campaign posts, for the report benchmark, screenshots and browser tests.

The shape follows what the Probolinggo team saw: Instagram busiest, then Facebook, then X; a slow
start, a mid-campaign push and a final rush; posting around the morning commute and the evening;
a few very active community accounts and many occasional ones; heavy-tailed likes; some retweets,
some unknown metrics. Deterministic for a seed. Never used for real numbers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import cast

from sqlalchemy import Engine, Table

from monitor.config import CampaignConfig
from monitor.models import VoteReminder
from monitor.records import PostRecord, collect_hashtags
from monitor.store import BATCH_SIZE, finish_run, start_run, write_batch

PLATFORM_SHARE = (("instagram", 0.45), ("facebook", 0.35), ("twitter", 0.20))
SOURCES = {
    "instagram": ("meta_instagram_export", "kim-weekly-instagram.csv"),
    "facebook": ("crowdtangle_facebook", "crowdtangle-probolinggo.csv"),
    "twitter": ("twarc_csv", "twarc-welovecities.csv"),
}
HOUR_WEIGHTS = [1, 1, 1, 1, 2, 4, 7, 9, 8, 6, 5, 5, 6, 5, 4, 4, 5, 6, 8, 10, 10, 8, 5, 2]
PHRASES = [
    "Ayo vote Kota Probolinggo setiap hari di welovecities.org",
    "Dukung kota kita tercinta",
    "Sudah vote hari ini?",
    "Pesona Probolinggo dari Alun-alun",
    "Warga Probolinggo kompak",
    "Satu klik untuk kota kita",
]


def _day_weight(i: int, total: int) -> float:
    """Slow start, a push in the middle, a rush at the end."""
    x = i / max(1, total - 1)
    return 0.4 + 1.2 * x + (0.8 if 0.45 < x < 0.55 else 0.0) + (1.5 if x > 0.9 else 0.0)


def synthetic_posts(campaign: CampaignConfig, count: int, seed: int = 2022) -> Iterator[PostRecord]:
    """`count` posts spread over the campaign window (about 5% of them retweets or untagged)."""
    rng = random.Random(seed)
    tz = campaign.tz
    days = [campaign.start + dt.timedelta(days=i) for i in range((campaign.end - campaign.start).days + 1)]
    day_weights = [_day_weight(i, len(days)) for i in range(len(days))]
    platforms = [p for p, _ in PLATFORM_SHARE]
    platform_weights = [w for _, w in PLATFORM_SHARE]
    accounts = max(20, min(5000, count // 12))
    tags = list(campaign.hashtags)
    for n in range(count):
        platform = rng.choices(platforms, platform_weights)[0]
        day = rng.choices(days, day_weights)[0]
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        created = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), tz)
        # A core of very active community accounts, and many occasional ones.
        author = rng.randrange(30) if rng.random() < 0.35 else rng.randrange(accounts)
        handle = f"kim_{['mayangan', 'kanigaran', 'kademangan', 'wonoasih', 'kedopok'][author % 5]}_{author}"
        chosen = tags if rng.random() < 0.45 else [rng.choice(tags)]
        if rng.random() < 0.02:
            chosen = ["Probolinggo"]  # an untagged post: not a campaign post
        text = f"{rng.choice(PHRASES)} " + " ".join(f"#{t}" for t in chosen)
        likes = int(rng.paretovariate(1.3) * 8)
        source, _ = SOURCES[platform]
        yield PostRecord(
            platform=platform,
            post_key=f"{platform[:2]}{n:08d}",
            created_at=created,
            source=source,
            text=text,
            url=_url(platform, n, handle),
            author_id=f"{platform[:2]}-{author}",
            author_handle=handle,
            author_name=handle.replace("_", " ").title(),
            likes=likes,
            comments=int(likes * rng.uniform(0.02, 0.2)),
            shares=None if platform == "instagram" else int(likes * rng.uniform(0.0, 0.15)),
            is_repost=platform == "twitter" and rng.random() < 0.1,
            hashtags=collect_hashtags(text),
        )


def _url(platform: str, n: int, handle: str) -> str:
    if platform == "instagram":
        return f"https://www.instagram.com/p/C{n:09d}/"
    if platform == "facebook":
        return f"https://www.facebook.com/{handle}/posts/{n}"
    return f"https://x.com/{handle}/status/{1572000000000000000 + n}"


def load_synthetic(engine: Engine, campaign: CampaignConfig, count: int, seed: int = 2022) -> int:
    """Store `count` synthetic posts through the real store (one run per platform export)."""
    runs = {p: start_run(engine, source, target) for p, (source, target) in SOURCES.items()}
    batches: dict[str, list[PostRecord]] = {p: [] for p in runs}
    for record in synthetic_posts(campaign, count, seed):
        batch = batches[record.platform]
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            write_batch(engine, runs[record.platform], batch, campaign.tz)
            batch.clear()
    for platform, batch in batches.items():
        if batch:
            write_batch(engine, runs[platform], batch, campaign.tz)
        finish_run(engine, runs[platform], "ok")
    return count


def add_sent_reminders(engine: Engine, campaign: CampaignConfig, last_day: dt.date, skip: int = 4) -> None:
    """Vote reminder rows as the reminder job would log them: sent at 07:00 each day, one missed."""
    table = cast(Table, VoteReminder.__table__)
    rows = []
    day = campaign.start
    while day <= min(last_day, campaign.end):
        number = (day - campaign.start).days + 1
        missed = number == skip
        sent = dt.datetime.combine(day, dt.time(7, 0, 3), campaign.tz)
        rows.append(
            {
                "local_date": day,
                "campaign_day": number,
                "channel": "log",
                "message": f"Hari ke-{number}: ayo vote {campaign.city} di {campaign.vote_url}",
                "status": "missed" if missed else "sent",
                "attempts": 0 if missed else 1,
                "sent_at": None if missed else sent,
            }
        )
        day += dt.timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
