"""Threads keyword-search collector against a real HTTP server on 127.0.0.1 and a real SQLite file:
paging, since/until, the daily query budget, checkpoints, a 429 and a failing page."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_json, db_text, fast_session, json_response
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.collect import collect
from monitor.config import Config, load_config
from monitor.models import CollectionRun, Post, PostHashtag
from monitor.store import load_checkpoint

TOKEN = "THQWsecretThreadsToken42"
SEARCH = api_json("threads/threads_api_keyword_search_DOCS_EXAMPLE.json")["data"][0]
NOW = dt.datetime(2022, 10, 1, 12, 0, tzinfo=dt.UTC)


def media(code: str, tag: str = "WeLoveProbolinggo", day: int = 20) -> dict[str, Any]:
    """A search result in the docs' shape, in the campaign window, with a topic tag."""
    item = copy.deepcopy(SEARCH)
    item.update(
        id=f"1{code}",
        text=f"Festival kota {code}",
        permalink=f"https://www.threads.net/@kim_mayangan/post/{code}",
        timestamp=f"2022-09-{day}T05:42:03+0000",
        username="kim_mayangan",
        topic_tag=tag,
    )
    return item


class ThreadsServer:
    """Answers /keyword_search per query with numbered pages (`after` = page index); `faults` maps a
    (tag, page) to an answer (429, 500) given once."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.pages: dict[str, list[list[dict[str, Any]]]] = {}
        self.faults: dict[tuple[str, int], int] = {}
        self.requests: list[dict[str, str]] = []
        httpserver.expect_request("/v1.0/keyword_search").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.requests.append(args)
        pages = self.pages.get(args["q"], [[]])
        index = int(args.get("after", "0"))
        fault = self.faults.pop((args["q"], index), None)
        if fault == 429:
            return json_response({"error": {"message": "Too many calls", "code": 4}}, 429)
        if fault:
            return json_response({"error": {"message": "Service unavailable"}}, fault)
        body: dict[str, Any] = {"data": pages[index]}
        if index + 1 < len(pages):
            body["paging"] = {"cursors": {"before": "B", "after": str(index + 1)}}
        return json_response(body)


@pytest.fixture
def server(httpserver: HTTPServer) -> ThreadsServer:
    return ThreadsServer(httpserver)


@pytest.fixture
def th_config(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("THREADS_ACCESS_TOKEN", TOKEN)
    base = httpserver.url_for("/v1.0")
    return load_config(
        write_config(f'[sources.threads]\nenabled = true\napi_base = "{base}"\ndaily_queries = 12\n')
    )


def run(config: Config, engine: Engine, now: dt.datetime = NOW) -> Any:
    calendar = CampaignCalendar(config.campaign, fixed_clock(now))
    (result,) = collect(config, engine, calendar, source="threads", session_factory=fast_session)
    return result


def keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Post.post_key).order_by(Post.post_key)).scalars())


def test_pages_are_followed_and_stored(th_config: Config, engine: Engine, server: ThreadsServer) -> None:
    server.pages["WeLoveProbolinggo"] = [[media("AAA01"), media("AAA02")], [media("AAA03")]]
    server.pages["welovecities"] = [[media("AAA02", tag="WeLoveCities"), media("BBB01", tag="WeLoveCities")]]
    result = run(th_config, engine)
    assert (result.status, result.pages, result.new) == ("ok", 3, 4)
    assert keys(engine) == ["AAA01", "AAA02", "AAA03", "BBB01"]
    first = server.requests[0]
    assert (first["q"], first["search_type"], first["search_mode"]) == ("WeLoveProbolinggo", "RECENT", "TAG")
    # since = the campaign's first local midnight; until = now (before the campaign's end)
    assert int(first["since"]) == int(dt.datetime(2022, 9, 18, 17, 0, tzinfo=dt.UTC).timestamp())
    assert int(first["until"]) == int(NOW.timestamp())
    assert server.requests[1]["after"] == "1"
    with engine.connect() as conn:
        columns = (Post.id, Post.platform, Post.author_handle, Post.likes, Post.url)
        post = conn.execute(select(*columns).where(Post.post_key == "AAA02")).one()
        tags = set(conn.execute(select(PostHashtag.tag).where(PostHashtag.post_id == post.id)).scalars())
    assert (post.platform, post.author_handle, post.likes) == ("threads", "kim_mayangan", None)  # no counts
    assert post.url == "https://www.threads.com/@kim_mayangan/post/AAA02"
    assert tags == {"weloveprobolinggo", "welovecities"}  # topic tags of both searches
    assert TOKEN not in db_text(engine)


def test_the_next_pass_asks_only_for_newer_posts(
    th_config: Config, engine: Engine, server: ThreadsServer
) -> None:
    server.pages["WeLoveProbolinggo"] = [[media("AAA01")]]
    run(th_config, engine)
    server.requests.clear()
    later = NOW + dt.timedelta(hours=2)
    run(th_config, engine, later)
    assert int(server.requests[0]["since"]) == int(NOW.timestamp())
    assert int(server.requests[0]["until"]) == int(later.timestamp())


def test_a_429_keeps_the_pages_and_the_next_run_resumes(
    th_config: Config, engine: Engine, server: ThreadsServer
) -> None:
    server.pages["WeLoveProbolinggo"] = [[media("AAA01")], [media("AAA02")], [media("AAA03")]]
    server.faults[("WeLoveProbolinggo", 1)] = 429
    result = run(th_config, engine)
    assert (result.status, result.pages) == ("rate_limited", 1)
    assert "rate limited" in result.error and TOKEN not in result.error
    assert keys(engine) == ["AAA01"]
    state = load_checkpoint(engine, "threads_api")
    assert state["resume"]["weloveprobolinggo"]["after"] == "1"
    server.requests.clear()
    result = run(th_config, engine, NOW + dt.timedelta(minutes=30))
    assert result.status == "ok"
    assert keys(engine) == ["AAA01", "AAA02", "AAA03"]
    # resumed at the cursor, within the first pass's window
    assert server.requests[0]["after"] == "1"
    assert int(server.requests[0]["until"]) == int(NOW.timestamp())


def test_a_failing_page_is_a_partial_run(th_config: Config, engine: Engine, server: ThreadsServer) -> None:
    server.pages["WeLoveProbolinggo"] = [[media("AAA01")], [media("AAA02")]]
    server.faults[("WeLoveProbolinggo", 1)] = 500  # given once: the session's retry gets it again
    server.faults[("welovecities", 0)] = 400
    result = run(th_config, engine)
    assert result.status == "partial"
    assert "HTTP 400" in result.error
    with engine.connect() as conn:
        status = conn.execute(select(CollectionRun.status).where(CollectionRun.id == result.run_id)).scalar()
    assert status == "partial"
    assert keys(engine) == ["AAA01", "AAA02"]  # the 500 was retried; the 400 stopped the pass


def test_the_daily_query_budget(th_config: Config, engine: Engine, server: ThreadsServer) -> None:
    server.pages["WeLoveProbolinggo"] = [[media(f"P{i:04d}")] for i in range(20)]  # 20 pages, budget 12
    result = run(th_config, engine)
    assert (result.status, result.pages) == ("rate_limited", 12)
    assert "12 queries in the last 24 hours reach daily_queries = 12" in result.error
    assert len(server.requests) == 12
    # Within the same 24 hours nothing more is asked
    result = run(th_config, engine, NOW + dt.timedelta(hours=1))
    assert (result.status, len(server.requests)) == ("rate_limited", 12)
    # A day later the budget is back and the listing continues where it stopped
    result = run(th_config, engine, NOW + dt.timedelta(hours=25))
    assert result.status == "ok"
    assert len(keys(engine)) == 20


def test_a_search_item_without_a_code_is_rejected_alone(
    th_config: Config, engine: Engine, server: ThreadsServer
) -> None:
    broken = media("AAA02")
    broken.update(permalink=None, shortcode=None)
    server.pages["WeLoveProbolinggo"] = [[media("AAA01"), broken]]
    result = run(th_config, engine)
    assert (result.status, result.new, result.rejected) == ("ok", 1, 1)


def test_a_missing_token_says_where_to_put_it(
    th_config: Config, engine: Engine, server: ThreadsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THREADS_ACCESS_TOKEN")
    result = run(th_config, engine)
    assert result.status == "failed"
    assert "THREADS_ACCESS_TOKEN is not set" in result.error
