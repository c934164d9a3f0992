"""The report's numbers, aggregated in SQL and returned as pandas DataFrames zero-filled over the range.

Every function counts *campaign posts* only (DESIGN 5): a post carrying at least one tracked hashtag
(post_hashtags), whose local day (posts.local_date, campaign zone) is inside both the asked range and
the campaign window, and that is not a repost. `interactions` = likes + comments + shares, with an
unknown (NULL) metric summed as 0. An author is `coalesce(author_id, lower(author_handle))` within a
platform (handles compare case-insensitively: `KIM_Mayangan` and `kim_mayangan` are one account).

A report selects its campaign posts once (`campaign_posts`): one pass over `posts` and the tag index
writes the few columns the report counts into a temporary table on one connection, and every table of
the report is then a GROUP BY over that narrow table, all from one snapshot of the database. Each
function also takes an Engine and then selects the posts for that one call.

No function loads every post into Python: the database groups, pandas only reshapes at most a few
thousand aggregate rows (days x platforms, days x tags, UTC quarter-hours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles

from monitor.config import CampaignConfig
from monitor.db import readonly
from monitor.models import COUNT, CollectionRun, Post, PostHashtag, VoteReminder
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
K = TypeVar("K")


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


def _rows(bind: Engine | Connection, query: Any) -> list[Any]:
    """The rows of `query` on `bind`: a Connection as it is, an Engine on a read-only connection."""
    if isinstance(bind, Connection):
        return list(bind.execute(query).all())
    with readonly(bind).connect() as conn:
        return list(conn.execute(query).all())


def _as_date(value: Any) -> dt.date:
    # SQLite returns the Date column as date; an expression over it may come back as ISO text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------------------
# The campaign posts of a report, selected once


class _DayText(Date):
    """A Date column of TEXT affinity on SQLite. SQLite keeps dates as text in any column, but in a
    DATE column (NUMERIC affinity) every comparison with a day first tries to read the text as a
    number: the date tests of the report's queries cost a tenth more over 200k posts."""

    cache_ok = True


class _TimeText(DateTime):
    """A DateTime column of TEXT affinity on SQLite (see _DayText): no number parsed at each insert."""

    cache_ok = True


@compiles(_DayText, "sqlite")
@compiles(_TimeText, "sqlite")
def _text_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "TEXT"


REPORT_POSTS = Table(
    "report_posts",
    MetaData(),
    Column("id", Integer),
    Column("platform", String(16)),
    Column("post_key", String(64)),
    Column("author_id", String(64)),
    Column("author_handle", String(128)),
    Column("author_name", String()),
    Column("author_key", String(128)),  # _author_key(): the account within its platform
    Column("local_date", _DayText),
    Column("created_at", _TimeText),
    Column("quarter", Integer),  # _utc_quarter(): the UTC quarter-hour it was posted in
    Column("mask", Integer),  # bit i: carries the i-th tag of ReportScope.tracked_tags
    Column("source", String(64)),
    Column("run_id", Integer),  # posts.last_run_id
    Column("likes", COUNT),
    Column("comments", COUNT),
    Column("shares", COUNT),
    Column("views", COUNT),
    Column("interactions", BigInteger().with_variant(Integer(), "sqlite")),
    Column("wanted", Boolean),  # inside the report's --platform / --group filter
    prefixes=["TEMPORARY"],
)
P = REPORT_POSTS.c


