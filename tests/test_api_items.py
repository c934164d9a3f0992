"""One malformed API item is one reject (issue 10, part 6): X against a real server on 127.0.0.1, and
the Instagram and Facebook mappings through the same check the page store applies."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from api_helpers import api_json, fast_session, json_response
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from collectors import facebook, instagram
from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.collect import collect
from monitor.config import load_config
from monitor.models import Post, RejectedRow
from monitor.plausible import record_problem
from monitor.records import PostRecord

TOKEN = "AAAAAAAAAAAAAAAAAAAAAXbearerSECRETxyz%2Fq"
WIB = dt.timezone(dt.timedelta(hours=7))


def hostile_page() -> dict:
    page = copy.deepcopy(api_json("x_search_page1.json"))
    good = page["data"][0]
    items = []
    for i, change in enumerate(
        [
            {},  # the good one
            {"created_at": "0001-01-01T00:00:00.000Z"},
            {"public_metrics": {"like_count": 10**20, "reply_count": 1}},
            {"public_metrics": {"like_count": "many", "reply_count": 1}},
            {"public_metrics": {"like_count": [1, 2], "reply_count": 1}},
            {"text": {"nested": "object"}},
        ]
    ):
        item = {**copy.deepcopy(good), **change, "id": f"1576100000000000{100 + i}"}
        items.append(item)
    page["data"] = items
    page["meta"].pop("next_token")
    return page


def test_malformed_tweets_are_rejected_alone_and_the_page_is_stored(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    config = load_config(
        write_config(f'[sources.twitter]\nenabled = true\napi_base = "{httpserver.url_for("")}"\n')
    )
    httpserver.expect_request("/2/tweets/search/recent").respond_with_response(json_response(hostile_page()))
    httpserver.expect_request("/2/tweets").respond_with_response(json_response({"data": []}))
    from monitor.db import open_engine

    engine = open_engine(config.storage.url)
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 2, 9, 0, tzinfo=WIB)))
    [result] = collect(
        config, engine, calendar, source="twitter", sleep=lambda s: None, session_factory=fast_session
    )
    with engine.connect() as conn:
        stored = [r.post_key for r in conn.execute(select(Post.post_key))]
        reasons = [r.reason for r in conn.execute(select(RejectedRow.reason))]
    engine.dispose()
    assert stored == ["1576100000000000100"]
    assert result.rejected == 5 and len(reasons) == 5
    joined = "\n".join(reasons)
    for key in ("101", "102", "103", "104"):
        assert f"item 1576100000000000{key}" in joined
    assert "not a post time" in joined and "not a possible count" in joined and "is not a count" in joined
    assert "text is a dict" in joined or "unreadable tweet" in joined
    assert TOKEN not in joined


def test_malformed_instagram_and_facebook_items_are_named_with_their_reason() -> None:
    base = {
        "permalink": "https://www.instagram.com/p/Cabc123/",
        "caption": "#WeLoveProbolinggo",
        "timestamp": "2022-10-01T03:15:00+0000",
        "like_count": 5,
        "comments_count": 1,
    }
    for change, words in [
        ({"timestamp": "0001-01-01T00:00:00+0000"}, "not a post time"),
        ({"like_count": 10**15}, "not a possible count"),
        ({"comments_count": -3}, "not a possible count"),
    ]:
        record = instagram.media_record({**base, **change}, "welovecities")
        assert isinstance(record, PostRecord)
        problem = record_problem(record)
        assert problem and "item Cabc123" in problem and words in problem
    post = copy.deepcopy(api_json("fb_page_posts.json")["data"][0])
    post["reactions"]["summary"]["total_count"] = 10**13
    record = facebook.post_record(post, "123456789012345")
    assert isinstance(record, PostRecord)
    problem = record_problem(record)
    assert problem and "item 987654321098765" in problem and "not a possible count" in problem
    assert record_problem(instagram.media_record(base, "welovecities")) is None  # type: ignore[arg-type]
