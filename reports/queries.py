"""The report's numbers, aggregated in SQL and returned as pandas DataFrames zero-filled over the range.

Every function counts *campaign posts* only (DESIGN 5): a post carrying at least one tracked hashtag
(post_hashtags), whose local day (posts.local_date, campaign zone) is inside both the asked range and
the campaign window, and that is not a repost. `interactions` = likes + comments + shares, with an
unknown (NULL) metric summed as 0. An author is `coalesce(author_id, lower(author_handle))` within a
platform (handles compare case-insensitively: `KIM_Mayangan` and `kim_mayangan` are one account).

No function loads every post into Python: the database groups, pandas only reshapes at most a few
thousand aggregate rows (days x platforms, days x tags, UTC quarter-hours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, Integer, and_, case, cast, func, literal, or_, select

from monitor.config import CampaignConfig
from monitor.db import readonly
from monitor.models import CollectionRun, Post, PostHashtag, VoteReminder
from reports.filters import ReportFilter

if TYPE_CHECKING:
    import pandas as pd

ALL = "all"  # the platform name of the per-day total row
DAILY_COLUMNS = [
    "date",
    "campaign_day",
    "platform",
    "posts",
    "authors",
    "likes",
    "comments",
    "shares",
    "interactions",
]
METRICS = ("likes", "comments", "shares", "interactions")


@dataclass(frozen=True)
class ReportScope:
    """What a report counts: the campaign (window, tracked tags, zone) and the local days asked for."""

    campaign: CampaignConfig
    start: dt.date
    end: dt.date
    filter: ReportFilter = field(default_factory=ReportFilter)  # --platform / --group (empty: every post)

    @property
    def first(self) -> dt.date:
        """The first day that can hold campaign posts: the later of range start and window start."""
        return max(self.start, self.campaign.start)

    @property
    def last(self) -> dt.date:
        return min(self.end, self.campaign.end)

    def days(self) -> list[dt.date]:
        """Every local day of the asked range, in order (the zero-fill index)."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def campaign_day(self, day: dt.date) -> int:
        return (day - self.campaign.start).days + 1

    @property
    def tracked_tags(self) -> dict[str, str]:
        """Stored (case-folded) tag -> the spelling the config uses, in config order."""
        tags: dict[str, str] = {}
        for tag in self.campaign.hashtags:
            tags.setdefault(tag.casefold(), tag)
        return tags


# ---------------------------------------------------------------------------------------------------------
# Building blocks


def _interactions() -> ColumnElement[int]:
    return func.coalesce(Post.likes, 0) + func.coalesce(Post.comments, 0) + func.coalesce(Post.shares, 0)


def _author_key() -> ColumnElement[str]:
    # The import fills a missing author_id from the account's other posts, so one account has one key.
    return func.coalesce(Post.author_id, func.lower(Post.author_handle))


def campaign_filter(scope: ReportScope, tagged: bool = True) -> ColumnElement[bool]:
    """The WHERE clause of a campaign post in the scope (the tag test uses the (tag, post_id) index).

    tagged=False leaves the tag test out, for queries that join post_hashtags on tracked tags anyway.
    """
    in_scope = and_(
        Post.local_date >= scope.first,
        Post.local_date <= scope.last,
        Post.is_repost.is_(False),
        scope.filter.where_clause(),
    )
    peer_tags = scope.campaign.peer_hashtags
    if peer_tags:
        # A post carrying a peer city's tag is that city's, unless it also carries one of the city's
        # own tags (a shared tag like #WeLoveCities is not enough): peers never change our numbers.
        peer = select(PostHashtag.post_id).where(PostHashtag.tag.in_(sorted(peer_tags)))
        own = select(PostHashtag.post_id).where(PostHashtag.tag.in_(sorted(scope.campaign.own_hashtags)))
        in_scope = and_(in_scope, ~and_(Post.id.in_(peer), Post.id.not_in(own)))
    if not tagged:
        return in_scope
    carrying = select(PostHashtag.post_id).where(PostHashtag.tag.in_(list(scope.tracked_tags)))
    return and_(in_scope, Post.id.in_(carrying))