@dataclass(frozen=True)
class CampaignPosts:
    """The campaign posts from the campaign start to the last day of `scope`, in the temporary table
    REPORT_POSTS on `conn` (made by `campaign_posts`). From the campaign start, not from the range
    start: the comparison periods and the roster (quiet members, last posts) look further back."""

    conn: Connection
    scope: ReportScope

    def within(self, start: dt.date, end: dt.date) -> ColumnElement[bool]:
        """Posts of the local days start..end (cut to the campaign) that the filter keeps."""
        first, last = max(start, self.scope.campaign.start), min(end, self.scope.campaign.end)
        return and_(P.local_date >= first, P.local_date <= last, _kept(self.scope))

    def rows(self, query: Any) -> list[Any]:
        return _rows(self.conn, query)

    @cached_property
    def mix(self) -> list[Mix]:
        """The posts (with the filter) grouped by everything the day tables tell apart: day, platform,
        tags carried, source and run. One GROUP BY (one sort) feeds the day table's sums, both tag
        tables, the coverage and the comparison periods; a few hundred rows come back. (The UTC
        quarter-hour would multiply them by up to 96: posts_by_quarter groups by it on its own.)"""
        key = (P.local_date, P.platform, P.mask, P.source, P.run_id)
        # sum() skips an unknown metric (NULL), as interactions count it as 0, so the interactions are
        # likes + comments + shares of the sums: fewer sums to sort and add up over 200k posts.
        sums = (
            func.count(),
            func.sum(P.likes),
            func.sum(P.comments),
            func.sum(P.shares),
            func.sum(P.views),
            func.count(P.views),
        )
        grouped = select(*key, *sums).where(_kept(self.scope)).group_by(*key).subquery()
        # Each run's file or API, named after the grouping (a join per post would cost a third more).
        g = grouped.c
        target = func.coalesce(CollectionRun.target, "")
        named = select(g.local_date, g.platform, g.mask, g.source, target, *list(g)[len(key) :]).outerjoin(
            CollectionRun, CollectionRun.id == g.run_id
        )
        mixed = []
        for day, platform, mask, source, target, *sums in self.rows(named):
            posts, likes, comments, shares, views, views_posts = (int(v or 0) for v in sums)
            counts = (posts, likes, comments, shares, likes + comments + shares, views, views_posts)
            mixed.append(Mix(_as_date(day), platform, int(mask), source, target, *counts))
        return mixed

    def mixed(self, start: dt.date, end: dt.date) -> list[Mix]:
        """The mix rows of the local days start..end."""
        return [m for m in self.mix if start <= m.day <= end]


@dataclass(frozen=True)
class Mix:
    """Campaign posts of one (day, platform, tags, source, run), and their sums."""

    day: dt.date
    platform: str
    mask: int
    source: str
    target: str  # the run's file or API ('' when unknown)
    posts: int
    likes: int
    comments: int
    shares: int
    interactions: int
    views: int
    views_posts: int


def _summed(mixed: Iterable[Mix], key: Callable[[Mix], K], fields: Sequence[str]) -> dict[K, tuple[int, ...]]:
    """The mix rows added up by `key`: for each key, the sums of the Mix `fields`."""
    sums: dict[K, tuple[int, ...]] = {}
    for m in mixed:
        values = tuple(getattr(m, f) for f in fields)
        before = sums.get(key(m))
        sums[key(m)] = values if before is None else tuple(a + b for a, b in zip(before, values, strict=True))
    return sums


def _kept(scope: ReportScope) -> ColumnElement[bool]:
    """REPORT_POSTS rows inside the scope's --platform / --group filter."""
    return P.wanted.is_(True) if scope.filter.active else true()


@contextmanager
def campaign_posts(engine: Engine, scope: ReportScope) -> Iterator[CampaignPosts]:
    """Select the scope's campaign posts into REPORT_POSTS on one read-only connection, for the
    queries below (and the roster's, monitor.roster.posts_by_member) to group.

    Over 200k posts this is one pass that costs about what one report query cost before, and the
    queries over the narrow table then cost a third to two thirds of what each did over `posts` and the
    tag index; and every number grouped from it comes from one snapshot, even while an import writes."""
    tags = list(scope.tracked_tags)
    bits = case(*[(PostHashtag.tag == tag, 1 << i) for i, tag in enumerate(tags)], else_=0)
    carried = (
        select(PostHashtag.post_id, func.sum(bits).label("mask"))
        .where(PostHashtag.tag.in_(tags))
        .group_by(PostHashtag.post_id)
        .subquery()
    )
    wanted = scope.filter.where_clause() if scope.filter.active else true()
    everything = replace(scope, start=scope.campaign.start, filter=ReportFilter())
    with readonly(engine).connect() as conn:
        columns = {
            "id": Post.id,
            "platform": Post.platform,
            "post_key": Post.post_key,
            "author_id": Post.author_id,
            "author_handle": Post.author_handle,
            "author_name": Post.author_name,
            "author_key": _author_key(),
            "local_date": Post.local_date,
            "created_at": Post.created_at,
            "quarter": _utc_quarter(conn),
            "mask": carried.c.mask,
            "source": Post.source,
            "run_id": Post.last_run_id,
            "likes": Post.likes,
            "comments": Post.comments,
            "shares": Post.shares,
            "views": Post.views,
            "interactions": _interactions(),
            "wanted": case((wanted, True), else_=False),
        }
        chosen = (
            select(*columns.values())
            .join(carried, carried.c.post_id == Post.id)
            .where(campaign_filter(everything, tagged=False))
        )
        conn.execute(text(f"DROP TABLE IF EXISTS {REPORT_POSTS.name}"))  # a dead build's, on this connection
        REPORT_POSTS.create(conn)
        conn.execute(insert(REPORT_POSTS).from_select(list(columns), chosen))
        try:
            yield CampaignPosts(conn, scope)
        finally:
            conn.rollback()  # temporary tables are transactional: this also drops it


