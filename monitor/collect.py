"""One pass of the collectors: fetch pages from a source and store each page in one transaction.

Each source pass is one `collection_runs` row (`x_api`, `instagram_api`, `facebook_api`,
`threads_api`; target = the API base, never a token). A page's posts and the collector's checkpoint
commit together, so a kill or a rate limit loses nothing committed and the next run continues from
the last stored page. HTTP calls happen between transactions, never inside one (the page generators
are advanced outside `write_batch`).

Statuses: ok; partial (some pages stored, then an error, or one Facebook page failed); failed
(nothing stored, or an unexpected exception: recorded, never raised into the caller, so the next
source still runs); rate_limited (the platform asked us to wait; the checkpoint is saved); skipped.
An error is said once: without the source name the collectors put in front (the run row and the
log line name the source).

The X pass also refreshes the metrics of recent campaign tweets that search will not return again
(`tweets_to_refresh`).

`COLLECTORS` maps a source name to a function taking a SourceContext; the scheduler adds "inbox".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from collectors import facebook, instagram, threads, twitter
from collectors.graph import TokenError
from collectors.http import ApiPage, make_session, redact
from monitor.campaign import CampaignCalendar
from monitor.counting import CampaignRule, Tally
from monitor.errors import RateLimited, SourceError, UsageError
from monitor.models import Post, PostHashtag
from monitor.plausible import record_problem
from monitor.store import Rejection, finish_run, load_checkpoint, start_run, write_batch
from reports.queries import ReportScope, campaign_filter

if TYPE_CHECKING:
    import requests
    from sqlalchemy import Engine

    from monitor.config import CampaignConfig, Config

log = logging.getLogger(__name__)

API_SOURCES = ["twitter", "instagram", "facebook", "threads"]
RUN_SOURCES = {
    "twitter": twitter.SOURCE,
    "instagram": instagram.SOURCE,
    "facebook": facebook.SOURCE,
    "threads": threads.SOURCE,
}
PROBLEM_STATUSES = frozenset({"partial", "failed", "rate_limited"})
REFRESH_DAYS = dt.timedelta(days=7)  # X metrics are refreshed for tweets this young
REFRESH_AFTER = dt.timedelta(hours=6)  # ... and not seen by any source for this long

SessionFactory = Callable[[], "requests.Session"]


@dataclass
class SourceResult:
    """What one source pass did: for the command line, the scheduler and the status page."""

    source: str
    status: str  # ok | partial | failed | rate_limited | skipped
    pages: int = 0
    new: int = 0
    updated: int = 0
    rejected: int = 0
    error: str | None = None  # redacted
    run_id: int | None = None
    tally: Tally = field(default_factory=Tally)  # what counted (monitor/counting.py)
    counted: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in PROBLEM_STATUSES


@dataclass
class SourceContext:
    """Everything a collector function needs; tests inject `sleep` and `session_factory`."""

    config: Config
    engine: Engine
    calendar: CampaignCalendar
    sleep: Callable[[float], None] = time.sleep
    session_factory: SessionFactory = field(default=make_session)


CollectorFn = Callable[[SourceContext], SourceResult]


def source_enabled(config: Config, name: str) -> bool:
    """A source is on when its section says `enabled = true`; sections without the key are always on."""
    section = getattr(config.sources, name, None)
    return bool(getattr(section, "enabled", True)) if section is not None else False


def enabled_sources(config: Config) -> list[str]:
    """The API sources switched on in config.toml, in the order they run."""
    return [name for name in API_SOURCES if source_enabled(config, name)]


def collect(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar | None = None,
    source: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    session_factory: SessionFactory | None = None,
) -> list[SourceResult]:
    """One pass of every enabled API source, or of the named one (which must be enabled)."""
    if source is not None:
        if source not in COLLECTORS:
            raise UsageError(f"unknown source {source!r}: use one of {', '.join(COLLECTORS)}")
        if not source_enabled(config, source):
            raise UsageError(
                f"source {source!r} is not enabled: set `enabled = true` under [sources.{source}] "
                f"in {config.path} (see docs/sources.md)"
            )
        names = [source]
    else:
        names = enabled_sources(config)
    return [collect_source(config, engine, name, calendar, sleep, session_factory) for name in names]


def collect_source(
    config: Config,
    engine: Engine,
    name: str,
    calendar: CampaignCalendar | None = None,
    sleep: Callable[[float], None] = time.sleep,
    session_factory: SessionFactory | None = None,
) -> SourceResult:
    """One pass of one source from the registry; a disabled source is skipped (no run row)."""
    collector = COLLECTORS.get(name)
    if collector is None:
        raise UsageError(f"unknown source {name!r}: use one of {', '.join(COLLECTORS)}")
    if not source_enabled(config, name):
        return SourceResult(source=name, status="skipped")
    ctx = SourceContext(
        config=config,
        engine=engine,
        calendar=calendar or CampaignCalendar(config.campaign),
        sleep=sleep,
        session_factory=session_factory or make_session,
    )
    return collector(ctx)


# ---------------------------------------------------------------------------------------------------------
# The API sources


def _collect_twitter(ctx: SourceContext) -> SourceResult:
    cfg = ctx.config.sources.twitter

    def body(session: requests.Session, token: str, store: _PageStore) -> None:
        state = load_checkpoint(ctx.engine, twitter.SOURCE)
        clock = ctx.calendar.now
        search_cfg = replace(cfg, query=twitter_query(ctx.config))
        store.all(
            twitter.recent_search_pages(session, search_cfg, token, state, sleep=ctx.sleep, clock=clock)
        )
        # Search only brings tweets newer than the last pass: refresh the metrics of the older ones.
        stale = tweets_to_refresh(ctx.engine, ctx.config.campaign, clock())
        if stale:
            store.all(twitter.refresh_pages(session, cfg, token, stale, sleep=ctx.sleep, clock=clock))

    return _api_pass(ctx, "twitter", cfg.api_base, cfg.token_env, body)


def twitter_query(config: Config) -> str:
    """sources.twitter.query when set; else built from the campaign's and the peers' hashtags within
    sources.twitter.max_query_length (peers that do not fit are left out, with a warning)."""
    cfg = config.sources.twitter
    if cfg.query:
        return cfg.query
    peers = [peer.hashtags for peer in config.peers]
    query, left_out = twitter.build_query(config.campaign.hashtags, peers, cfg.max_query_length)
    if left_out:
        log.warning(
            "x_api: the query would pass %d characters with %s; those tags are not searched "
            "(raise sources.twitter.max_query_length if the X plan allows longer queries)",
            cfg.max_query_length,
            " ".join("#" + tag for tag in left_out),
        )
    return query


def tweets_to_refresh(engine: Engine, campaign: CampaignConfig, now: dt.datetime) -> list[str]:
    """Ids of the campaign tweets (DESIGN 5: tracked tag, window, no retweet) and of the [[peers]]'
    tweets, posted in the last REFRESH_DAYS and not seen by any source for REFRESH_AFTER, newest
    first, at most twitter.MAX_REFRESH_TWEETS.

    Engagement settles within days; REFRESH_AFTER keeps a tweet from being re-read (and paid for) on
    every pass: at most REFRESH_DAYS * 24 h / REFRESH_AFTER reads per tweet.
    """
    since = now - REFRESH_DAYS
    scope = ReportScope(campaign, since.astimezone(campaign.tz).date(), now.astimezone(campaign.tz).date())
    tracked = campaign_filter(scope)
    if campaign.peer_hashtags:
        # The peers' tweets too: the share-of-voice section compares their interactions with ours.
        peer = select(PostHashtag.post_id).where(PostHashtag.tag.in_(sorted(campaign.peer_hashtags)))
        in_window = and_(Post.local_date >= scope.first, Post.local_date <= scope.last, ~Post.is_repost)
        tracked = or_(tracked, and_(in_window, Post.id.in_(peer)))
    query = (
        select(Post.post_key)
        .where(
            Post.platform == "twitter",
            tracked,
            Post.created_at >= since,
            Post.last_seen_at < now - REFRESH_AFTER,
        )
        .order_by(Post.created_at.desc())
        .limit(twitter.MAX_REFRESH_TWEETS)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _collect_instagram(ctx: SourceContext) -> SourceResult:
    cfg = ctx.config.sources.instagram

    def body(session: requests.Session, token: str, store: _PageStore) -> None:
        state = load_checkpoint(ctx.engine, instagram.SOURCE)
        # The peers' tags too, after the campaign's: the share-of-voice section needs their posts.
        tags = tuple(ctx.config.campaign.hashtags) + tuple(t for p in ctx.config.peers for t in p.hashtags)
        store.all(instagram.hashtag_pages(session, cfg, token, tags, state, now=ctx.calendar.now()))

    return _api_pass(ctx, "instagram", cfg.api_base, cfg.token_env, body)


def _collect_facebook(ctx: SourceContext) -> SourceResult:
    cfg = ctx.config.sources.facebook
    campaign = ctx.config.campaign
    since = ctx.calendar.local_midnight(campaign.start)
    # The end of the last local day plus a day of margin: after the campaign a pass re-reads the
    # window's posts (their metrics) instead of paging through everything the page posts later.
    until = ctx.calendar.local_midnight(campaign.end + dt.timedelta(days=2))

    def body(session: requests.Session, token: str, store: _PageStore) -> None:
        for page_id in cfg.pages:
            try:
                store.all(facebook.page_posts(session, cfg, token, page_id, since, until))
            except (TokenError, RateLimited):
                raise  # the same token and limits apply to every page: stop here
            except SourceError as exc:
                # One page failing (wrong id, no permission) must not cost the other pages; the pass
                # logs it with the others at the end.
                store.fail(exc, f"page {page_id}: ")

    return _api_pass(ctx, "facebook", cfg.api_base, cfg.token_env, body)


def _collect_threads(ctx: SourceContext) -> SourceResult:
    cfg = ctx.config.sources.threads
    campaign = ctx.config.campaign
    since = ctx.calendar.local_midnight(campaign.start)
    until = ctx.calendar.local_midnight(campaign.end + dt.timedelta(days=1))

    def body(session: requests.Session, token: str, store: _PageStore) -> None:
        state = load_checkpoint(ctx.engine, threads.SOURCE)
        pages = threads.keyword_pages(
            session, cfg, token, campaign.hashtags, state, now=ctx.calendar.now(), since=since, until=until
        )
        store.all(pages)

    return _api_pass(ctx, "threads", cfg.api_base, cfg.token_env, body)


COLLECTORS: dict[str, CollectorFn] = {
    "twitter": _collect_twitter,
    "instagram": _collect_instagram,
    "facebook": _collect_facebook,
    "threads": _collect_threads,
}


class _PageStore:
    """Stores fetched pages of one run, each in its own transaction, and counts what happened."""

    def __init__(self, ctx: SourceContext, name: str, run_id: int, token: str) -> None:
        self.ctx, self.name, self.run_id, self.token = ctx, name, run_id, token
        self.checkpoint_source = RUN_SOURCES[name]
        self.result = SourceResult(source=name, status="ok", run_id=run_id)
        self.errors: list[str] = []
        self.rule = CampaignRule(ctx.config.campaign)

    def fail(self, exc: BaseException | str, context: str = "") -> None:
        """Note an error for the run. Collectors start their messages with the source name; the run
        row names its source and the log line adds it, so it is dropped here to say it once."""
        message = str(exc).removeprefix(f"{self.checkpoint_source}: ")
        self.errors.append(context + message)

    def all(self, pages: Iterable[ApiPage]) -> None:
        # Advancing the generator does the HTTP call; write_batch opens its transaction only after.
        for page in pages:
            self.store(page)

    def store(self, page: ApiPage) -> None:
        rejections = [
            Rejection(file=page.url, line=None, reason=reason, raw=redact(raw, [self.token]))
            for reason, raw in page.rejected
        ]
        records = []
        for record in page.records:
            problem = record_problem(record)
            if problem is None:
                records.append(record)
            else:  # one impossible item is one reject; the rest of the page is stored
                rejections.append(
                    Rejection(
                        file=page.url,
                        line=None,
                        reason=problem,
                        raw=redact(repr(record)[:1000], [self.token]),
                    )
                )
        counts = write_batch(
            self.ctx.engine,
            self.run_id,
            records,
            self.ctx.config.campaign.tz,
            rejections=rejections,
            checkpoint=(self.checkpoint_source, page.checkpoint) if page.checkpoint is not None else None,
            observed=page.fetched_at,
        )
        tally = self.result.tally
        tally.rejected += counts.rejected
        for rec in page.records:
            why = self.rule.reason(rec)
            if why is not None:
                self.rule.count(tally, why)
            elif (rec.platform, rec.post_key) in counts.unchanged_keys:
                tally.known += 1
            elif (rec.platform, rec.post_key) in counts.older_keys:
                tally.older += 1
            else:
                tally.campaign += 1
        if page.of_posts:  # a hashtag look-up is stored for its checkpoint, not counted as a page
            self.result.pages += 1
        self.result.new += counts.new
        self.result.updated += counts.updated
        self.result.rejected += counts.rejected


def _api_pass(
    ctx: SourceContext,
    name: str,
    api_base: str,
    token_env: str,
    body: Callable[[requests.Session, str, _PageStore], None],
) -> SourceResult:
    """Run `body` as one recorded pass: token from the environment, a fresh session, final status."""
    run_source = RUN_SOURCES[name]
    # The run's times come from the calendar's clock (time is an input: silence alerts and the
    # digest's per-source lines read them).
    run_id = start_run(ctx.engine, run_source, api_base, now=ctx.calendar.now())
    token = os.environ.get(token_env, "").strip()
    store = _PageStore(ctx, name, run_id, token)
    status = "ok"
    try:
        if not token:
            raise SourceError(
                f"{run_source}: the environment variable {token_env} is not set: put the access token "
                "there (see docs/sources.md)"
            )
        with ctx.session_factory() as session:
            body(session, token, store)
    except RateLimited as exc:
        status = "rate_limited"
        store.fail(exc)
    except SourceError as exc:
        store.fail(exc)
    except Exception as exc:
        # A bug, or an answer no check foresaw: record it and let the next source run. The pages
        # already stored stay; -v shows the traceback.
        status = "failed"
        store.fail(f"unexpected error: {type(exc).__name__}: {exc}")
        trace = redact("".join(traceback.format_exception(exc)), [token])
        log.debug("%s: unexpected error\n%s", run_source, trace)
    except BaseException as exc:
        # Ctrl-C or SIGTERM: the pages already stored stay; the run row must not stay "running".
        error = redact(f"{type(exc).__name__}: {exc}", [token])
        finish_run(ctx.engine, run_id, "failed", error, now=ctx.calendar.now())
        raise
    result = store.result
    if status == "ok" and store.errors:
        status = "partial" if result.pages else "failed"
    result.status = status
    result.error = redact("; ".join(store.errors), [token]) or None
    result.counted = store.rule.describe(result.tally, "retweet" if name == "twitter" else "repost")
    finish_run(
        ctx.engine,
        run_id,
        status,
        result.error,
        pages=result.pages,
        counted=result.counted,
        now=ctx.calendar.now(),
    )
    if result.error:
        log.warning("%s: %s", run_source, result.error)
    log.info(
        "%s: %s, %d pages, %d new, %d updated; %s",
        run_source,
        status,
        result.pages,
        result.new,
        result.updated,
        result.counted,
    )
    return result