def _rows(engine: Engine, query: Any) -> list[Any]:
    with readonly(engine).connect() as conn:
        return list(conn.execute(query).all())


def _as_date(value: Any) -> dt.date:
    # SQLite returns the Date column as date; an expression over it may come back as ISO text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------------------
# Per day


def daily_by_platform(engine: Engine, scope: ReportScope) -> pd.DataFrame:
    """One row per day of the range for each platform with campaign posts in it, plus `all`.

    Columns: DAILY_COLUMNS. Days without posts are present with zeros. `authors` of `all` counts
    distinct (platform, author) pairs that day (the sum of the platforms' authors). Ordered by date,
    platform alphabetically, `all` last.
    """
    import pandas as pd

    where = campaign_filter(scope)
    sums = (
        func.count().label("posts"),
        func.count(func.distinct(_author_key())).label("authors"),
        func.sum(func.coalesce(Post.likes, 0)).label("likes"),
        func.sum(func.coalesce(Post.comments, 0)).label("comments"),
        func.sum(func.coalesce(Post.shares, 0)).label("shares"),
        func.sum(_interactions()).label("interactions"),
    )
    per_platform = _rows(
        engine,
        select(Post.local_date, Post.platform, *sums).where(where).group_by(Post.local_date, Post.platform),
    )
    # The `all` row sums the platforms. That holds for `authors` too: an account is a (platform,
    # author) pair, so accounts on different platforms are never the same one.
    platforms = sorted({row.platform for row in per_platform})
    found = {(_as_date(r[0]), r[1]): tuple(int(v or 0) for v in r[2:]) for r in per_platform}
    for day in {day for day, _ in found}:
        rows = [v for (d, _), v in found.items() if d == day]
        found[(day, ALL)] = tuple(sum(col) for col in zip(*rows, strict=True))
    zero = (0, 0, 0, 0, 0, 0)
    records = []
    for day in scope.days():
        for platform in [*platforms, ALL]:
            records.append((day, scope.campaign_day(day), platform, *found.get((day, platform), zero)))
    return pd.DataFrame.from_records(records, columns=DAILY_COLUMNS)


TOTALS = ("posts", "authors", "likes", "comments", "shares", "interactions", "views", "views_posts")


def range_totals(engine: Engine, scope: ReportScope) -> dict[str, int]:
    """Totals over the whole range: posts, authors (distinct platform+author), likes ... interactions,
    views (impressions or plays, where the source gave them) and views_posts (how many posts those
    views cover: a view count the source did not give is unknown, not 0)."""
    return account_pass(engine, scope, 1)[0][0]


TagSets = dict[tuple[dt.date, int], tuple[int, int]]


def tag_sets(engine: Engine, scope: ReportScope) -> TagSets:
    """(day, tag mask) -> (campaign posts, interactions): the posts of each day grouped by which tracked
    tags they carry (bit i = the i-th tag of scope.tracked_tags). One pass feeds both hashtags_daily and
    all_tags_daily; at most days x 2^tags rows come back."""
    tags = list(scope.tracked_tags)
    bits = case(*[(PostHashtag.tag == tag, 1 << i) for i, tag in enumerate(tags)], else_=0)
    carried = (
        select(PostHashtag.post_id, func.sum(bits).label("mask"))
        .where(PostHashtag.tag.in_(tags))
        .group_by(PostHashtag.post_id)
        .subquery()
    )
    rows = _rows(
        engine,
        select(Post.local_date, carried.c.mask, func.count(), func.sum(_interactions()))
        .join(carried, carried.c.post_id == Post.id)
        .where(campaign_filter(scope, tagged=False))
        .group_by(Post.local_date, carried.c.mask),
    )
    return {(_as_date(day), int(mask)): (int(n), int(inter or 0)) for day, mask, n, inter in rows}