@contextmanager
def _reading(source: Engine | CampaignPosts, scope: ReportScope) -> Iterator[CampaignPosts]:
    """The campaign posts to count: the report's (already selected), or selected for this call."""
    if isinstance(source, CampaignPosts):
        yield source
    else:
        with campaign_posts(source, scope) as posts:
            yield posts


# ---------------------------------------------------------------------------------------------------------
# Per day


def daily_by_platform(source: Engine | CampaignPosts, scope: ReportScope) -> pd.DataFrame:
    """One row per day of the range for each platform with campaign posts in it, plus `all`.

    Columns: DAILY_COLUMNS. Days without posts are present with zeros. `authors` of `all` counts
    distinct (platform, author) pairs that day (the sum of the platforms' authors). Ordered by date,
    platform alphabetically, `all` last.
    """
    import pandas as pd

    with _reading(source, scope) as posts:
        authors = posts.rows(
            select(P.local_date, P.platform, func.count(func.distinct(P.author_key)))
            .where(posts.within(scope.start, scope.end))
            .group_by(P.local_date, P.platform)
        )
        mixed = posts.mixed(scope.start, scope.end)
    found = _summed(mixed, lambda m: (m.day, m.platform), ("posts", *METRICS))
    counted = {(_as_date(day), platform): int(n) for day, platform, n in authors}
    found = {key: (v[0], counted.get(key, 0), *v[1:]) for key, v in found.items()}
    # The `all` row sums the platforms. That holds for `authors` too: an account is a (platform,
    # author) pair, so accounts on different platforms are never the same one.
    platforms = sorted({platform for _, platform in found})
    for day in {day for day, _ in found}:
        rows = [v for (d, _), v in found.items() if d == day]
        found[(day, ALL)] = tuple(sum(col) for col in zip(*rows, strict=True))
    zero = (0, 0, 0, 0, 0, 0)
    records = []
    for day in scope.days():
        for platform in [*platforms, ALL]:
            records.append((day, scope.campaign_day(day), platform, *found.get((day, platform), zero)))
    return pd.DataFrame.from_records(records, columns=DAILY_COLUMNS)


def posts_per_day(source: Engine | CampaignPosts, scope: ReportScope) -> dict[dt.date, int]:
    """Campaign posts per local day of the range (days without any left out), from the mix."""
    with _reading(source, scope) as posts:
        mixed = posts.mixed(scope.start, scope.end)
    return {day: n for day, (n,) in _summed(mixed, lambda m: m.day, ("posts",)).items()}


TOTALS = ("posts", "authors", "likes", "comments", "shares", "interactions", "views", "views_posts")


def range_totals(source: Engine | CampaignPosts, scope: ReportScope) -> dict[str, int]:
    """Totals over the whole range: posts, authors (distinct platform+author), likes ... interactions,
    views (impressions or plays, where the source gave them) and views_posts (how many posts those
    views cover: a view count the source did not give is unknown, not 0)."""
    return rank_accounts(source, scope, 1).totals[0]  # no top account to name


TagSets = dict[tuple[dt.date, int], tuple[int, ...]]  # (posts, interactions)


