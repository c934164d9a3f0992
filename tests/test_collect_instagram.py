"""Instagram hashtag-search collector against a real HTTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_json, db_text, fast_session, json_response
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from collectors.instagram import shortcode
from monitor.campaign import CampaignCalendar
from monitor.collect import SourceResult, collect
from monitor.config import Config, load_config
from monitor.models import CollectionRun, MetricSnapshot, Post, PostHashtag, RejectedRow
from monitor.store import load_checkpoint, save_checkpoint

TOKEN = "EAAGm0PBigSECRETtokenZZ9"
USER_ID = "17841405309211844"
IDS = {"WeLoveProbolinggo": "17843857450040591", "welovecities": "17841593698074073"}
RECENT = api_json("ig_recent_media.json")
ERRORS = api_json("graph_errors.json")


@pytest.fixture
def ig_config(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    base = httpserver.url_for("/v21.0")
    return load_config(
        write_config(f'[sources.instagram]\nenabled = true\nuser_id = "{USER_ID}"\napi_base = "{base}"\n')
    )


class GraphServer:
    """Answers ig_hashtag_search and the media listings; records each request's path and query."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.server = httpserver
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.listings: dict[str, list[dict[str, Any]]] = {}  # path -> pages

    def handle(self, request: Request) -> Response:
        query = request.args.to_dict(flat=False)
        self.requests.append((request.path, query))
        if request.path.endswith("/ig_hashtag_search"):
            found = IDS.get(request.args["q"])
            return json_response({"data": [{"id": found}] if found else []})
        pages = self.listings.get(request.path)
        if pages is None:
            return json_response({"data": []})
        index = int(request.args.get("after", "0"))
        page = copy.deepcopy(pages[index])
        if index + 1 < len(pages):
            # Like Graph: the next link echoes the whole query, access token included.
            page["paging"] = {
                "cursors": {"after": str(index + 1)},
                "next": self.server.url_for(request.path)
                + f"?user_id={USER_ID}&limit=50&after={index + 1}&access_token={TOKEN}",
            }
        return json_response(page)

    def start(self) -> GraphServer:
        self.server.expect_request(re.compile(r"/v21\.0/.*")).respond_with_handler(self.handle)
        return self

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def run(cfg: Config, engine: Engine, calendar: CampaignCalendar) -> SourceResult:
    [result] = collect(cfg, engine, calendar, source="instagram", session_factory=fast_session)
    return result


def media(
    code: str, caption: str | None, likes: int | None, comments: int, kind: str = "p"
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(abs(hash(code)))[:17],
        "media_type": "IMAGE",
        "permalink": f"https://www.instagram.com/p/{code}/",
        "timestamp": "2022-10-01T01:00:00+0000",
        "comments_count": comments,
    }
    if caption is not None:
        item["caption"] = caption
    if likes is not None:
        item["like_count"] = likes
    return item


def test_shortcode_from_permalinks() -> None:
    assert shortcode("https://www.instagram.com/p/C9AbCdEfGhI/") == "C9AbCdEfGhI"
    assert shortcode("https://www.instagram.com/reel/C9XyZaBcDeF/?igsh=abc") == "C9XyZaBcDeF"
    assert shortcode("https://www.instagram.com/kominfo/p/C9Q_w-E/") == "C9Q_w-E"
    assert shortcode("https://www.instagram.com/kominfo/") is None


