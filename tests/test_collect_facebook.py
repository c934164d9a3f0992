"""Facebook page-posts collector against a real HTTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_json, db_text, fast_session
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from collectors.facebook import post_record
from monitor.campaign import CampaignCalendar
from monitor.collect import SourceResult, collect
from monitor.config import Config, load_config
from monitor.models import CollectionRun, MetricSnapshot, Post, PostHashtag, RejectedRow

TOKEN = "EAAPagesSECRETtoken4455"
PAGE = "123456789012345"
POSTS = api_json("fb_page_posts.json")
ERRORS = api_json("graph_errors.json")


@pytest.fixture
def fb_config(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    base = httpserver.url_for("/v21.0")
    return load_config(
        write_config(
            f'[sources.facebook]\nenabled = true\npages = ["{PAGE}", "999", "555"]\napi_base = "{base}"\n'
        )
    )


def run(cfg: Config, engine: Engine, calendar: CampaignCalendar) -> SourceResult:
    [result] = collect(cfg, engine, calendar, source="facebook", session_factory=fast_session)
    return result


def rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            r.post_key: r for r in conn.execute(select(Post.__table__).where(Post.platform == "facebook"))
        }


def serve_pages(httpserver: HTTPServer, seen: list[dict[str, list[str]]], first: dict[str, Any]) -> None:
    """Page PAGE has two result pages; page 999 does not exist; page 555 has one post."""

    def handle(request: Request) -> Response:
        seen.append(request.args.to_dict(flat=False))
        if request.args.get("after") == "2":
            body: dict[str, Any] = {
                "data": [
                    {
                        "id": f"{PAGE}_555000000000001",
                        "message": "Ayo vote! #WeLoveCities",
                        "created_time": "2022-09-25T01:00:00+0000",
                        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/555000000000001",
                        "reactions": {"summary": {"total_count": 3}},
                        "comments": {"summary": {"total_count": 1}},
                        "shares": {"count": 2},
                    }
                ]
            }
        else:
            body = copy.deepcopy(first)
            body["paging"]["next"] = (
                httpserver.url_for(f"/v21.0/{PAGE}/posts") + f"?after=2&access_token={TOKEN}"
            )
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(f"/v21.0/{PAGE}/posts").respond_with_handler(handle)
    missing = {
        "error": {
            "message": "(#100) Object with ID '999' does not exist",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": "AbCd",
        }
    }
    httpserver.expect_request("/v21.0/999/posts").respond_with_json(missing, status=400)
    other = {
        "data": [
            {
                "id": "555_777",
                "message": "Kampung wisata #WeLoveProbolinggo",
                "created_time": "2022-10-01T02:00:00+0000",
                "permalink_url": "https://www.facebook.com/permalink.php?story_fbid=777&id=555",
            }
        ]
    }
    httpserver.expect_request("/v21.0/555/posts").respond_with_json(other)


def test_pages_are_collected_and_one_failing_page_does_not_stop_the_others(
    fb_config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[dict[str, list[str]]] = []
    serve_pages(httpserver, seen, POSTS)
    result = run(fb_config, engine, calendar)

    assert result.status == "partial"  # exit 1 for the run, the good pages kept
    assert result.new == 4 and result.pages == 3
    assert "page 999" in (result.error or "") and "does not exist" in (result.error or "")
    assert "page 555" not in (result.error or "")
    # Said once: no source name repeated inside the message, one log line for the failing page.
    assert (result.error or "").startswith("page 999: http://") and "facebook_api" not in (result.error or "")
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "999" in r.getMessage()
    ]
    assert warnings == [f"facebook_api: {result.error}"]

    first = seen[0]
    assert first["access_token"] == [TOKEN]
    assert "reactions.summary(total_count).limit(0)" in first["fields"][0]
    assert first["since"] == [str(int(calendar.local_midnight(fb_config.campaign.start).timestamp()))]
    # Until the end of 31 October plus a day of margin (2 Nov 00:00 WIB), so that after the campaign
    # a pass only re-reads the window.
    assert first["until"] == [str(int(dt.datetime(2022, 11, 2, tzinfo=fb_config.campaign.tz).timestamp()))]
    assert seen[1]["access_token"] == [TOKEN] and seen[1]["after"] == ["2"]  # paging.next followed

    stored = rows(engine)
    assert set(stored) == {"987654321098765", "987654321000001", "555000000000001", "777"}
    fest = stored["987654321098765"]  # `<page>_<post>` -> `<post>`
    assert (fest.likes, fest.comments, fest.shares) == (1204, 88, 57)
    assert (fest.author_id, fest.author_handle) == (PAGE, "kotaprobolinggo")
    assert fest.url == "https://www.facebook.com/kotaprobolinggo/posts/987654321098765"
    quiet = stored["987654321000001"]
    assert quiet.text is None and quiet.shares == 0  # no message, never shared: shares omitted = 0
    # A numeric path segment is an id, not a handle; the page's handle is learned from its other post.
    assert post_record(POSTS["data"][1], PAGE).author_handle is None
    assert quiet.author_handle == "kotaprobolinggo"
    no_metrics = stored["777"]
    assert (no_metrics.likes, no_metrics.comments, no_metrics.author_id) == (None, None, "555")
    with engine.connect() as conn:
        tags = set(conn.execute(select(PostHashtag.tag).where(PostHashtag.post_id == fest.id)).scalars())
        run_row = conn.execute(select(CollectionRun.__table__)).one()
    assert tags == {"weloveprobolinggo", "welovecities"}
    assert (run_row.source, run_row.status, run_row.pages) == ("facebook_api", "partial", 3)
    assert "page 999" in run_row.error


def test_a_post_seen_again_updates_metrics_and_adds_a_snapshot(
    fb_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    serve_pages(httpserver, [], POSTS)
    run(fb_config, engine, calendar)
    httpserver.clear()
    later = copy.deepcopy(POSTS)
    later["data"][0]["reactions"]["summary"]["total_count"] = 1500
    later["data"][0]["shares"]["count"] = 60
    serve_pages(httpserver, [], later)
    again = run(fb_config, engine, calendar)

    assert (again.new, again.updated) == (0, 1)
    fest = rows(engine)["987654321098765"]
    assert (fest.likes, fest.shares) == (1500, 60)
    with engine.connect() as conn:
        history = conn.execute(
            select(MetricSnapshot.likes, MetricSnapshot.shares)
            .where(MetricSnapshot.post_id == fest.id)
            .order_by(MetricSnapshot.id)
        ).all()
    assert [tuple(h) for h in history] == [(1204, 57), (1500, 60)]


def test_an_expired_token_stops_all_pages_without_leaking(
    fb_config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    expired = {
        "error": {
            "message": f"Error validating access token: Session has expired (token {TOKEN})",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AbCd",
        }
    }
    httpserver.expect_request(f"/v21.0/{PAGE}/posts").respond_with_json(expired, status=400)
    result = run(fb_config, engine, calendar)

    assert result.status == "failed"
    assert "the access token expired or is invalid: make a new one" in (result.error or "")
    assert [entry[0].path for entry in httpserver.log] == [f"/v21.0/{PAGE}/posts"]  # other pages not tried
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "facebook_api" in ours
    for place in (result.error or "", ours, db_text(engine)):
        assert TOKEN not in place


def test_a_page_request_limit_ends_the_run_as_rate_limited(
    fb_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    limited = ERRORS["rate_limit_code_32_SYNTHETIC_message_text"]
    usage = json.dumps({PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 15}]})
    httpserver.expect_request(f"/v21.0/{PAGE}/posts").respond_with_json(
        limited, status=400, headers={"X-Business-Use-Case-Usage": usage}
    )
    result = run(fb_config, engine, calendar)
    assert result.status == "rate_limited"
    assert "Page request limit reached" in (result.error or "")
    assert "rate limited until 20" in (result.error or "")  # the time Meta says access returns


def test_bad_items_are_rejected_and_a_page_of_another_shape_fails_only_that_page(
    fb_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    odd = {**POSTS["data"][0], "message": {"text": "?"}}
    httpserver.expect_request(f"/v21.0/{PAGE}/posts").respond_with_json(
        {"data": [None, 7, odd, POSTS["data"][1]]}
    )
    httpserver.expect_request("/v21.0/999/posts").respond_with_json({"data": {"id": "1"}, "paging": []})
    httpserver.expect_request("/v21.0/555/posts").respond_with_json({"data": [], "paging": "nope"})
    result = run(fb_config, engine, calendar)

    assert (result.status, result.pages, result.new, result.rejected) == ("partial", 1, 1, 3)
    assert (result.error or "").startswith("page 999: http://")
    assert "/v21.0/999/posts answered an unexpected page: 'data' is dict, not a list" in (result.error or "")
    assert "page 555: " in (result.error or "") and "'paging' is str, not an object" in (result.error or "")
    with engine.connect() as conn:
        reasons = list(conn.execute(select(RejectedRow.reason).order_by(RejectedRow.id)).scalars())
    assert reasons == [
        "item is not a JSON object (NoneType)",
        "item is not a JSON object (int)",
        "'message' is not text (dict)",
    ]