def tag_sets(source: Engine | CampaignPosts, scope: ReportScope) -> TagSets:
    """(day, tag mask) -> (campaign posts, interactions): the posts of each day grouped by which tracked
    tags they carry (bit i = the i-th tag of scope.tracked_tags), for both hashtags_daily and
    all_tags_daily."""
    with _reading(source, scope) as posts:
        mixed = posts.mixed(scope.start, scope.end)
    return _summed(mixed, lambda m: (m.day, m.mask), ("posts", "interactions"))


def hashtags_daily(
    source: Engine | CampaignPosts, scope: ReportScope, sets: TagSets | None = None
) -> pd.DataFrame:
    """Each tracked tag on every day of the range: date, hashtag (config spelling), posts, interactions.

    A post carrying both tags counts once under each tag. `sets`: tag_sets() when already queried.
    """
    import pandas as pd

    sets = tag_sets(source, scope) if sets is None else sets
    records = []
    for day in scope.days():
        for i, spelling in enumerate(scope.tracked_tags.values()):
            found = [v for (d, mask), v in sets.items() if d == day and mask & (1 << i)]
            records.append((day, spelling, sum(n for n, _ in found), sum(inter for _, inter in found)))
    return pd.DataFrame.from_records(records, columns=["date", "hashtag", "posts", "interactions"])


def all_tags_daily(
    source: Engine | CampaignPosts, scope: ReportScope, sets: TagSets | None = None
) -> pd.DataFrame:
    """Per day: campaign posts, posts carrying every tracked tag, and that share (0..1; 0 without posts).
    `sets`: tag_sets() when already queried."""
    import pandas as pd

    sets = tag_sets(source, scope) if sets is None else sets
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


def account_spellings(
    bind: Engine | Connection, accounts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """One spelling per account, (platform, author key) -> handle: `KIM_Mayangan` in one file and
    `kim_mayangan` in another are one account, shown as the platform's own spelling when an export
    or API gives it, else the most frequent one (ties: the first in sort order)."""
    wanted = sorted(set(accounts))
    if not wanted:
        return {}
    own = _platform_sources()
    key = _author_key()
    votes: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    # One scan of posts per 450 accounts (900 parameters), whatever their platforms.
    for start in range(0, len(wanted), 450):
        query = (
            select(Post.platform, key, Post.author_handle, Post.source, func.count())
            .where(Post.author_handle.is_not(None))
            .where(tuple_(Post.platform, key).in_(wanted[start : start + 450]))
            .group_by(Post.platform, key, Post.author_handle, Post.source)
        )
        found = _rows(bind, query)
        for platform, author, handle, source, count in found:
            spelled = votes.setdefault((platform, author), {})
            by_own, total = spelled.get(handle, (0, 0))
            spelled[handle] = (by_own + (count if source in own else 0), total + count)
    return {
        account: min(spelled, key=lambda h: (-spelled[h][0], -spelled[h][1], h))
        for account, spelled in votes.items()
    }


def top_posts(source: Engine | CampaignPosts, scope: ReportScope, limit: int = 50) -> pd.DataFrame:
    """The campaign posts with the most interactions (ties: earlier post first).

    Columns: rank, platform, date, author, author_name, url, likes, comments, shares, interactions, text,
    views (None: unknown), post_key (the platform's id of the post).
    An unknown metric stays None in likes/comments/shares (shown as unknown, not as 0) and counts as 0
    in interactions.
    """
    with _reading(source, scope) as posts:
        ranked = rank_top_posts(posts, scope, limit)
        spelled = account_spellings(posts.conn, ranked.accounts)
    return ranked.frame(spelled)


@dataclass(frozen=True)
class RankedPosts:
    """The top posts before their authors are named (account_spellings names them)."""

    rows: list[Any]  # posts columns, see rank_top_posts

    @property
    def accounts(self) -> list[tuple[str, str]]:
        """The (platform, author key) of each post's author."""
        return [(r[0], r[11]) for r in self.rows if r[11] is not None]

    def frame(self, spelled: Mapping[tuple[str, str], str]) -> pd.DataFrame:
        """The top_posts() frame, with each author shown as `spelled` spells the account."""
        import pandas as pd

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
            for rank, r in enumerate(self.rows, start=1)
        ]
        columns = ["rank", "platform", "date", "author", "author_name", "url"]
        # dtype=object keeps None for an unknown metric (pandas would make the column floats with NaN).
        frame = pd.DataFrame(records, columns=[*columns, *METRICS, "text", "views", "post_key"], dtype=object)
        return frame.astype({"rank": "int64", "interactions": "int64"})