def test_hashtag_search_pages_and_one_post_per_media(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    graph = GraphServer(httpserver).start()
    tag1, tag2 = IDS["WeLoveProbolinggo"], IDS["welovecities"]
    graph.listings[f"/v21.0/{tag1}/recent_media"] = [
        RECENT,
        {"data": [media("CaaaSecond1", "Halaman dua #WeLoveProbolinggo", 5, 1)]},
    ]
    # The same reel again, under the other hashtag and list, with one more comment.
    reel = copy.deepcopy(RECENT["data"][1])
    reel["comments_count"] = 4
    graph.listings[f"/v21.0/{tag2}/top_media"] = [{"data": [reel]}]

    result = run(ig_config, engine, calendar)
    assert (result.status, result.error) == ("ok", None)
    assert result.pages == 5  # pages of posts: 2 + 1 for one hashtag, 1 + 1 for the other; no look-ups
    assert result.new == 4  # three from page 1, one from page 2; the reel seen twice is one post
    assert result.updated == 1  # the reel's comment count changed

    lookups = [q for p, q in graph.requests if p.endswith("/ig_hashtag_search")]
    assert [q["q"] for q in lookups] == [["WeLoveProbolinggo"], ["welovecities"]]
    assert all(q["user_id"] == [USER_ID] for q in lookups)
    listing = [q for p, q in graph.requests if p.endswith("_media")]
    assert all(q["access_token"] == [TOKEN] for q in listing)  # the echoed token replaced, not doubled
    assert any(q.get("after") == ["1"] for q in listing)  # paging.next followed
    assert "like_count" in listing[0]["fields"][0] and listing[0]["user_id"] == [USER_ID]

    with engine.connect() as conn:
        rows = {
            r.post_key: r for r in conn.execute(select(Post.__table__).where(Post.platform == "instagram"))
        }
        reel_tags = set(
            conn.execute(
                select(PostHashtag.tag).where(PostHashtag.post_id == rows["C9XyZaBcDeF"].id)
            ).scalars()
        )
        album_tags = set(
            conn.execute(
                select(PostHashtag.tag).where(PostHashtag.post_id == rows["C9QwErTyUiO"].id)
            ).scalars()
        )
        snapshots = conn.execute(
            select(MetricSnapshot.comments).where(MetricSnapshot.post_id == rows["C9XyZaBcDeF"].id)
        ).scalars()
        assert sorted(snapshots) == [3, 4]  # engagement refresh kept as a snapshot
    assert set(rows) == {"C9AbCdEfGhI", "C9XyZaBcDeF", "C9QwErTyUiO", "CaaaSecond1"}
    assert rows["C9XyZaBcDeF"].likes is None  # like count hidden by the owner: unknown, not 0
    assert rows["C9XyZaBcDeF"].comments == 4
    assert rows["C9QwErTyUiO"].likes == 0
    assert rows["C9AbCdEfGhI"].author_handle is None and rows["C9AbCdEfGhI"].likes == 412
    assert rows["C9AbCdEfGhI"].url == "https://www.instagram.com/p/C9AbCdEfGhI/"
    assert reel_tags == {"weloveprobolinggo", "welovecities"}
    assert album_tags == {"weloveprobolinggo"}  # no caption: the hashtag it was found under
    state = load_checkpoint(engine, "instagram_api")
    assert state["hashtag_ids"] == {"weloveprobolinggo": tag1, "welovecities": tag2}


def test_hashtag_ids_are_looked_up_once(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    graph = GraphServer(httpserver).start()
    run(ig_config, engine, calendar)
    graph.requests.clear()
    again = run(ig_config, engine, calendar)
    assert again.status == "ok"
    assert not any(p.endswith("/ig_hashtag_search") for p in graph.paths())
    assert len(graph.paths()) == 4  # top and recent media for each of the two hashtags


def test_the_weekly_new_hashtag_limit_is_respected(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    graph = GraphServer(httpserver).start()
    recently = (calendar.now() - dt.timedelta(days=2)).isoformat()
    with engine.begin() as conn:
        save_checkpoint(conn, "instagram_api", {"searched": {f"tag{i}": recently for i in range(30)}})
    result = run(ig_config, engine, calendar)
    assert result.status == "failed"
    assert "Instagram allows 30" in (result.error or "")
    assert graph.requests == []


def test_an_expired_token_says_what_to_do_and_never_leaks(
    ig_config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = copy.deepcopy(
        ERRORS["documented_generic_error (developers.facebook.com/docs/graph-api/guides/error-handling)"]
    )
    body["error"]["message"] = (
        "Error validating access token: Session has expired. "
        f"https://graph.facebook.com/v21.0/ig_hashtag_search?access_token={TOKEN}"
    )
    httpserver.expect_request("/v21.0/ig_hashtag_search").respond_with_json(body, status=400)
    result = run(ig_config, engine, calendar)

    assert result.status == "failed"
    error = result.error or ""
    assert "the access token expired or is invalid: make a new one (see docs/sources.md)" in error
    assert "META_ACCESS_TOKEN" in error
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "ig_hashtag_search" in ours
    for place in (error, ours, db_text(engine)):
        assert TOKEN not in place


def test_a_throttled_app_ends_the_run_as_rate_limited(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    graph = GraphServer(httpserver)
    throttled = ERRORS["rate_limit_code_4_SYNTHETIC_message_text"]
    httpserver.expect_request(f"/v21.0/{IDS['WeLoveProbolinggo']}/top_media").respond_with_json(
        throttled, status=403
    )
    graph.start()
    result = run(ig_config, engine, calendar)
    assert result.status == "rate_limited"
    assert "Application request limit reached" in (result.error or "")
    with engine.connect() as conn:
        assert conn.execute(select(CollectionRun.status)).scalar() == "rate_limited"
    # The hashtag id found before the limit is kept for the next run.
    assert load_checkpoint(engine, "instagram_api")["hashtag_ids"] == {
        "weloveprobolinggo": IDS["WeLoveProbolinggo"]
    }


def test_a_paging_link_to_another_host_is_not_followed(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    page = copy.deepcopy(RECENT)
    page["paging"]["next"] = f"https://evil.example/steal?access_token={TOKEN}"
    GraphServer(httpserver).start().listings[f"/v21.0/{IDS['WeLoveProbolinggo']}/top_media"] = [page]
    result = run(ig_config, engine, calendar)
    assert result.status == "partial"  # the first page is kept
    assert result.new == 3
    assert "evil.example" in (result.error or "") and TOKEN not in (result.error or "")


def test_items_that_are_not_media_are_rejected_one_by_one(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer
) -> None:
    graph = GraphServer(httpserver).start()
    good = media("CgoodOne001", "#WeLoveProbolinggo", 3, 0)
    odd = {**media("CoddOne0002", None, 1, 0), "caption": ["not", "text"]}
    graph.listings[f"/v21.0/{IDS['WeLoveProbolinggo']}/top_media"] = [{"data": [1, "x", None, odd, good]}]
    result = run(ig_config, engine, calendar)

    assert (result.status, result.new, result.rejected) == ("ok", 1, 4)
    with engine.connect() as conn:
        reasons = list(conn.execute(select(RejectedRow.reason).order_by(RejectedRow.id)).scalars())
    assert reasons == [
        "item is not a JSON object (int)",
        "item is not a JSON object (str)",
        "item is not a JSON object (NoneType)",
        "'caption' is not text (list)",
    ]


@pytest.mark.parametrize(
    "body",
    [{"data": [], "paging": "nope"}, {"data": {"id": "1"}}, {"data": "x"}],
)
def test_a_page_of_another_shape_is_a_source_error_not_a_crash(
    ig_config: Config, engine: Engine, calendar: CampaignCalendar, httpserver: HTTPServer, body: Any
) -> None:
    GraphServer(httpserver).start().listings[f"/v21.0/{IDS['WeLoveProbolinggo']}/top_media"] = [body]
    result = run(ig_config, engine, calendar)
    assert (result.status, result.pages) == ("failed", 0)
    assert "top_media answered an unexpected page" in (result.error or "")
    assert not (result.error or "").startswith("instagram_api")  # the run row names its source


def test_peer_hashtags_are_searched_after_the_campaigns(
    write_config: Callable[..., Path],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    calendar: CampaignCalendar,
) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    base = httpserver.url_for("/v21.0")
    cfg = load_config(
        write_config(
            f'[sources.instagram]\nenabled = true\nuser_id = "{USER_ID}"\napi_base = "{base}"\n\n'
            '[[peers]]\nname = "DKI Jakarta"\nhashtags = ["WeLoveJakarta"]\n'
        )
    )
    from monitor.db import open_engine

    engine = open_engine(cfg.storage.url)
    monkeypatch.setitem(IDS, "WeLoveJakarta", "17841500000000001")
    graph = GraphServer(httpserver).start()
    graph.listings["/v21.0/17841500000000001/recent_media"] = [
        {"data": [media("CjktPeer001", "Monas #WeLoveJakarta", 9, 1)]}
    ]
    result = run(cfg, engine, calendar)
    assert result.status == "ok" and result.new == 1
    lookups = [q["q"] for p, q in graph.requests if p.endswith("/ig_hashtag_search")]
    assert lookups == [["WeLoveProbolinggo"], ["welovecities"], ["WeLoveJakarta"]]
    with engine.connect() as conn:  # kept, though it is not a campaign post
        assert conn.execute(select(Post.post_key)).scalars().all() == ["CjktPeer001"]
    engine.dispose()
