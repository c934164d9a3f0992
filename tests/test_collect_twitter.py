"""X recent search collector against a real HTTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_json, db_text, fast_session, json_response
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from collectors import twitter
from monitor.campaign import CampaignCalendar
from monitor.collect import collect
from monitor.config import Config, load_config
from monitor.models import CollectionRun, MetricSnapshot, Post, PostHashtag, RejectedRow
from monitor.records import PostRecord
from monitor.store import load_checkpoint, save_checkpoint, start_run, write_batch

TOKEN = "AAAAAAAAAAAAAAAAAAAAAXbearerSECRETxyz%2Fq"
SEARCH = "/2/tweets/search/recent"
LOOKUP = "/2/tweets"
EMPTY = api_json("x_search_empty.json")
PAGE1, PAGE2 = (
    api_json("x_search_page1.json"),
    api_json("x_search_page2.json"),
)
NEXT = PAGE1["meta"]["next_token"]


@pytest.fixture
def x_config(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    path = write_config(
        f'[sources.twitter]\nenabled = true\napi_base = "{httpserver.url_for("")}"\nmax_wait_seconds = 60\n'
    )
    return load_config(path)


class Recorder:
    """Replays pages by request; remembers the query of every request and every sleep."""

    def __init__(self) -> None:
        self.queries: list[dict[str, str]] = []
        self.auth: list[str] = []
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def handler(self, answer: Callable[[dict[str, str]], Response]) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            query = dict(request.args)
            self.queries.append(query)
            self.auth.append(request.headers.get("Authorization", ""))
            return answer(query)

        return handle


def two_pages(query: dict[str, str]) -> Response:
    return json_response(PAGE2 if query.get("next_token") == NEXT else PAGE1)


def run(cfg: Config, engine: Engine, calendar: CampaignCalendar, rec: Recorder):  # type: ignore[no-untyped-def]
    [result] = collect(cfg, engine, calendar, source="twitter", sleep=rec.sleep, session_factory=fast_session)
    return result


def posts(engine: Engine) -> dict[str, Post]:
    with engine.connect() as conn:
        return {r.post_key: r for r in conn.execute(select(Post.__table__).where(Post.platform == "twitter"))}


def test_a_pass_follows_next_token_and_maps_tweets(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(two_pages))
    result = run(x_config, engine, calendar, rec)

    assert (result.status, result.pages, result.new, result.updated, result.error) == ("ok", 2, 3, 0, None)
    first = rec.queries[0]
    # Without sources.twitter.query, the query is built from the campaign's tags as config.toml spells
    # them (X matches hashtags case-insensitively).
    assert first["query"] == "(#WeLoveProbolinggo OR #welovecities)"
    assert first["max_results"] == "100" and first["expansions"] == "author_id"
    assert "referenced_tweets" in first["tweet.fields"] and "public_metrics" in first["tweet.fields"]
    assert first["user.fields"] == "username,name"
    assert "since_id" not in first and "next_token" not in first
    assert rec.queries[1]["next_token"] == NEXT
    assert rec.auth == [f"Bearer {TOKEN}"] * 2

    stored = posts(engine)
    tweet = stored["1576100000000000003"]
    assert (tweet.likes, tweet.comments, tweet.shares, tweet.views) == (145, 3, 13, 5321)
    assert (tweet.author_handle, tweet.author_name) == ("contoh_kominfo", "Dinas Kominfo (contoh)")
    assert tweet.url == "https://x.com/contoh_kominfo/status/1576100000000000003"
    assert tweet.local_date == dt.date(2022, 10, 1) and tweet.source == "x_api"
    assert not tweet.is_repost
    assert stored["1576100000000000002"].is_repost  # a retweet: kept, but not a campaign post
    older = stored["1576100000000000001"]
    assert older.views is None and older.shares == 2  # no impression_count: unknown, not 0
    with engine.connect() as conn:
        tags = set(conn.execute(select(PostHashtag.tag).where(PostHashtag.post_id == tweet.id)).scalars())
        run_row = conn.execute(select(CollectionRun.__table__).where(CollectionRun.id == result.run_id)).one()
    assert tags == {"weloveprobolinggo", "welovecities"}
    assert (run_row.source, run_row.status, run_row.pages, run_row.rows_new) == ("x_api", "ok", 2, 3)
    assert run_row.target == x_config.sources.twitter.api_base
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000003"}


def test_the_next_pass_asks_only_for_newer_tweets(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(two_pages))
    run(x_config, engine, calendar, rec)
    httpserver.clear()
    empty = api_json("x_search_empty.json")  # no `data` key at all
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(lambda q: json_response(empty)))

    result = run(x_config, engine, calendar, rec)
    assert (result.status, result.pages, result.new) == ("ok", 1, 0)
    assert rec.queries[-1]["since_id"] == "1576100000000000003"
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000003"}  # kept, not erased


def test_a_near_rate_limit_reset_is_waited_for(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    reset = int(calendar.now().timestamp()) + 5
    body = api_json("x_429.json")
    limited = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    httpserver.expect_ordered_request(SEARCH).respond_with_json(body, status=429, headers=limited)
    httpserver.expect_ordered_request(SEARCH).respond_with_json(PAGE2)
    rec = Recorder()
    result = run(x_config, engine, calendar, rec)

    assert (result.status, result.new) == ("ok", 1)
    assert rec.sleeps == [pytest.approx(6.0)]  # until the reset, plus a second of margin
    assert len(httpserver.log) == 2


def test_a_far_reset_saves_the_checkpoint_and_the_next_run_resumes(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    reset = int(calendar.now().timestamp()) + 900
    body = api_json("x_429.json")

    def first_run(query: dict[str, str]) -> Response:
        if query.get("next_token") == NEXT:
            return json_response(body, 429, {"x-rate-limit-reset": str(reset)})
        return json_response(PAGE1)

    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(first_run))
    result = run(x_config, engine, calendar, rec)

    assert (result.status, result.pages, result.new) == ("rate_limited", 1, 2)
    assert rec.sleeps == []
    assert "rate limited until 2022-10-01T05:15:00+00:00" in (result.error or "")
    assert load_checkpoint(engine, "x_api") == {"next_token": NEXT, "newest_id": "1576100000000000003"}
    with engine.connect() as conn:
        status = conn.execute(select(CollectionRun.status).where(CollectionRun.id == result.run_id)).scalar()
    assert status == "rate_limited"

    httpserver.clear()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(two_pages))
    again = run(x_config, engine, calendar, rec)
    assert (again.status, again.pages, again.new) == ("ok", 1, 1)
    assert rec.queries[-1]["next_token"] == NEXT  # continued, did not start over
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000003"}
    assert len(posts(engine)) == 3


def test_a_run_killed_mid_pass_keeps_its_pages_and_resumes(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    reset = int(calendar.now().timestamp()) + 5

    def pages(query: dict[str, str]) -> Response:
        if query.get("next_token") == NEXT:
            return json_response({"title": "Too Many Requests"}, 429, {"x-rate-limit-reset": str(reset)})
        return json_response(PAGE1)

    httpserver.expect_request(SEARCH).respond_with_handler(Recorder().handler(pages))

    def killed(seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) while waiting for the rate limit

    with pytest.raises(KeyboardInterrupt):
        collect(x_config, engine, calendar, source="twitter", sleep=killed, session_factory=fast_session)
    assert len(posts(engine)) == 2
    assert load_checkpoint(engine, "x_api")["next_token"] == NEXT
    with engine.connect() as conn:
        assert conn.execute(select(CollectionRun.status)).scalar() == "failed"  # not left "running"

    httpserver.clear()
    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(two_pages))
    result = run(x_config, engine, calendar, rec)
    assert (result.status, result.new) == ("ok", 1)
    assert len(rec.queries) == 1 and rec.queries[0]["next_token"] == NEXT  # resumed at page 2


def test_503_then_success(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request(SEARCH).respond_with_data("upstream busy", status=503)
    httpserver.expect_ordered_request(SEARCH).respond_with_json(PAGE2)
    result = run(x_config, engine, calendar, Recorder())
    assert (result.status, result.new) == ("ok", 1)


def test_an_error_after_some_pages_is_partial_and_keeps_them(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    def pages(query: dict[str, str]) -> Response:
        if query.get("next_token") == NEXT:
            return json_response({"title": "Service Unavailable"}, 503)
        return json_response(PAGE1)

    httpserver.expect_request(SEARCH).respond_with_handler(Recorder().handler(pages))
    result = run(x_config, engine, calendar, Recorder())
    assert (result.status, result.pages, result.new) == ("partial", 1, 2)
    assert "HTTP 503" in (result.error or "")
    assert load_checkpoint(engine, "x_api")["next_token"] == NEXT


def test_missing_token_variable_fails_with_its_name(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    result = run(x_config, engine, calendar, Recorder())
    assert result.status == "failed"
    assert "X_BEARER_TOKEN is not set" in (result.error or "")
    with engine.connect() as conn:
        row = conn.execute(select(CollectionRun.__table__)).one()
    assert (row.source, row.status) == ("x_api", "failed")


def test_a_refused_token_never_shows_up_anywhere(
    x_config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(SEARCH).respond_with_json(
        {"title": "Unauthorized", "detail": f"Unauthorized: Bearer {TOKEN}", "status": 401}, status=401
    )
    result = run(x_config, engine, calendar, Recorder())
    assert result.status == "failed"
    assert "bearer token was refused" in (result.error or "") and "X_BEARER_TOKEN" in (result.error or "")
    assert (result.error or "").startswith("the bearer token was refused")  # the run row names x_api
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "x_api: the bearer token was refused" in ours and "x_api: x_api" not in ours
    for place in (result.error or "", ours, db_text(engine)):
        assert TOKEN not in place and "bearerSECRET" not in place


def test_a_stale_saved_position_starts_a_fresh_pass(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    with engine.begin() as conn:
        save_checkpoint(conn, "x_api", {"since_id": "1000"})  # older than recent search's 7 days

    def pages(query: dict[str, str]) -> Response:
        if query.get("since_id") == "1000":
            return json_response(
                {"errors": [{"message": "Invalid 'since_id': too old"}], "title": "Invalid"}, 400
            )
        return json_response(PAGE2)

    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(pages))
    result = run(x_config, engine, calendar, rec)
    assert (result.status, result.new) == ("ok", 1)
    assert "since_id" not in rec.queries[-1]
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000001"}


def test_a_refused_query_fails_with_a_hint(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(
        {"title": "Invalid Request", "detail": "bad query"}, status=400
    )
    result = run(x_config, engine, calendar, Recorder())
    assert result.status == "failed"
    assert "bad query" in (result.error or "") and "sources.twitter.query" in (result.error or "")
    assert len(httpserver.log) == 1


# ---------------------------------------------------------------------------------------------------------
# Answers of another shape, and bugs


def test_tweets_that_cannot_be_read_are_rejected_one_by_one(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    page = copy.deepcopy(PAGE2)
    page["data"] = [1, None, {**PAGE2["data"][0], "id": "5", "public_metrics": [7]}, PAGE2["data"][0]]
    httpserver.expect_request(SEARCH).respond_with_json(page)
    result = run(x_config, engine, calendar, Recorder())
    assert (result.status, result.new, result.rejected) == ("ok", 1, 3)
    with engine.connect() as conn:
        reasons = list(conn.execute(select(RejectedRow.reason)).scalars())
    assert all(reason.startswith("unreadable tweet: ") for reason in reasons)


@pytest.mark.parametrize("body", [{"data": "x"}, {"meta": ["next"]}, {"data": [], "includes": "users"}])
def test_a_page_of_another_shape_is_a_source_error(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer, body: Any
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(body)
    result = run(x_config, engine, calendar, Recorder())
    assert result.status == "failed"
    assert f"{SEARCH} answered an unexpected page" in (result.error or "")


def test_an_unexpected_error_is_a_failed_run_not_a_crash(
    x_config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def bug(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"a bug that quotes Bearer {TOKEN}")

    monkeypatch.setattr(twitter, "tweets_page", bug)
    httpserver.expect_request(SEARCH).respond_with_json(PAGE2)
    caplog.set_level(logging.DEBUG)
    result = run(x_config, engine, calendar, Recorder())  # returns instead of raising

    assert result.status == "failed"
    assert (result.error or "").startswith("unexpected error: RuntimeError: a bug that quotes Bearer ***")
    debug = [
        r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and r.name == "monitor.collect"
    ]
    assert any("Traceback (most recent call last)" in m and "in bug" in m for m in debug)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    for place in (result.error or "", ours, db_text(engine)):
        assert TOKEN not in place
    with engine.connect() as conn:
        assert conn.execute(select(CollectionRun.status)).scalar() == "failed"


# ---------------------------------------------------------------------------------------------------------
# Metrics refresh


def seed(engine: Engine, config: Config, tweets: list[tuple[PostRecord, dt.datetime]]) -> None:
    """Store tweets as if an earlier pass had seen each at the given time."""
    run_id = start_run(engine, "seed", None)
    for record, seen in tweets:
        write_batch(engine, run_id, [record], config.campaign.tz, now=seen)


def tweet(
    key: str, created: str, likes: int, tags: tuple[str, ...] = ("welovecities",), **kw: Any
) -> PostRecord:
    return PostRecord(
        platform="twitter",
        post_key=key,
        created_at=dt.datetime.fromisoformat(created),
        source="x_api",
        likes=likes,
        hashtags=frozenset(tags),
        **kw,
    )


def test_metrics_of_recent_campaign_tweets_are_refreshed(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    now = calendar.now()
    stale, fresh = now - dt.timedelta(hours=7), now - dt.timedelta(hours=1)
    seed(
        engine,
        x_config,
        [
            (tweet("1576100000000000001", "2022-09-30T23:30:00+00:00", 0), stale),  # refreshed
            (tweet("1576100000000000009", "2022-09-30T10:00:00+00:00", 4), stale),  # deleted since
            (tweet("1576100000000000010", "2022-10-01T01:00:00+00:00", 1), fresh),  # seen an hour ago
            (tweet("1574000000000000000", "2022-09-23T01:00:00+00:00", 1), stale),  # 8 days old
            (tweet("1576100000000000011", "2022-09-30T09:00:00+00:00", 1, is_repost=True), stale),
            (tweet("1576100000000000012", "2022-09-30T08:00:00+00:00", 1, tags=("other",)), stale),
        ],
    )
    with engine.begin() as conn:
        save_checkpoint(conn, "x_api", {"since_id": "1576100000000000003"})
    lookups = Recorder()
    httpserver.expect_request(SEARCH).respond_with_json(EMPTY)
    lookup = api_json("x_tweets_lookup.json")
    httpserver.expect_request(LOOKUP).respond_with_handler(lookups.handler(lambda q: json_response(lookup)))

    result = run(x_config, engine, calendar, Recorder())
    assert (result.status, result.pages, result.new, result.updated) == ("ok", 2, 0, 1)
    [query] = lookups.queries
    assert query["ids"] == "1576100000000000001,1576100000000000009"  # newest first; the others not due
    assert query["tweet.fields"] == twitter.TWEET_FIELDS and query["expansions"] == "author_id"
    assert lookups.auth == [f"Bearer {TOKEN}"]
    refreshed = posts(engine)["1576100000000000001"]
    assert (refreshed.likes, refreshed.comments, refreshed.shares) == (12, 2, 3)
    with engine.connect() as conn:
        history = conn.execute(
            select(MetricSnapshot.likes)
            .where(MetricSnapshot.post_id == refreshed.id)
            .order_by(MetricSnapshot.id)
        ).scalars()
        assert list(history) == [0, 12]
    assert posts(engine)["1576100000000000009"].likes == 4  # not found: left as stored
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000003"}  # the search position

    # Just seen: the next pass does not read (and pay for) it again; only the deleted one is asked for.
    again = run(x_config, engine, calendar, Recorder())
    assert again.status == "ok" and [q["ids"] for q in lookups.queries[1:]] == ["1576100000000000009"]


def test_a_rate_limited_refresh_keeps_the_search_pages(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    seed(
        engine,
        x_config,
        [
            (
                tweet("1576000000000000001", "2022-09-29T01:00:00+00:00", 0),
                calendar.now() - dt.timedelta(days=1),
            )
        ],
    )
    httpserver.expect_request(SEARCH).respond_with_json(PAGE2)
    reset = int(calendar.now().timestamp()) + 900
    httpserver.expect_request(LOOKUP).respond_with_json(
        api_json("x_429.json"), status=429, headers={"x-rate-limit-reset": str(reset)}
    )
    rec = Recorder()
    result = run(x_config, engine, calendar, rec)
    assert (result.status, result.pages, result.new) == ("rate_limited", 1, 1)
    assert rec.sleeps == []  # a far reset is not waited for
    assert load_checkpoint(engine, "x_api") == {"since_id": "1576100000000000001"}


def test_a_refresh_reads_at_most_ten_pages_of_a_hundred(httpserver: HTTPServer, x_config: Config) -> None:
    rec = Recorder()
    httpserver.expect_request(LOOKUP).respond_with_handler(rec.handler(lambda q: json_response({"data": []})))
    ids = [str(1576100000000005000 - i) for i in range(1050)]
    cfg = x_config.sources.twitter
    with fast_session() as session:
        pages = list(
            twitter.refresh_pages(
                session, cfg, TOKEN, ids, sleep=rec.sleep, clock=lambda: dt.datetime.now(dt.UTC)
            )
        )
    assert len(pages) == len(rec.queries) == twitter.MAX_REFRESH_CALLS == 10
    assert all(page.checkpoint is None for page in pages)
    assert (
        rec.queries[0]["ids"].split(",") == ids[:100] and rec.queries[-1]["ids"].split(",") == ids[900:1000]
    )


def test_an_api_observation_is_the_time_of_the_call(
    x_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    """DESIGN 5: a post's metrics are those of its latest observation; for an API, the call's time.
    An export observed later than the call (its file-name time) replaces them; one observed earlier
    is kept as history only."""
    rec = Recorder()
    httpserver.expect_request(SEARCH).respond_with_handler(rec.handler(two_pages))
    before = dt.datetime.now(dt.UTC)
    result = run(x_config, engine, calendar, rec)
    after = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        seen = conn.execute(
            select(Post.observed_at).where(Post.post_key == "1576100000000000003")
        ).scalar_one()
        run_row = conn.execute(
            select(CollectionRun.counted).where(CollectionRun.id == result.run_id)
        ).scalar_one()
    assert before <= seen <= after
    assert result.tally.campaign == 2 and result.tally.reposts == 1
    assert run_row == result.counted and result.counted.startswith("2 campaign posts; not counted: 1 retweet")