def rank_top_posts(source: Engine | CampaignPosts, scope: ReportScope, limit: int = 50) -> RankedPosts:
    """The `limit` campaign posts with the most interactions, ranked on the narrow table; only the
    winners' text, links and metrics are read from `posts`."""
    with _reading(source, scope) as posts:
        top = (
            select(P.id, P.interactions, P.created_at)
            .where(posts.within(scope.start, scope.end))
            .order_by(P.interactions.desc(), P.created_at, P.id)
            .limit(limit)
            .subquery()
        )
        rows = posts.rows(
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
                top.c.interactions,
                Post.text,
                _author_key(),
                Post.post_key,
                Post.views,
            )
            .join(top, top.c.id == Post.id)
            .order_by(top.c.interactions.desc(), top.c.created_at, top.c.id)
        )
    return RankedPosts(rows)


def top_accounts(source: Engine | CampaignPosts, scope: ReportScope, limit: int = 15) -> pd.DataFrame:
    """Accounts (platform + author) by the interactions their campaign posts drew.

    Columns: platform, author, author_name, posts, interactions, active_days. Posts without any author
    field are left out (they cannot be credited to anyone)."""
    return account_pass(source, scope, limit)[1]


def account_pass(
    source: Engine | CampaignPosts,
    scope: ReportScope,
    limit: int,
    others: Sequence[tuple[dt.date, dt.date]] = (),
) -> tuple[list[dict[str, int]], pd.DataFrame]:
    """The range totals (range_totals) of the scope and of each `others` period, and the scope's
    `limit` top accounts (top_accounts), named (rank_accounts, then account_spellings)."""
    with _reading(source, scope) as posts:
        ranked = rank_accounts(posts, scope, limit, others)
        spelled = account_spellings(posts.conn, ranked.accounts)
    return ranked.totals, ranked.frame(spelled)


@dataclass(frozen=True)
class RankedAccounts:
    """The account pass before its top accounts are named (account_spellings names them)."""

    totals: list[dict[str, int]]  # TOTALS of the scope, then of each other period
    top: list[tuple[str, str, int, int]]  # platform, author key, posts, interactions (best first)
    shown: dict[tuple[str, str], tuple[Any, ...]]  # a handle, a display name, active days

    @property
    def accounts(self) -> list[tuple[str, str]]:
        return [(platform, key) for platform, key, _, _ in self.top]

    def frame(self, spelled: Mapping[tuple[str, str], str]) -> pd.DataFrame:
        """The top_accounts() frame, each account shown as `spelled` spells it."""
        import pandas as pd

        shown = self.shown
        labels = [author_label(spelled.get(a, shown[a][0]), shown[a][1], a[1]) for a in self.accounts]
        # The same name on two platforms: say which is which (the chart shows names only).
        platforms_of: dict[str, set[str]] = {}
        for (platform, *_), label in zip(self.top, labels, strict=True):
            platforms_of.setdefault(label.casefold(), set()).add(platform)
        labels = [
            f"{label} ({platform})" if len(platforms_of[label.casefold()]) > 1 else label
            for (platform, *_), label in zip(self.top, labels, strict=True)
        ]
        records = [
            (platform, label, shown[(platform, key)][1] or "", posts, interactions, shown[(platform, key)][2])
            for (platform, key, posts, interactions), label in zip(self.top, labels, strict=True)
        ]
        return pd.DataFrame.from_records(
            records, columns=["platform", "author", "author_name", "posts", "interactions", "active_days"]
        )


