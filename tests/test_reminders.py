"""Daily vote reminders: composing, the log, delivery through real local HTTP servers, exactly once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import db_text
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, insert, select, update
from werkzeug import Request, Response

from monitor import channels
from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import ConfigError, UsageError
from monitor.reminders import (
    LEASE,
    compose_message,
    record_missed,
    reminder_log,
    reminder_sent_for,
    reminders_t,
    send_reminders,
)

WIB = dt.timezone(dt.timedelta(hours=7))
TODAY = dt.date(2022, 10, 1)  # the `calendar` fixture's day: campaign day 13 of 43
HOOK_PATH = "/hooks/T0001/B0002/sEcReTwEbHoOkPaTh"
BOT_TOKEN = "123456789:AAE-sEcReT_bot_TOKEN_value"
CHAT_ID = "-1001234567890"

WEBHOOK = '[reminders]\nchannels = ["webhook"]\n'
LOG_AND_WEBHOOK = '[reminders]\nchannels = ["log", "webhook"]\n'


def telegram_toml(api_base: str) -> str:
    return (
        '[reminders]\nchannels = ["telegram"]\n'
        f'[reminders.telegram]\nchat_id = "{CHAT_ID}"\napi_base = "{api_base}"\n'
    )


@pytest.fixture
def setup(write_config: Callable[..., Path]) -> Iterator[Callable[..., tuple[Config, Engine]]]:
    """Build a config from extra TOML and open its database; engines are closed after the test."""
    engines: list[Engine] = []

    def make(extra: str = "", language: str = "id") -> tuple[Config, Engine]:
        config = load_config(write_config(extra, language))
        engine = open_engine(config.storage.url)
        engines.append(engine)
        return config, engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def hook_env(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    url = httpserver.url_for(HOOK_PATH)
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", url)
    return url


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(channels, "READ_TIMEOUT", 0.3)


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(reminders_t).order_by(reminders_t.c.local_date, reminders_t.c.channel))
        )


def calendar_at(config: Config, instant: dt.datetime) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(instant))


# ---------------------------------------------------------------------------------------------------------
# Compose


def test_default_message_in_indonesian_has_day_url_steps_and_hashtags(
    config: Config, calendar: CampaignCalendar
) -> None:
    text = compose_message(config, calendar, TODAY)
    assert "Hari ke-13 dari 43" in text
    assert "Sabtu, 1 Oktober 2022" in text
    assert "tinggal 30 hari lagi" in text
    assert "https://www.welovecities.org" in text
    assert "bendera Indonesia" in text and "Klik Probolinggo" in text and "Klik Vote" in text
    # Both hashtags with '#', as configured (conftest writes "#welovecities").
    assert "#WeLoveProbolinggo #welovecities" in text


def test_default_message_in_english(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(language="en"))
    cal = calendar_at(config, dt.datetime(2022, 9, 19, 7, tzinfo=WIB))
    text = compose_message(config, cal, dt.date(2022, 9, 19))
    assert "Campaign day 1 of 43 (Monday, 19 September 2022)" in text
    assert "days left after today: 42" in text
    assert "Choose the Indonesian flag" in text and "Click Probolinggo" in text


def test_last_day_message_does_not_count_zero_days_left(config: Config, calendar: CampaignCalendar) -> None:
    text = compose_message(config, calendar, dt.date(2022, 10, 31))
    assert text.startswith("Hari terakhir!")
    assert "Hari ke-43 dari 43" in text
    assert "tinggal" not in text


def test_custom_template_fills_every_placeholder(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, _ = setup(
        '[reminders]\ntemplate = "{city} {day}/{total_days} left={days_left} {date} {vote_url} {hashtags}"\n',
        language="en",
    )
    cal = calendar_at(config, dt.datetime(2022, 10, 1, 7, tzinfo=WIB))
    assert compose_message(config, cal, TODAY) == (
        "Probolinggo 13/43 left=30 Saturday, 1 October 2022 https://www.welovecities.org "
        "#WeLoveProbolinggo #welovecities"
    )


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Vote! {votes}", "unknown placeholder {votes}"),
        ("Vote! {}", "unknown placeholder {}"),
        ("Vote! {city.upper}", "unknown placeholder {city.upper}"),
        ("Vote! {city", "bad braces"),
    ],
)
def test_bad_template_is_a_config_error_at_load(
    write_config: Callable[..., Path], template: str, problem: str
) -> None:
    path = write_config(f"[reminders]\ntemplate = {template!r}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "reminders" in str(info.value) and "template" in str(info.value)
    assert problem in str(info.value)


def test_bad_template_makes_remind_exit_2_with_one_line(write_config: Callable[..., Path]) -> None:
    path = write_config('[reminders]\ntemplate = "Vote {tomorrow}"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "remind"])
    assert result.exit_code == 2
    assert "unknown placeholder {tomorrow}" in result.stderr
    assert "Traceback" not in result.output


def test_bad_format_spec_is_reported_as_config_error(
    setup: Callable[..., tuple[Config, Engine]], calendar: CampaignCalendar
) -> None:
    # Found when the config loads, not when the first reminder is composed.
    with pytest.raises(ConfigError, match="cannot be filled in"):
        setup('[reminders]\ntemplate = "Day {city:d}"\n')


# ---------------------------------------------------------------------------------------------------------
# The log channel and exactly once


def test_log_channel_records_sent_once(config: Config, engine: Engine, calendar: CampaignCalendar) -> None:
    first = send_reminders(config, engine, calendar)
    assert [(d.channel, d.status) for d in first] == [("log", "sent")]
    second = send_reminders(config, engine, calendar)
    assert [(d.channel, d.status) for d in second] == [("log", "already_sent")]
    [row] = rows(engine)
    assert (row.local_date, row.campaign_day, row.channel, row.status, row.attempts) == (
        TODAY,
        13,
        "log",
        "sent",
        1,
    )
    assert row.sent_at == calendar.now()
    assert row.message == first[0].message and "Hari ke-13" in row.message
    assert row.claim_token is None
    assert reminder_sent_for(engine, TODAY) and reminder_sent_for(engine, TODAY, ["log"])
    assert not reminder_sent_for(engine, TODAY, ["log", "webhook"])
    assert not reminder_sent_for(engine, dt.date(2022, 10, 2))


def test_dry_run_records_nothing(config: Config, engine: Engine, calendar: CampaignCalendar) -> None:
    [d] = send_reminders(config, engine, calendar, dry_run=True)
    assert d.status == "dry_run" and "Hari ke-13" in d.message
    assert rows(engine) == []


def test_outside_window_gets_no_reminder(config: Config, engine: Engine, calendar: CampaignCalendar) -> None:
    for day in (dt.date(2022, 9, 18), dt.date(2022, 11, 1)):
        deliveries = send_reminders(config, engine, calendar, day)
        assert [d.status for d in deliveries] == ["outside_window"]
    assert rows(engine) == []


def test_future_day_is_refused_but_can_be_previewed(
    config: Config, engine: Engine, calendar: CampaignCalendar
) -> None:
    with pytest.raises(UsageError, match="not sent early"):
        send_reminders(config, engine, calendar, dt.date(2022, 10, 2))
    [d] = send_reminders(config, engine, calendar, dt.date(2022, 10, 2), dry_run=True)
    assert d.status == "dry_run" and "Hari ke-14" in d.message
    assert rows(engine) == []


def test_the_clock_decides_today(config: Config, engine: Engine) -> None:
    # 17:30 UTC on 1 Oct is 00:30 on 2 Oct in Jakarta: the reminder is for 2 Oct, campaign day 14.
    cal = calendar_at(config, dt.datetime(2022, 10, 1, 17, 30, tzinfo=dt.UTC))
    [d] = send_reminders(config, engine, cal)
    assert d.status == "sent"
    [row] = rows(engine)
    assert (row.local_date, row.campaign_day) == (dt.date(2022, 10, 2), 14)


# ---------------------------------------------------------------------------------------------------------
# Past days: never sent late


def test_past_day_is_marked_missed_not_sent(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(LOG_AND_WEBHOOK)
    yesterday = dt.date(2022, 9, 30)
    with engine.begin() as conn:  # the log went out yesterday; the webhook failed
        conn.execute(
            insert(reminders_t),
            [
                dict(local_date=yesterday, campaign_day=12, channel="log", message="m", status="sent",
                     attempts=1, sent_at=dt.datetime(2022, 9, 30, 0, 0, tzinfo=dt.UTC), error=None),
                dict(local_date=yesterday, campaign_day=12, channel="webhook", message="m", status="failed",
                     attempts=2, sent_at=None, error="HTTP 502: bad gateway"),
            ],
        )  # fmt: skip
    deliveries = send_reminders(config, engine, calendar, yesterday)
    assert {d.channel: d.status for d in deliveries} == {"log": "already_sent", "webhook": "missed"}
    assert httpserver.log == []  # nothing went out late
    by_channel = {r.channel: r for r in rows(engine)}
    assert by_channel["log"].status == "sent"
    assert by_channel["webhook"].status == "missed"
    assert by_channel["webhook"].error == "HTTP 502: bad gateway"  # why it was missed stays visible
    assert by_channel["webhook"].attempts == 2


def test_record_missed_marks_every_unsent_past_day_once(
    config: Config, engine: Engine, calendar: CampaignCalendar
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(reminders_t).values(
                local_date=dt.date(2022, 9, 20), campaign_day=2, channel="log", message="m",
                status="sent", attempts=1, sent_at=dt.datetime(2022, 9, 20, 0, 0, tzinfo=dt.UTC),
            )
        )  # fmt: skip
    # Days 19 Sep .. 30 Sep are before today: 12 days, one of them sent.
    assert record_missed(config, engine, calendar, before=TODAY) == 11
    assert record_missed(config, engine, calendar, before=TODAY) == 0
    statuses = {r.local_date: r.status for r in rows(engine)}
    assert statuses[dt.date(2022, 9, 20)] == "sent"
    assert statuses[dt.date(2022, 9, 19)] == "missed"
    assert TODAY not in statuses
    assert len(statuses) == 12
    assert record_missed(config, engine, calendar, before=dt.date(2022, 9, 19)) == 0
    # After the end it stops at the last campaign day.
    late = calendar_at(config, dt.datetime(2022, 12, 1, tzinfo=WIB))
    assert record_missed(config, engine, late, before=dt.date(2022, 12, 1)) == 31
    assert max(r.local_date for r in rows(engine)) == dt.date(2022, 10, 31)


# ---------------------------------------------------------------------------------------------------------
# Webhook


def test_webhook_posts_json_once(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(WEBHOOK)
    message = compose_message(config, calendar, TODAY)
    httpserver.expect_oneshot_request(
        HOOK_PATH,
        method="POST",
        json={"text": message, "date": "2022-10-01", "campaign_day": 13, "id": "2022-10-01:webhook"},
    ).respond_with_data("ok")
    [d] = send_reminders(config, engine, calendar)
    assert (d.status, d.error) == ("sent", None)
    httpserver.check_assertions()
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "already_sent"
    assert len(httpserver.log) == 1
    [request, _] = httpserver.log[0]
    assert request.headers["User-Agent"].startswith("campaign-monitor/")


def test_webhook_500_is_failed_then_retried_and_not_repeated(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(WEBHOOK)
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("boom", status=500)
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "failed" and d.error == "HTTP 500: boom"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.error, row.sent_at) == ("failed", 1, "HTTP 500: boom", None)

    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("ok")
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "sent"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)

    [d] = send_reminders(config, engine, calendar)
    assert d.status == "already_sent"
    assert len(httpserver.log) == 2


def test_a_retried_webhook_post_carries_the_same_id(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    # The receiver's side of at-least-once: every try of one day's reminder has the same id.
    config, engine = setup(WEBHOOK)
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("ok")
    assert [d.status for d in send_reminders(config, engine, calendar)] == ["failed"]
    assert [d.status for d in send_reminders(config, engine, calendar)] == ["sent"]
    ids = [request.get_json()["id"] for request, _ in httpserver.log]
    assert ids == ["2022-10-01:webhook", "2022-10-01:webhook"]


def test_error_bodies_lose_their_control_characters(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server's answer is stored and printed: escapes must not reach the terminal or the database.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    config, engine = setup(
        '[reminders]\nchannels = ["webhook", "telegram"]\n'
        f'[reminders.telegram]\nchat_id = "{CHAT_ID}"\napi_base = "{httpserver.url_for("/").rstrip("/")}"\n'
    )
    nasty = "no\x1b[2J\x1b]0;pwned\x07 hook\x00\u202eevil\x7f\tthere"
    httpserver.expect_request(HOOK_PATH).respond_with_data(nasty, status=400)
    httpserver.expect_request(f"/bot{BOT_TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "description": f"Bad Request: {nasty}"}, status=400
    )
    webhook, telegram = send_reminders(config, engine, calendar)
    assert webhook.error == "HTTP 400: no[2J]0;pwned hookevil there"
    assert telegram.error == "HTTP 400: Bad Request: no[2J]0;pwned hookevil there"
    assert [r.error for r in rows(engine)] == [telegram.error, webhook.error]


def test_webhook_slow_answer_times_out(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
    short_timeouts: None,
) -> None:
    config, engine = setup(WEBHOOK)
    released = threading.Event()

    def slow(request: Request) -> Response:
        # Answers only when the test lets it (or after 20 s): a delivery that waited for this
        # answer instead of timing out would take 20 s and come back "sent".
        released.wait(20)
        return Response("ok")

    httpserver.expect_request(HOOK_PATH).respond_with_handler(slow)
    started = time.monotonic()
    try:
        [d] = send_reminders(config, engine, calendar)
    finally:
        released.set()  # let the handler finish before the server stops
    assert time.monotonic() - started < 10
    assert d.status == "failed" and d.error is not None and d.error.startswith("no answer in time")
    assert rows(engine)[0].status == "failed"


def test_webhook_server_that_hangs(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    monkeypatch: pytest.MonkeyPatch,
    short_timeouts: None,
) -> None:
    # A server that accepts connections (the backlog does) and never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", f"http://127.0.0.1:{port}{HOOK_PATH}")
        config, engine = setup(WEBHOOK)
        [d] = send_reminders(config, engine, calendar)
    assert d.status == "failed" and d.error is not None and "no answer in time" in d.error
    assert HOOK_PATH not in d.error


def test_missing_webhook_env_var_is_failed_then_retried(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAMPAIGN_MONITOR_WEBHOOK_URL", raising=False)
    config, engine = setup(LOG_AND_WEBHOOK)
    deliveries = send_reminders(config, engine, calendar)
    assert {d.channel: d.status for d in deliveries} == {"log": "sent", "webhook": "failed"}
    webhook = deliveries[1]
    assert webhook.error == (
        "environment variable CAMPAIGN_MONITOR_WEBHOOK_URL is not set (it should hold the webhook URL)"
    )
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", httpserver.url_for(HOOK_PATH))
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")
    deliveries = send_reminders(config, engine, calendar)
    assert {d.channel: d.status for d in deliveries} == {"log": "already_sent", "webhook": "sent"}
    assert {r.channel: r.attempts for r in rows(engine)} == {"log": 1, "webhook": 2}


# ---------------------------------------------------------------------------------------------------------
# Claims: crashes and other processes


def _claim_row(engine: Engine, claimed_at: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(reminders_t).values(
                local_date=TODAY, campaign_day=13, channel="webhook", message="old", status="sending",
                attempts=1, claimed_at=claimed_at, claim_token="token-of-a-process",
            )
        )  # fmt: skip


def test_stale_claim_after_a_crash_is_taken_over(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(WEBHOOK)
    _claim_row(engine, calendar.now() - LEASE - dt.timedelta(minutes=1))
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "sent"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.claim_token) == ("sent", 2, None)
    assert row.message != "old"
    assert len(httpserver.log) == 1


def test_live_claim_is_left_alone(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(WEBHOOK)
    _claim_row(engine, calendar.now() - dt.timedelta(minutes=1))
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "in_progress"
    assert httpserver.log == []
    [row] = rows(engine)
    assert (row.status, row.attempts, row.claim_token) == ("sending", 1, "token-of-a-process")
    # A live claim on a day that has since passed is not marked missed under its owner either.
    tomorrow = calendar_at(config, dt.datetime(2022, 10, 2, 0, 1, tzinfo=WIB))
    with engine.begin() as conn:  # claimed at 23:59 on the day, still being delivered
        conn.execute(update(reminders_t).values(claimed_at=tomorrow.now() - dt.timedelta(minutes=2)))
    assert record_missed(config, engine, tomorrow, before=dt.date(2022, 10, 2)) == 12  # 19-30 Sep only
    assert rows(engine)[-1].status == "sending"


def test_outcome_is_not_recorded_over_someone_elses_claim(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    hook_env: str,
) -> None:
    config, engine = setup(WEBHOOK)

    def taken_over_meanwhile(request: Request) -> Response:
        # While we deliver, another process takes the row over (as after an expired lease).
        with engine.begin() as conn:
            conn.execute(update(reminders_t).values(claim_token="someone-else", attempts=2))
        return Response("ok")

    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_handler(taken_over_meanwhile)
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "sent"
    [row] = rows(engine)
    assert (row.status, row.claim_token, row.attempts) == ("sending", "someone-else", 2)


# ---------------------------------------------------------------------------------------------------------
# Telegram


def test_telegram_send_message(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    config, engine = setup(telegram_toml(httpserver.url_for("/").rstrip("/")))
    message = compose_message(config, calendar, TODAY)
    httpserver.expect_oneshot_request(
        f"/bot{BOT_TOKEN}/sendMessage", method="POST", json={"chat_id": CHAT_ID, "text": message}
    ).respond_with_json({"ok": True, "result": {"message_id": 7}})
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "sent"
    httpserver.check_assertions()
    [d] = send_reminders(config, engine, calendar)
    assert d.status == "already_sent" and len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
         "HTTP 200: Bad Request: chat not found"),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, "HTTP 401: Unauthorized"),
        (502, None, "HTTP 502: <html>bad gateway</html>"),
    ],
)  # fmt: skip
def test_telegram_refusal_is_failed(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: dict[str, Any] | None,
    error: str,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    config, engine = setup(telegram_toml(httpserver.url_for("/").rstrip("/")))
    handler = httpserver.expect_oneshot_request(f"/bot{BOT_TOKEN}/sendMessage")
    if body is None:
        handler.respond_with_data("<html>bad gateway</html>", status=status)
    else:
        handler.respond_with_json(body, status=status)
    [d] = send_reminders(config, engine, calendar)
    assert (d.status, d.error) == ("failed", error)
    assert rows(engine)[0].error == error


# ---------------------------------------------------------------------------------------------------------
# Secrets


def test_secrets_never_reach_the_database_errors_or_logs(
    setup: Callable[..., tuple[Config, Engine]],
    calendar: CampaignCalendar,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Servers that echo the URL back, and one that refuses connections (requests puts the URL in
    # its exception text): every error must come out redacted.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", httpserver.url_for(HOOK_PATH))
    config, engine = setup(
        '[reminders]\nchannels = ["webhook", "telegram"]\n'
        f'[reminders.telegram]\nchat_id = "{CHAT_ID}"\napi_base = "http://127.0.0.1:{dead_port}"\n'
    )

    def echo(request: Request) -> Response:
        return Response(f"no hook at {request.url} (path {request.path})", status=404)

    httpserver.expect_request(HOOK_PATH).respond_with_handler(echo)
    caplog.set_level(logging.DEBUG)
    deliveries = send_reminders(config, engine, calendar)
    assert [d.status for d in deliveries] == ["failed", "failed"]
    webhook, telegram = deliveries
    assert webhook.error is not None and webhook.error.startswith("HTTP 404: no hook at ***")
    assert telegram.error is not None and "ConnectionError" in telegram.error and "***" in telegram.error

    secrets = (BOT_TOKEN, HOOK_PATH, "sEcReTwEbHoOkPaTh", "AAE-sEcReT_bot_TOKEN_value")
    # Our process's log lines; werkzeug's lines are the test server's, i.e. the receiving side.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    everything = repr(rows(engine)) + repr(deliveries) + ours
    for secret in secrets:
        assert secret not in everything
    assert "POST *** HTTP/1.1" in ours  # urllib3 did log the request line at debug level, redacted
    if engine.dialect.name == "sqlite":  # the file's bytes, free pages and WAL included
        db_file = Path(config.storage.url.removeprefix("sqlite:///"))
        engine.dispose()
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    else:  # PostgreSQL's twin: every value of every table, as the server gives it back
        raw = db_text(engine).encode()
        engine.dispose()
    for secret in secrets:
        assert secret.encode() not in raw


def test_secrets_never_reach_command_output(
    write_config: Callable[..., Path], httpserver: HTTPServer, tmp_path: Path
) -> None:
    # A real process with -v, so the log lines (including urllib3's debug lines) are in the output.
    path = write_config(LOG_AND_WEBHOOK)
    httpserver.expect_request(HOOK_PATH).respond_with_data(f"bad {HOOK_PATH}", status=500)
    env = {
        **os.environ,
        "CAMPAIGN_MONITOR_NOW": "2022-10-01T07:00:00+07:00",
        "CAMPAIGN_MONITOR_WEBHOOK_URL": httpserver.url_for(HOOK_PATH),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "-v", "remind"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "webhook: failed - HTTP 500: bad ***" in proc.stderr
    assert "POST ***" in proc.stderr  # urllib3's request line, redacted
    assert "sEcReTwEbHoOkPaTh" not in proc.stdout + proc.stderr
    log = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "reminders", "--csv"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert log.returncode == 0 and "sEcReTwEbHoOkPaTh" not in log.stdout + log.stderr


# ---------------------------------------------------------------------------------------------------------
# Commands


def invoke(path: Path, *args: str, now: str = "2022-10-01T07:00:00+07:00", **env: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], env={"CAMPAIGN_MONITOR_NOW": now, **env})


def test_remind_command_sends_then_says_already_sent(config_path: Path) -> None:
    first = invoke(config_path, "remind")
    assert first.exit_code == 0, first.output
    assert "vote reminder for 2022-10-01 (campaign day 13 of 43)" in first.stdout
    assert "Hari ke-13 dari 43" in first.stdout
    assert "log: sent" in first.stdout
    second = invoke(config_path, "remind")
    assert second.exit_code == 0
    assert "log: already sent earlier" in second.stdout
    assert "Hari ke-13" not in second.stdout  # the message is printed only when it went out


def test_remind_command_exits_1_when_a_channel_fails(write_config: Callable[..., Path]) -> None:
    path = write_config(LOG_AND_WEBHOOK)
    result = invoke(path, "remind", CAMPAIGN_MONITOR_WEBHOOK_URL="")
    assert result.exit_code == 1
    assert "log: sent" in result.stdout
    assert "webhook: failed - environment variable CAMPAIGN_MONITOR_WEBHOOK_URL is not set" in result.stderr


def test_remind_command_dry_run_outside_past_and_future(config_path: Path) -> None:
    dry = invoke(config_path, "remind", "--dry-run", "--date", "2022-10-05")
    assert dry.exit_code == 0 and "Hari ke-17 dari 43" in dry.stdout and "dry run" in dry.stdout
    outside = invoke(config_path, "remind", "--date", "2022-11-01")
    assert outside.exit_code == 0
    assert "2022-11-01 is outside the campaign (2022-09-19 to 2022-10-31): no vote reminder" in outside.stdout
    past = invoke(config_path, "remind", "--date", "2022-09-25")
    assert past.exit_code == 0 and "log: missed" in past.stdout
    future = invoke(config_path, "remind", "--date", "2022-10-02")
    assert future.exit_code == 2 and "not sent early" in future.stderr and "Traceback" not in future.output
    bad = invoke(config_path, "remind", "--date", "1 Oct")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr
    table = invoke(config_path, "reminders")
    assert [line.split()[:4] for line in table.stdout.splitlines()[1:]] == [
        ["2022-09-25", "7", "log", "missed"]
    ]


def test_remind_command_uses_the_frozen_clock(config_path: Path) -> None:
    result = invoke(config_path, "remind", now="2022-10-01T17:30:00+00:00")
    assert "vote reminder for 2022-10-02 (campaign day 14 of 43)" in result.stdout
    before = invoke(config_path, "remind", now="2022-09-18T23:59:00+07:00")
    assert "2022-09-18 is outside the campaign" in before.stdout and before.exit_code == 0


def test_reminders_csv_has_the_documented_columns(write_config: Callable[..., Path]) -> None:
    # A template that starts like a spreadsheet formula must come out neutralized.
    path = write_config('[reminders]\ntemplate = "-{day}- vote for {city}!\\nline two, with a comma"\n')
    assert invoke(path, "remind").exit_code == 0
    assert invoke(path, "remind", "--date", "2022-09-30").exit_code == 0
    result = invoke(path, "reminders", "--csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "date,campaign_day,channel,status,attempts,sent_at,message"
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["date"], r["campaign_day"], r["channel"], r["status"], r["attempts"]) for r in records] == [
        ("2022-09-30", "12", "log", "missed", "0"),
        ("2022-10-01", "13", "log", "sent", "1"),
    ]
    assert records[1]["sent_at"] == "2022-10-01T07:00:00+07:00"
    assert records[0]["sent_at"] == ""
    assert records[1]["message"] == "'-13- vote for Probolinggo!\nline two, with a comma"


def test_reminders_table(write_config: Callable[..., Path]) -> None:
    path = write_config()
    empty = invoke(path, "reminders")
    assert empty.exit_code == 0 and "no vote reminders recorded yet" in empty.stdout
    invoke(path, "remind")
    table = invoke(path, "reminders").stdout.splitlines()
    assert table[0].split()[:5] == ["date", "day", "channel", "status", "attempts"]
    assert table[1].split() == ["2022-10-01", "13", "log", "sent", "1", "2022-10-01", "07:00"]


def test_reminder_log_library_view(config: Config, engine: Engine, calendar: CampaignCalendar) -> None:
    send_reminders(config, engine, calendar)
    [entry] = reminder_log(engine)
    assert (entry.local_date, entry.channel, entry.status, entry.attempts) == (TODAY, "log", "sent", 1)
    assert reminder_log(engine, dt.date(2022, 9, 30)) == []
