"""`campaign-monitor collect`: output, exit status, and no token in anything it prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from collectors import twitter
from monitor.cli import main

API = Path(__file__).parent / "data" / "api"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAcliSECRETbearer77"
SEARCH = "/2/tweets/search/recent"
NOW = "2022-10-01T12:00:00+07:00"


def invoke(config: Path, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(
        main, ["--config", str(config), "collect", *args], env={"CAMPAIGN_MONITOR_NOW": NOW}
    )
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def x_enabled(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    return write_config(f'[sources.twitter]\nenabled = true\napi_base = "{httpserver.url_for("")}"\n')


def test_no_enabled_source_is_not_an_error(config_path: Path) -> None:
    code, output = invoke(config_path)
    assert code == 0
    assert "no API source is enabled" in output


def test_a_disabled_source_by_name_is_a_usage_error(config_path: Path) -> None:
    code, output = invoke(config_path, "--source", "instagram")
    assert code == 2
    assert "not enabled: set `enabled = true` under [sources.instagram]" in output


def test_a_good_pass_prints_pages_and_posts(x_enabled: Path, httpserver: HTTPServer) -> None:
    page = json.loads((API / "x_search_page2.json").read_text())
    httpserver.expect_request(SEARCH).respond_with_json(page)
    code, output = invoke(x_enabled)
    assert code == 0, output
    assert "twitter: ok - 1 pages fetched, 1 new posts, 0 updated" in output


def test_a_rate_limited_pass_exits_1_and_prints_no_token(x_enabled: Path, httpserver: HTTPServer) -> None:
    body = json.loads((API / "x_429.json").read_text())
    reset = "1664604000"  # 2022-10-01T06:00:00Z: an hour after the frozen clock
    httpserver.expect_request(SEARCH).respond_with_json(
        body, status=429, headers={"x-rate-limit-reset": reset}
    )
    code, output = invoke(x_enabled, "--source", "twitter")
    assert code == 1
    assert "twitter: rate_limited - 0 pages fetched" in output
    assert "rate limited until 2022-10-01T06:00:00+00:00" in output
    assert TOKEN not in output


def test_a_missing_token_variable_exits_1_naming_it(x_enabled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    code, output = invoke(x_enabled)
    assert code == 1
    assert "twitter: failed" in output and "X_BEARER_TOKEN is not set" in output


def test_collect_has_help() -> None:
    result = CliRunner().invoke(main, ["collect", "--help"])
    assert result.exit_code == 0
    assert "--source" in result.output


def test_an_unexpected_error_in_one_source_does_not_stop_the_next(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("META_ACCESS_TOKEN", "EAAcliMETAsecret")
    graph = httpserver.url_for("/v21.0")
    config = write_config(
        f'[sources.twitter]\nenabled = true\napi_base = "{httpserver.url_for("")}"\n'
        f'[sources.instagram]\nenabled = true\nuser_id = "1784"\napi_base = "{graph}"\n'
    )

    def bug(*args: object, **kwargs: object) -> None:
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr(twitter, "tweets_page", bug)
    httpserver.expect_request(SEARCH).respond_with_json({"data": []})
    httpserver.expect_request("/v21.0/ig_hashtag_search").respond_with_json({"data": []})
    code, output = invoke(config)
    assert code == 1
    assert "twitter: failed - 0 pages fetched" in output
    assert "unexpected error: AttributeError: 'str' object has no attribute 'get'" in output
    assert "instagram: ok - 0 pages fetched" in output  # ran after the failing source
    assert "Traceback" not in output