def hashtags_daily(engine: Engine, scope: ReportScope, sets: TagSets | None = None) -> pd.DataFrame:
    """Each tracked tag on every day of the range: date, hashtag (config spelling), posts, interactions.

    A post carrying both tags counts once under each tag. `sets`: tag_sets() when already queried.
    """
    import pandas as pd

    sets = tag_sets(engine, scope) if sets is None else sets
    records = []
    for day in scope.days():
        for i, spelling in enumerate(scope.tracked_tags.values()):
            found = [v for (d, mask), v in sets.items() if d == day and mask & (1 << i)]
            records.append((day, spelling, sum(n for n, _ in found), sum(inter for _, inter in found)))
    return pd.DataFrame.from_records(records, columns=["date", "hashtag", "posts", "interactions"])


def all_tags_daily(engine: Engine, scope: ReportScope, sets: TagSets | None = None) -> pd.DataFrame:
    """Per day: campaign posts, posts carrying every tracked tag, and that share (0..1; 0 without posts).
    `sets`: tag_sets() when already queried."""
    import pandas as pd

    sets = tag_sets(engine, scope) if sets is None else sets
    every = (1 << len(scope.tracked_tags)) - 1
    records = []
    for day in scope.days():
        posts = sum(n for (d, _), (n, _) in sets.items() if d == day)
        both = sets.get((day, every), (0, 0))[0]
        records.append((day, posts, both, both / posts if posts else 0.0))
    return pd.DataFrame.from_records(records, columns=["date", "posts", "all_tags", "share"])


# ---------------------------------------------------------------------------------------------------------
# Tops


def author_label(handle: str | None, name: str | None, author_id: str | None) -> str:
    """How a person recognises an account: the handle, else the display name, else the id.

    No '@' is added: a CSV cell starting with '@' would be neutralized (a spreadsheet reads it as a
    formula), and the platform column already says where the handle lives.
    """
    return handle or name or author_id or "?"


def post_link(platform: str, key: str, handle: str | None) -> str | None:
    from collectors.csv_formats import post_link as link_of

    return link_of(platform, key, handle)


def _platform_sources() -> frozenset[str]:
    """The sources that give an account's handle as the platform spells it (built-in exports, APIs),
    as opposed to a sheet someone typed (a [[formats]] entry)."""
    from collectors import facebook, instagram, twitter
    from collectors.csv_formats import BUILTIN_FORMATS

    return frozenset({f.name for f in BUILTIN_FORMATS} | {twitter.SOURCE, instagram.SOURCE, facebook.SOURCE})


