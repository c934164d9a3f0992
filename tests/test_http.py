"""collectors.http against a real HTTP server on 127.0.0.1: retries, timeouts, JSON, redaction."""

from __future__ import annotations

import logging
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from collectors.http import USER_AGENT, ApiError, get_json, make_session, redact
from monitor import __version__
from monitor.errors import SourceError

TOKEN = "EAAGsecretTOKEN123"


def fast_session(retries: int = 2, read: float = 2.0):  # type: ignore[no-untyped-def]
    return make_session(retries=retries, backoff_factor=0, timeout=(1.0, read))


def test_redact_removes_tokens_and_access_token_values() -> None:
    text = (
        f"GET /v21.0/me?fields=id&access_token={TOKEN}&limit=5 failed; "
        "next=https://graph.facebook.com/x?access_token=OTHERtoken99 Bearer AAAAbearerLONGtoken123== "
        f"encoded access_token%3D{TOKEN} raw {TOKEN}"
    )
    cleaned = redact(text, [TOKEN])
    assert TOKEN not in cleaned
    assert "OTHERtoken99" not in cleaned
    assert "AAAAbearer" not in cleaned
    assert "fields=id" in cleaned and "limit=5" in cleaned


def test_session_sends_versioned_user_agent(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return Response('{"ok": true}', content_type="application/json")

    httpserver.expect_request("/ua").respond_with_handler(handler)
    assert get_json(fast_session(), httpserver.url_for("/ua")) == {"ok": True}
    assert seen == [USER_AGENT]
    assert seen[0].startswith(f"campaign-monitor/{__version__}")


def test_503_then_success_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_json({"data": [1]})
    assert get_json(fast_session(), httpserver.url_for("/flaky")) == {"data": [1]}
    assert len(httpserver.log) == 2


def test_503_every_time_raises_after_the_last_retry(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_json({"detail": "Service Unavailable"}, status=503)
    with pytest.raises(ApiError) as info:
        get_json(fast_session(retries=2), httpserver.url_for("/down"))
    assert info.value.status == 503
    assert "Service Unavailable" in str(info.value)
    assert len(httpserver.log) == 3  # the first try and two retries


def test_429_is_left_to_the_collector(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/limited").respond_with_json(
        {"title": "Too Many Requests"}, status=429, headers={"Retry-After": "30", "x-rate-limit-reset": "99"}
    )
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        get_json(fast_session(), httpserver.url_for("/limited"))
    assert info.value.status == 429
    assert info.value.headers["x-rate-limit-reset"] == "99"
    assert len(httpserver.log) == 1
    assert time.monotonic() - started < 10  # did not sleep through Retry-After (30 s)


def test_read_timeout_raises_source_error() -> None:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:

        def slow(request: Request) -> Response:
            time.sleep(0.6)
            return Response("{}", content_type="application/json")

        server.expect_request("/slow").respond_with_handler(slow)
        with pytest.raises(SourceError) as info:
            get_json(fast_session(retries=1, read=0.2), server.url_for("/slow"), {"access_token": TOKEN})
        assert "no answer in time" in str(info.value)
        assert TOKEN not in str(info.value)
    finally:
        server.clear()
        server.stop()


def test_malformed_json_raises_source_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/broken").respond_with_data('{"data": [', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        get_json(fast_session(), httpserver.url_for("/broken"))


def test_json_that_is_not_an_object_raises(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/list").respond_with_json([1, 2])
    with pytest.raises(SourceError, match="not an object"):
        get_json(fast_session(), httpserver.url_for("/list"))


def test_connection_refused_raises_source_error() -> None:
    server = HTTPServer(host="127.0.0.1")
    server.start()
    url = server.url_for("/gone")
    server.stop()
    with pytest.raises(SourceError, match="cannot connect"):
        get_json(fast_session(retries=0), url, {"access_token": TOKEN})


def test_error_text_and_logs_never_show_the_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Graph errors echo the request URL, token included.
    echoed = f"https://graph.facebook.com/v21.0/123/posts?access_token={TOKEN}"
    httpserver.expect_request("/v21.0/123/posts").respond_with_json(
        {"error": {"message": f"Bad request for {echoed}", "code": 100, "type": "OAuthException"}}, status=400
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiError) as info:
        get_json(
            fast_session(), httpserver.url_for("/v21.0/123/posts"), {"access_token": TOKEN}, secrets=[TOKEN]
        )
    assert "Bad request" in str(info.value)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value.payload)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "/v21.0/123/posts" in ours  # urllib3 did log the request line at DEBUG ...
    assert TOKEN not in ours  # ... without the token (werkzeug is the test server's own log)


def test_bearer_token_goes_in_the_header(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/2/tweets/search/recent").respond_with_handler(handler)
    get_json(fast_session(), httpserver.url_for("/2/tweets/search/recent"), bearer=TOKEN)
    assert seen == [f"Bearer {TOKEN}"]