def rank_accounts(
    source: Engine | CampaignPosts,
    scope: ReportScope,
    limit: int,
    others: Sequence[tuple[dt.date, dt.date]] = (),
) -> RankedAccounts:
    """The active accounts of the scope and of each `others` period, and the top accounts, from one
    pass that groups the posts of all the periods by account (platform, author) and counts each
    group's posts per period (an account is active in a period when it has a post there; a window
    sums over the groups, LIMIT cuts the top); the posts, interactions and views of each period are
    summed from the mix (CampaignPosts.mix)."""
    periods = [(scope.start, scope.end), *others]
    bounds = [(max(a, scope.campaign.start), min(b, scope.campaign.end)) for a, b in periods]
    lo, hi = min(a for a, _ in bounds), max(b for _, b in bounds)

    def during(value: Any, a: dt.date, b: dt.date) -> Any:
        # NULL outside the period a..b: counted and summed as nothing. A period that holds the whole
        # pass needs no test (over 200k posts that saves about a sixth of the pass).
        return value if (a, b) == (lo, hi) else case((and_(P.local_date >= a, P.local_date <= b), value))

    per_account = [func.count(during(literal(1), *ab)).label(f"posts_{i}") for i, ab in enumerate(bounds)]
    per_account.append(func.sum(during(P.interactions, *bounds[0])).label("interactions_0"))
    scope_day = during(P.local_date, *bounds[0])
    in_pass = (P.local_date >= lo, P.local_date <= hi, _kept(scope))
    accounts = (
        select(P.platform, P.author_key, *per_account)
        .where(*in_pass)
        .group_by(P.platform, P.author_key)
        .subquery()
    )
    g = accounts.c
    totals: list[Any] = []
    for i in range(len(bounds)):
        active = case((and_(g[f"posts_{i}"] > 0, g.author_key.is_not(None)), 1))
        totals.append(func.count(active).over())
    # Accounts without an author, or without a post in the scope itself, are never top accounts.
    unranked = case((or_(g.author_key.is_(None), g.posts_0 == 0), 1), else_=0)
    ranked = (
        select(g.platform, g.author_key, g.posts_0, g.interactions_0, *totals)
        .order_by(unranked, g.interactions_0.desc(), g.posts_0.desc(), g.author_key)
        .limit(max(1, limit))
    )
    with _reading(source, scope) as posts:
        rows = posts.rows(ranked)
        top = [
            (r.platform, r.author_key, int(r.posts_0), int(r.interactions_0 or 0))
            for r in rows[:limit]
            if r.author_key is not None and r.posts_0
        ]
        chosen = [(platform, key) for platform, key, _, _ in top]
        # The names and active days of the top accounts only: counted over every account they cost a
        # third of the pass.
        shown: dict[tuple[str, str], tuple[Any, ...]] = {}
        if chosen:
            named = (
                select(
                    P.platform,
                    P.author_key,
                    func.max(P.author_handle),
                    func.max(P.author_name),
                    func.count(func.distinct(scope_day)),
                )
                .where(*in_pass, tuple_(P.platform, P.author_key).in_(chosen))
                .group_by(P.platform, P.author_key)
            )
            shown = {(r[0], r[1]): (r[2], r[3], int(r[4])) for r in posts.rows(named)}
        found = [_period_sums(posts.mixed(a, b)) for a, b in bounds]
    for i, totals_of in enumerate(found):
        totals_of["authors"] = int(rows[0][4 + i] or 0) if rows else 0  # no rows: no post in any period
    return RankedAccounts(found, top, shown)


def _period_sums(mixed: list[Mix]) -> dict[str, int]:
    """TOTALS of a period from its mix rows (authors: 0, counted by rank_accounts)."""
    fields = [f for f in TOTALS if f != "authors"]
    sums = _summed(mixed, lambda m: (), fields).get((), (0,) * len(fields))
    return {"authors": 0, **dict(zip(fields, sums, strict=True))}


# ---------------------------------------------------------------------------------------------------------
# When people post


QUARTER = 900  # seconds