def account_spellings(engine: Engine, accounts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """One spelling per account, (platform, author key) -> handle: `KIM_Mayangan` in one file and
    `kim_mayangan` in another are one account, shown as the platform's own spelling when an export
    or API gives it, else the most frequent one (ties: the first in sort order)."""
    wanted = sorted(set(accounts))
    if not wanted:
        return {}
    own = _platform_sources()
    key = _author_key()
    votes: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for platform in sorted({p for p, _ in wanted}):
        keys = [k for p, k in wanted if p == platform]
        for start in range(0, len(keys), 900):
            query = (
                select(key, Post.author_handle, Post.source, func.count())
                .where(
                    Post.platform == platform,
                    Post.author_handle.is_not(None),
                    key.in_(keys[start : start + 900]),
                )
                .group_by(key, Post.author_handle, Post.source)
            )
            for author, handle, source, count in _rows(engine, query):
                spelled = votes.setdefault((platform, author), {})
                by_own, total = spelled.get(handle, (0, 0))
                spelled[handle] = (by_own + (count if source in own else 0), total + count)
    return {
        account: min(spelled, key=lambda h: (-spelled[h][0], -spelled[h][1], h))
        for account, spelled in votes.items()
    }


def top_posts(engine: Engine, scope: ReportScope, limit: int = 50) -> pd.DataFrame:
    """The campaign posts with the most interactions (ties: earlier post first).

    Columns: rank, platform, date, author, author_name, url, likes, comments, shares, interactions, text,
    views (None: unknown), post_key (the platform's id of the post).
    An unknown metric stays None in likes/comments/shares (shown as unknown, not as 0) and counts as 0
    in interactions.
    """
    import pandas as pd

    inter = _interactions().label("interactions")
    rows = _rows(
        engine,
        select(
            Post.platform,
            Post.local_date,
            Post.author_handle,
            Post.author_name,
            Post.author_id,
            Post.url,
            Post.likes,
            Post.comments,
            Post.shares,
            inter,
            Post.text,
            _author_key(),
            Post.post_key,
            Post.views,
        )
        .where(campaign_filter(scope))
        .order_by(inter.desc(), Post.created_at, Post.id)
        .limit(limit),
    )
    spelled = account_spellings(engine, [(r[0], r[11]) for r in rows if r[11] is not None])
    records = [
        (
            rank,
            r[0],
            _as_date(r[1]),
            author_label(spelled.get((r[0], r[11]), r[2]), r[3], r[4]),
            r[3] or "",
            r[5] or post_link(r[0], r[12], r[2]) or "",  # posts stored before links were built
            *(None if v is None else int(v) for v in r[6:9]),
            int(r[9]),
            r[10] or "",
            None if r[13] is None else int(r[13]),
            r[12],
        )
        for rank, r in enumerate(rows, start=1)
    ]
    columns = ["rank", "platform", "date", "author", "author_name", "url"]
    # dtype=object keeps None for an unknown metric (pandas would make the column floats with NaN).
    frame = pd.DataFrame(records, columns=[*columns, *METRICS, "text", "views", "post_key"], dtype=object)
    return frame.astype({"rank": "int64", "interactions": "int64"})


def top_accounts(engine: Engine, scope: ReportScope, limit: int = 15) -> pd.DataFrame:
    """Accounts (platform + author) by the interactions their campaign posts drew.

    Columns: platform, author, author_name, posts, interactions, active_days. Posts without any author
    field are left out (they cannot be credited to anyone)."""
    return account_pass(engine, scope, limit)[1]


def account_pass(
    engine: Engine, scope: ReportScope, limit: int, others: Sequence[tuple[dt.date, dt.date]] = ()
) -> tuple[list[dict[str, int]], pd.DataFrame]:
    """The range totals (range_totals) of the scope and of each `others` period, and the scope's
    `limit` top accounts (top_accounts), in one pass: the posts of all the periods grouped by account
    (platform, author), each group counted per period, the totals summed over the groups by a window
    (an account is active in a period when it has a post there) and the top accounts cut by LIMIT.
    The report's headline and its comparison cost one scan this way, not four."""
    import pandas as pd

    periods = [(scope.start, scope.end), *others]
    bounds = [(max(a, scope.campaign.start), min(b, scope.campaign.end)) for a, b in periods]
    lo, hi = min(a for a, _ in bounds), max(b for _, b in bounds)
    key = _author_key().label("author_key")
    per_account: list[Any] = []
    for i, (a, b) in enumerate(bounds):
        inside = and_(Post.local_date >= a, Post.local_date <= b)
        everywhere = (a, b) == (lo, hi)  # every post of the pass is in it (the campaign so far)

        def when(value: Any, inside: Any = inside, everywhere: bool = everywhere) -> Any:
            # NULL outside the period: counted and summed as nothing. A period that holds the whole
            # pass needs no test (over 200k posts that saves about a sixth of the pass).
            return value if everywhere else case((inside, value))

        per_account += [
            func.count(when(literal(1))).label(f"posts_{i}"),
            func.sum(when(func.coalesce(Post.likes, 0))).label(f"likes_{i}"),
            func.sum(when(func.coalesce(Post.comments, 0))).label(f"comments_{i}"),
            func.sum(when(func.coalesce(Post.shares, 0))).label(f"shares_{i}"),
            func.sum(when(_interactions())).label(f"interactions_{i}"),
            func.sum(when(Post.views)).label(f"views_{i}"),
            func.count(when(Post.views)).label(f"views_posts_{i}"),
        ]
    in_scope = and_(Post.local_date >= bounds[0][0], Post.local_date <= bounds[0][1])
    scope_day = Post.local_date if bounds[0] == (lo, hi) else case((in_scope, Post.local_date))
    accounts = (
        select(
            Post.platform,
            key,
            func.max(Post.author_handle).label("handle"),
            func.max(Post.author_name).label("name"),
            func.count(func.distinct(scope_day)).label("active_days"),
            *per_account,
        )
        .where(campaign_filter(replace(scope, start=lo, end=hi)))
        .group_by(Post.platform, key)
        .subquery()
    )
    g = accounts.c
    totals: list[Any] = []
    for i in range(len(bounds)):
        active = case((and_(g[f"posts_{i}"] > 0, g.author_key.is_not(None)), 1))
        totals += [
            func.sum(g[f"posts_{i}"]).over(),
            func.count(active).over(),
            *(func.sum(g[f"{name}_{i}"]).over() for name in TOTALS[2:]),
        ]
    # Accounts without an author, or without a post in the scope itself, are never top accounts.
    unranked = case((or_(g.author_key.is_(None), g.posts_0 == 0), 1), else_=0)
    rows = _rows(
        engine,
        select(
            g.platform, g.author_key, g.handle, g.name, g.posts_0, g.interactions_0, g.active_days, *totals
        )
        .order_by(unranked, g.interactions_0.desc(), g.posts_0.desc(), g.author_key)
        .limit(max(1, limit)),
    )
    width = len(TOTALS)
    sums = rows[0][7:] if rows else (0,) * (width * len(bounds))  # no rows: no post in any period
    found = [
        dict(zip(TOTALS, (int(v or 0) for v in sums[i * width : (i + 1) * width]), strict=True))
        for i in range(len(bounds))
    ]
    top = [r for r in rows[:limit] if r.author_key is not None and r.posts_0]
    spelled = account_spellings(engine, [(r.platform, r.author_key) for r in top])
    labels = [
        author_label(spelled.get((r.platform, r.author_key), r.handle), r.name, r.author_key) for r in top
    ]
    # The same name on two platforms: say which is which (the chart shows names only).
    platforms_of: dict[str, set[str]] = {}
    for r, label in zip(top, labels, strict=True):
        platforms_of.setdefault(label.casefold(), set()).add(r.platform)
    labels = [
        f"{label} ({r.platform})" if len(platforms_of[label.casefold()]) > 1 else label
        for r, label in zip(top, labels, strict=True)
    ]
    records = [
        (r.platform, label, r.name or "", int(r.posts_0), int(r.interactions_0 or 0), int(r.active_days))
        for r, label in zip(top, labels, strict=True)
    ]
    frame = pd.DataFrame.from_records(
        records, columns=["platform", "author", "author_name", "posts", "interactions", "active_days"]
    )
    return found, frame


# ---------------------------------------------------------------------------------------------------------
# When people post


QUARTER = 900  # seconds


def _utc_quarter(engine: Engine) -> ColumnElement[int]:
    """created_at as a count of quarter-hours since 1970-01-01 UTC (integer arithmetic, exact).

    Every zone offset in use is a multiple of 15 minutes, so a quarter-hour maps to exactly one local
    hour and weekday even across a DST change; at most 96 buckets a day come back to Python.
    """
    if engine.dialect.name == "postgresql":
        seconds: ColumnElement[Any] = func.extract("epoch", Post.created_at)
        return cast(func.floor(seconds / QUARTER), Integer)
    # SQLite's strftime('%s') rounds the fraction (16:59:59.999999 gives 17:00:00): cut the stored
    # text at the whole second first ('YYYY-MM-DD HH:MM:SS.ffffff').
    whole_second = func.substr(Post.created_at, 1, 19)
    return cast(func.strftime("%s", whole_second), Integer) // QUARTER  # // : integer division


def posts_by_quarter(engine: Engine, scope: ReportScope) -> dict[int, int]:
    """UTC quarter-hour number -> campaign posts created in it: one pass that feeds both the posting
    times (posting_times) and the reminder effect (reports.reminder_effect)."""
    bucket = _utc_quarter(engine).label("bucket")
    rows = _rows(engine, select(bucket, func.count()).where(campaign_filter(scope)).group_by(bucket))
    return {int(q): int(n) for q, n in rows}


def posting_times(engine: Engine, scope: ReportScope, quarters: dict[int, int] | None = None) -> pd.DataFrame:
    """Campaign posts by local weekday (rows 0=Monday..6) and local hour (columns 0..23).
    `quarters`: posts_by_quarter() when already queried."""
    import pandas as pd

    quarters = posts_by_quarter(engine, scope) if quarters is None else quarters
    counts = [[0] * 24 for _ in range(7)]
    tz = ZoneInfo(scope.campaign.timezone)
    for quarter, count in quarters.items():
        local = dt.datetime.fromtimestamp(int(quarter) * QUARTER, dt.UTC).astimezone(tz)
        counts[local.weekday()][local.hour] += int(count)
    return pd.DataFrame(counts, index=range(7), columns=range(24), dtype="int64")


# ---------------------------------------------------------------------------------------------------------
# Where the numbers came from, and the reminders


def data_coverage(engine: Engine, scope: ReportScope) -> pd.DataFrame:
    """Per day: which source and which file or API run last delivered its campaign posts, with counts.

    Columns: date, source, target ('' when unknown), posts. Days without any post have one row with
    source '' and posts 0, so a gap shows.
    """
    import pandas as pd

    rows = _rows(
        engine,
        select(Post.local_date, Post.source, func.coalesce(CollectionRun.target, ""), func.count())
        .outerjoin(CollectionRun, CollectionRun.id == Post.last_run_id)
        .where(campaign_filter(scope))
        .group_by(Post.local_date, Post.source, CollectionRun.target)
        .order_by(Post.local_date, Post.source, CollectionRun.target),
    )
    by_day: dict[dt.date, list[tuple[str, str, int]]] = {}
    for day, source, target, count in rows:
        by_day.setdefault(_as_date(day), []).append((source, target, int(count)))
    records = []
    for day in scope.days():
        for source, target, count in by_day.get(day, [("", "", 0)]):
            records.append((day, source, target, count))
    return pd.DataFrame.from_records(records, columns=["date", "source", "target", "posts"])


def reminders(engine: Engine, scope: ReportScope) -> pd.DataFrame:
    """The vote reminders of the range: date, campaign_day, channel, status, sent_at (aware UTC), message."""
    import pandas as pd

    rows = _rows(
        engine,
        select(
            VoteReminder.local_date,
            VoteReminder.campaign_day,
            VoteReminder.channel,
            VoteReminder.status,
            VoteReminder.sent_at,
            VoteReminder.message,
        )
        .where(VoteReminder.local_date >= scope.start, VoteReminder.local_date <= scope.end)
        .order_by(VoteReminder.local_date, VoteReminder.channel),
    )
    records = [(_as_date(r[0]), int(r[1]), r[2], r[3], r[4], r[5] or "") for r in rows]
    return pd.DataFrame.from_records(
        records, columns=["date", "campaign_day", "channel", "status", "sent_at", "message"]
    )