def _utc_quarter(conn: Connection) -> ColumnElement[int]:
    """created_at as a count of quarter-hours since 1970-01-01 UTC (integer arithmetic, exact).

    Every zone offset in use is a multiple of 15 minutes, so a quarter-hour maps to exactly one local
    hour and weekday even across a DST change; at most 96 buckets a day come back to Python.
    """
    if conn.dialect.name == "postgresql":
        seconds: ColumnElement[Any] = func.extract("epoch", Post.created_at)
        return cast(func.floor(seconds / QUARTER), Integer)
    # SQLite rounds the fraction (16:59:59.999999 gives 17:00:00): cut the stored text at the whole
    # second first ('YYYY-MM-DD HH:MM:SS.ffffff').
    whole_second = func.substr(Post.created_at, 1, 19)
    if (conn.dialect.server_version_info or (0,)) >= (3, 38):
        # unixepoch() gives the integer at once: a third of the selection's cost less over 200k posts.
        return func.unixepoch(whole_second, type_=Integer()) // QUARTER  # // : integer division
    return cast(func.strftime("%s", whole_second), Integer) // QUARTER


def posts_by_quarter(source: Engine | CampaignPosts, scope: ReportScope) -> dict[int, int]:
    """UTC quarter-hour number -> campaign posts created in it: for both the posting times
    (posting_times) and the reminder effect (reports.reminder_effect)."""
    with _reading(source, scope) as posts:
        rows = posts.rows(
            select(P.quarter, func.count()).where(posts.within(scope.start, scope.end)).group_by(P.quarter)
        )
    return {int(q): int(n) for q, n in rows}


def posting_times(
    source: Engine | CampaignPosts, scope: ReportScope, quarters: dict[int, int] | None = None
) -> pd.DataFrame:
    """Campaign posts by local weekday (rows 0=Monday..6) and local hour (columns 0..23).
    `quarters`: posts_by_quarter() when already queried."""
    import pandas as pd

    quarters = posts_by_quarter(source, scope) if quarters is None else quarters
    counts = [[0] * 24 for _ in range(7)]
    tz = ZoneInfo(scope.campaign.timezone)
    for quarter, count in quarters.items():
        local = dt.datetime.fromtimestamp(int(quarter) * QUARTER, dt.UTC).astimezone(tz)
        counts[local.weekday()][local.hour] += int(count)
    return pd.DataFrame(counts, index=range(7), columns=range(24), dtype="int64")


# ---------------------------------------------------------------------------------------------------------
# Where the numbers came from, and the reminders


def data_coverage(source: Engine | CampaignPosts, scope: ReportScope) -> pd.DataFrame:
    """Per day: which source and which file or API run last delivered its campaign posts, with counts.

    Columns: date, source, target ('' when unknown), posts. Days without any post have one row with
    source '' and posts 0, so a gap shows.
    """
    import pandas as pd

    with _reading(source, scope) as posts:
        mixed = posts.mixed(scope.start, scope.end)
    counts = _summed(mixed, lambda m: (m.day, m.source, m.target), ("posts",))
    by_day: dict[dt.date, list[tuple[str, str, int]]] = {}
    for (day, name, target), (count,) in sorted(counts.items()):
        by_day.setdefault(day, []).append((name, target, count))
    records = []
    for day in scope.days():
        for name, target, count in by_day.get(day, [("", "", 0)]):
            records.append((day, name, target, count))
    return pd.DataFrame.from_records(records, columns=["date", "source", "target", "posts"])


def reminders(source: Engine | CampaignPosts, scope: ReportScope) -> pd.DataFrame:
    """The vote reminders of the range: date, campaign_day, channel, status, sent_at (aware UTC), message."""
    import pandas as pd

    query = (
        select(
            VoteReminder.local_date,
            VoteReminder.campaign_day,
            VoteReminder.channel,
            VoteReminder.status,
            VoteReminder.sent_at,
            VoteReminder.message,
        )
        .where(VoteReminder.local_date >= scope.start, VoteReminder.local_date <= scope.end)
        .order_by(VoteReminder.local_date, VoteReminder.channel)
    )
    rows = _rows(source.conn if isinstance(source, CampaignPosts) else source, query)
    records = [(_as_date(r[0]), int(r[1]), r[2], r[3], r[4], r[5] or "") for r in rows]
    return pd.DataFrame.from_records(
        records, columns=["date", "campaign_day", "channel", "status", "sent_at", "message"]
    )
