"""Alerts: failing APIs (401, 429, silence) and the inbox through real local HTTP servers and
folders, exact texts, one alert per cause and day, and no secret anywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_json, db_text, json_response
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from monitor import alerts
from monitor.alerts import (
    alerts_t,
    baseline,
    check,
    classify_failure,
    send_alerts,
    silent_alerts,
    volume_alert,
)
from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import ConfigError
from monitor.records import PostRecord, collect_hashtags
from monitor.scheduler import Jobs
from monitor.store import finish_run, start_run, write_batch

WIB = dt.timezone(dt.timedelta(hours=7))
TOKEN = "AAAAAAAAAAAAAAAAAAAAAXbearerSECRETalerts"
META_TOKEN = "EAAGmetaSECRETtokenVALUE123"
SEARCH = "/2/tweets/search/recent"
ALERT_HOOK = "/hooks/alerts/T0/B1/aLeRtSeCrEt"
REMIND_HOOK = "/hooks/reminder/sEcReT"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


def cal(config: Config, instant: dt.datetime) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(instant))


@pytest.fixture
def setup(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[Config, Engine]]]:
    """X collector and the alerts' own webhook (a second place: [alerts.webhook] url_env) on one
    local server; the reminder stays on the log."""
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("ALERTS_WEBHOOK_URL", httpserver.url_for(ALERT_HOOK))
    engines: list[Engine] = []

    def make(
        extra: str = "", channels: str = '["webhook"]', language: str = "id", alerts_extra: str = ""
    ) -> tuple[Config, Engine]:
        toml = (
            f'[sources.twitter]\nenabled = true\napi_base = "{httpserver.url_for("")}"\n'
            f"[alerts]\nchannels = {channels}\n{alerts_extra}"
            '[alerts.webhook]\nurl_env = "ALERTS_WEBHOOK_URL"\n' + extra
        )
        config = load_config(write_config(toml, language))
        engine = open_engine(config.storage.url)
        engines.append(engine)
        return config, engine

    yield make
    for engine in engines:
        engine.dispose()


class Api:
    """The X API's answer can be switched between calls; alert POSTs are collected."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.answer: Callable[[], Response] = lambda: json_response(api_json("x_search_empty.json"))
        self.alerts: list[dict[str, Any]] = []
        self.alert_status = 200
        httpserver.expect_request(SEARCH).respond_with_handler(lambda request: self.answer())
        httpserver.expect_request(ALERT_HOOK, method="POST").respond_with_handler(self.take_alert)

    def take_alert(self, request: Request) -> Response:
        self.alerts.append(request.get_json())
        return Response("ok" if self.alert_status == 200 else "down", status=self.alert_status)


def alert_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(alerts_t).order_by(alerts_t.c.id)))


def unauthorized() -> Response:
    return json_response(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401
    )


# ---------------------------------------------------------------------------------------------------------
# A collector run fails, then recovers


def test_a_refused_token_alerts_once_with_the_variable_to_renew_then_recovery(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup()
    api = Api(httpserver)
    api.answer = unauthorized
    day = dt.date(2022, 10, 1)
    assert Jobs(config, engine, cal(config, at(day, 8))).collect("twitter") == "failed"
    assert [a["text"] for a in api.alerts] == [
        "x_api gagal: token tidak berlaku atau sudah kedaluwarsa (401). Buat token baru dan simpan di "
        "variabel lingkungan X_BEARER_TOKEN."
    ]
    assert api.alerts[0]["kind"] == "alert"
    assert api.alerts[0]["id"] == "2022-10-01:alert:source_failed:x_api:token_invalid:webhook"
    # The same cause again the same day: no second alert.
    Jobs(config, engine, cal(config, at(day, 8, 30))).collect("twitter")
    Jobs(config, engine, cal(config, at(day, 8, 45))).alerts()
    assert len(api.alerts) == 1

    api.answer = lambda: json_response(api_json("x_search_empty.json"))
    assert Jobs(config, engine, cal(config, at(day, 9))).collect("twitter") == "ok"
    assert (
        api.alerts[-1]["text"] == "x_api pulih: pengambilan terakhir berhasil (Sabtu, 1 Oktober 2022 09:00)."
    )
    Jobs(config, engine, cal(config, at(day, 9, 30))).collect("twitter")
    Jobs(config, engine, cal(config, at(day, 9, 45))).alerts()
    assert len(api.alerts) == 2
    assert [(r.kind, r.key, r.local_date, r.channel, r.status) for r in alert_rows(engine)] == [
        ("source_failed", "x_api:token_invalid", day, "webhook", "sent"),
        ("source_recovered", "x_api", day, "webhook", "sent"),
    ]
    # No secret anywhere: not the bearer token, not the alert webhook's URL.
    stored = db_text(engine)
    assert TOKEN not in stored and "aLeRtSeCrEt" not in stored
    assert all(TOKEN not in json.dumps(a) for a in api.alerts)


def test_the_next_day_the_same_failure_alerts_again(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup()
    api = Api(httpserver)
    api.answer = unauthorized
    Jobs(config, engine, cal(config, at(dt.date(2022, 10, 1), 8))).collect("twitter")
    Jobs(config, engine, cal(config, at(dt.date(2022, 10, 2), 8))).collect("twitter")
    assert len(api.alerts) == 2
    assert [r.local_date for r in alert_rows(engine)] == [dt.date(2022, 10, 1), dt.date(2022, 10, 2)]


def test_a_429_says_when_the_limit_resets(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup(language="en")
    api = Api(httpserver)
    now = at(dt.date(2022, 10, 1), 8)
    reset = int((now + dt.timedelta(hours=2)).timestamp())  # 10:00 WIB
    api.answer = lambda: json_response(api_json("x_429.json"), 429, {"x-rate-limit-reset": str(reset)})
    assert Jobs(config, engine, cal(config, now)).collect("twitter") == "rate_limited"
    assert [a["text"] for a in api.alerts] == [
        "x_api is rate limited until Saturday, 1 October 2022 10:00. The next run after that continues "
        "by itself; nothing to do."
    ]


def test_a_missing_token_variable_is_named(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    config, engine = setup()
    api = Api(httpserver)
    Jobs(config, engine, cal(config, at(dt.date(2022, 10, 1), 8))).collect("twitter")
    assert [a["text"] for a in api.alerts] == [
        "x_api gagal: variabel lingkungan X_BEARER_TOKEN kosong. Isi dengan token akses, lalu jalankan lagi."
    ]


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("failed", "the access token expired or is invalid: make a new one ... (code 190)", "token_invalid"),
        ("failed", "access denied (https://api.x.com/2/tweets answered HTTP 403: Forbidden)", "forbidden"),
        ("failed", "page 1: permission missing (code 10: needs pages_read_engagement)", "forbidden"),
        ("rate_limited", "rate limited until 2022-10-01T03:00:00+00:00: wait", "rate_limited"),
        ("failed", "https://api.x.com/2/tweets: no answer in time after retries (timed out)", "error"),
    ],
)
def test_failure_reasons(status: str, error: str, reason: str) -> None:
    assert classify_failure(status, error)[0] == reason


# ---------------------------------------------------------------------------------------------------------
# Silence


def test_a_source_that_reported_every_day_and_went_silent(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup(alerts_extra="silent_hours = 24\n")
    api = Api(httpserver)
    api.answer = lambda: json_response(api_json("x_search_page2.json"))
    for day in (27, 28, 29):
        assert Jobs(config, engine, cal(config, at(dt.date(2022, 9, day), 10))).collect("twitter") == "ok"
    api.answer = lambda: json_response(api_json("x_search_empty.json"))  # silence: 200, nothing
    Jobs(config, engine, cal(config, at(dt.date(2022, 9, 30), 8))).collect("twitter")
    # 23 hours after the last arrival: not yet.
    assert silent_alerts(config, engine, cal(config, at(dt.date(2022, 9, 30), 9))) == []
    later = cal(config, at(dt.date(2022, 9, 30), 11))
    [alert] = silent_alerts(config, engine, later)
    assert (alert.kind, alert.key) == ("source_silent", "x_api")
    assert alert.text == (
        "x_api tidak membawa postingan selama 25 jam (terakhir Kamis, 29 September 2022 10:00), padahal "
        "biasanya setiap hari. Periksa pengambil data atau ekspor rutinnya."
    )
    Jobs(config, engine, later).alerts()
    Jobs(config, engine, cal(config, at(dt.date(2022, 9, 30), 15))).alerts()
    assert [a["text"] for a in api.alerts] == [alert.text]


def test_a_source_that_did_not_report_every_day_is_not_silent(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup()
    api = Api(httpserver)
    api.answer = lambda: json_response(api_json("x_search_page2.json"))
    for day in (26, 27, 29):  # a gap on the 28th
        Jobs(config, engine, cal(config, at(dt.date(2022, 9, day), 10))).collect("twitter")
    assert silent_alerts(config, engine, cal(config, at(dt.date(2022, 10, 1), 10))) == []


def test_silent_hours_is_configurable(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup(alerts_extra="silent_hours = 6\n")
    api = Api(httpserver)
    api.answer = lambda: json_response(api_json("x_search_page2.json"))
    for day in (27, 28, 29):
        Jobs(config, engine, cal(config, at(dt.date(2022, 9, day), 10))).collect("twitter")
    [alert] = silent_alerts(config, engine, cal(config, at(dt.date(2022, 9, 29), 16, 30)))
    assert "selama 6 jam" in alert.text


# ---------------------------------------------------------------------------------------------------------
# The inbox


def test_a_file_the_inbox_refuses_is_alerted_with_its_reason(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup("[sources.inbox]\nsettle_seconds = 0\n")
    api = Api(httpserver)
    inbox = config.sources.inbox.path
    inbox.mkdir(parents=True)
    (inbox / "rekap_kim.csv").write_text("Nama,Jumlah\nBudi,3\n", encoding="utf-8")
    Jobs(config, engine, cal(config, at(dt.date(2022, 10, 1), 8))).inbox_pass()
    why = (inbox / "failed" / "rekap_kim.csv.why.txt").read_text(encoding="utf-8").strip()
    assert why
    assert [a["text"] for a in api.alerts] == [
        f"Berkas rekap_kim.csv ditolak dan dipindah ke failed/: {' '.join(why.split())}"
    ]
    [row] = alert_rows(engine)
    assert (row.kind, row.key, row.status) == ("inbox_failed", "rekap_kim.csv", "sent")


def test_a_failed_alert_is_retried_the_same_day_and_missed_the_next(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup()
    api = Api(httpserver)
    api.alert_status = 503
    refused = [alerts.AlertMessage("inbox_failed", "a.csv", "Berkas a.csv ditolak")]
    day = dt.date(2022, 10, 1)
    [r] = send_alerts(config, engine, cal(config, at(day, 8)), refused)
    assert (r.delivery.status, r.delivery.error) == ("failed", "HTTP 503: down")
    api.alert_status = 200
    [r] = alerts.retry_failed(config, engine, cal(config, at(day, 8, 15)))
    assert r.delivery.status == "sent"
    assert alerts.retry_failed(config, engine, cal(config, at(day, 8, 30))) == []
    [row] = alert_rows(engine)
    assert (row.status, row.attempts) == ("sent", 2)
    # A failure that lasts until midnight is not sent the next day.
    api.alert_status = 503
    send_alerts(config, engine, cal(config, at(day, 22)), [alerts.AlertMessage("inbox_failed", "b.csv", "b")])
    api.alert_status = 200
    posts_before = len(api.alerts)
    assert alerts.retry_failed(config, engine, cal(config, at(day + dt.timedelta(days=1), 0, 10))) == []
    assert len(api.alerts) == posts_before
    assert [r.status for r in alert_rows(engine)] == ["sent", "missed"]


# ---------------------------------------------------------------------------------------------------------
# The day's volume


def seed_days(engine: Engine, config: Config, per_day: dict[dt.date, list[tuple[str, int]]]) -> None:
    """Campaign posts: day -> [(account, likes), ...]; post i of a day has the link p/<MMDD><account><i>/."""
    run_id = start_run(engine, "test", None)
    records = []
    for day, posts in per_day.items():
        for i, (account, likes) in enumerate(posts):
            text = "Ayo #WeLoveProbolinggo"
            records.append(
                PostRecord(
                    platform="instagram",
                    post_key=f"{day:%m%d}_{account}_{i}",
                    created_at=at(day, 9) + dt.timedelta(seconds=i),
                    source="test",
                    text=text,
                    url=f"https://www.instagram.com/p/{day:%m%d}{account}{i}/",
                    author_handle=account,
                    likes=likes,
                    hashtags=collect_hashtags(text),
                )
            )
    write_batch(engine, run_id, records, config.campaign.tz)
    finish_run(engine, run_id, "ok")


HISTORY = [dt.date(2022, 9, 23) + dt.timedelta(days=i) for i in range(7)]  # 23-29 Sep
JUDGED = dt.date(2022, 9, 30)


def test_a_day_far_below_the_usual(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(channels='["log"]')
    seed_days(
        engine, config, {d: [(f"acc{i}", 1) for i in range(20)] for d in HISTORY} | {JUDGED: [("a", 1)] * 2}
    )
    today = cal(config, at(dt.date(2022, 10, 1), 7))
    alert = volume_alert(config, engine, today, JUDGED)
    assert alert is not None and (alert.kind, alert.key) == ("posts_low", "2022-09-30")
    assert alert.text == (
        "Postingan kampanye 2022-09-30: 2, jauh di bawah biasanya (median 7 hari sebelumnya 20). "
        "Periksa sumber data dan ingatkan anggota."
    )
    Jobs(config, engine, today).alerts()
    Jobs(config, engine, cal(config, at(dt.date(2022, 10, 1), 7, 15))).alerts()
    assert [(r.kind, r.channel, r.status) for r in alert_rows(engine)] == [("posts_low", "log", "sent")]


def test_a_spike_names_its_posts_and_accounts(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(channels='["log"]', language="en")
    spike = (
        [("acc_a", 1)] * 29
        + [("acc_a", 40)]
        + [("acc_b", 100)]
        + [("acc_b", 1)] * 9
        + [("acc_c", 50)]
        + [("acc_c", 1)] * 4
    )
    seed_days(engine, config, {d: [(f"acc{i}", 1) for i in range(20)] for d in HISTORY} | {JUDGED: spike})
    alert = volume_alert(config, engine, cal(config, at(dt.date(2022, 10, 1), 7)), JUDGED)
    assert alert is not None and alert.kind == "posts_high"
    assert alert.text == (
        "Campaign posts on 2022-09-30: 45, far above the usual (median of the 7 days before: 20). "
        "Driven by: acc_b (instagram, 100 interactions) https://www.instagram.com/p/0930acc_b30/; "
        "acc_c (instagram, 50 interactions) https://www.instagram.com/p/0930acc_c40/; "
        "acc_a (instagram, 40 interactions) https://www.instagram.com/p/0930acc_a29/. "
        "Accounts: acc_a (instagram, 30 posts), acc_b (instagram, 10 posts), acc_c (instagram, 5 posts)."
    )


@pytest.mark.parametrize(
    ("posts", "expected"), [(10, None), (9, "posts_low"), (40, None), (41, "posts_high")]
)
def test_the_baseline_thresholds(
    setup: Callable[..., tuple[Config, Engine]], posts: int, expected: str | None
) -> None:
    # Median 20, MAD 1: low below 20 - max(3 * 1, 20 / 2) = 10; high above 20 + max(3 * 1, 20) = 40.
    history = [18, 20, 22, 20, 19, 21, 20]
    assert (baseline(history).median, baseline(history).mad) == (20.0, 1.0)
    config, engine = setup(channels='["log"]')
    seed_days(
        engine,
        config,
        {d: [(f"acc{i}", 1) for i in range(n)] for d, n in zip(HISTORY, history, strict=True)}
        | {JUDGED: [("x", 1)] * posts},
    )
    alert = volume_alert(config, engine, cal(config, at(dt.date(2022, 10, 1), 7)), JUDGED)
    assert (alert.kind if alert else None) == expected


def test_a_quiet_campaign_does_not_cry_wolf(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(channels='["log"]')
    seed_days(
        engine, config, {d: [(f"acc{i}", 1) for i in range(5)] for d in HISTORY} | {JUDGED: [("x", 1)] * 12}
    )
    today = cal(config, at(dt.date(2022, 10, 1), 7))
    assert volume_alert(config, engine, today, JUDGED) is None  # 12 is more than twice 5, but below 20
    assert volume_alert(config, engine, today, dt.date(2022, 9, 29)) is None  # 5 vs 5
    assert volume_alert(config, engine, today, dt.date(2022, 9, 24)) is None  # not 7 days of history yet


# ---------------------------------------------------------------------------------------------------------
# The Meta token's expiry, from the Graph API's own answer


@pytest.mark.parametrize(("in_hours", "alerted"), [(3 * 24 + 2, True), (10 * 24, False), (None, False)])
def test_a_meta_token_that_expires_within_7_days(
    write_config: Callable[..., Path],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    in_hours: int | None,
    alerted: bool,
) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", META_TOKEN)
    graph = httpserver.url_for("/v21.0")
    config = load_config(
        write_config(
            f'[sources.instagram]\nenabled = true\nuser_id = "17841400000000000"\napi_base = "{graph}"\n'
            f'[sources.facebook]\nenabled = true\npages = ["1"]\napi_base = "{graph}"\n'
        )
    )
    now = at(dt.date(2022, 10, 1), 8)
    expires = 0 if in_hours is None else int((now + dt.timedelta(hours=in_hours)).timestamp())
    httpserver.expect_request(
        "/v21.0/debug_token", query_string={"input_token": META_TOKEN, "access_token": META_TOKEN}
    ).respond_with_json({"data": {"app_id": "1", "is_valid": True, "expires_at": expires}})
    found = alerts.token_expiry_alerts(config, cal(config, now))
    assert len(httpserver.log) == 1  # one token shared by both sources: asked once
    if alerted:
        assert [(a.kind, a.key, a.text) for a in found] == [
            (
                "token_expiring",
                "META_ACCESS_TOKEN",
                "Token Meta di META_ACCESS_TOKEN kedaluwarsa Selasa, 4 Oktober 2022 10:00 (3 hari lagi). "
                "Buat token baru dan simpan di META_ACCESS_TOKEN sebelum itu.",
            )
        ]
    else:
        assert found == []


# ---------------------------------------------------------------------------------------------------------
# The jobs: reminder and daily report


def test_a_failed_reminder_alerts_once(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", httpserver.url_for(REMIND_HOOK))
    httpserver.expect_request(REMIND_HOOK).respond_with_data("boom", status=500)
    config, engine = setup('[reminders]\nchannels = ["webhook"]\n', channels='["log"]')
    day = dt.date(2022, 10, 1)
    assert Jobs(config, engine, cal(config, at(day, 7))).reminder() == "failed"
    assert Jobs(config, engine, cal(config, at(day, 7, 15))).reminder_retry() == "failed"
    [row] = alert_rows(engine)
    assert (row.kind, row.key, row.channel, row.status) == ("reminder_failed", "webhook", "log", "sent")
    assert row.message == (
        "Pengingat vote 2022-10-01 lewat webhook gagal: HTTP 500: boom. Dicoba lagi tiap 15 menit hari ini."
    )
    assert "sEcReT" not in db_text(engine)


def test_a_failed_daily_report_alerts(setup: Callable[..., tuple[Config, Engine]], tmp_path: Path) -> None:
    config, engine = setup('[reports]\nout_dir = "out"\n', channels='["log"]')
    (tmp_path / "out").write_text("a file where the report folder should be")
    assert Jobs(config, engine, cal(config, at(dt.date(2022, 10, 1), 23, 30))).daily_report() == "failed"
    [row] = alert_rows(engine)
    assert (row.kind, row.key) == ("report_failed", "2022-10-01")
    assert row.message.startswith("Laporan harian 2022-10-01 gagal dibuat: ")


# ---------------------------------------------------------------------------------------------------------
# The command


def test_alerts_command_dry_run_check_and_log(
    setup: Callable[..., tuple[Config, Engine]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, engine = setup(channels='["log"]')
    seed_days(
        engine, config, {d: [(f"acc{i}", 1) for i in range(20)] for d in HISTORY} | {JUDGED: [("a", 1)] * 2}
    )
    monkeypatch.setenv("CAMPAIGN_MONITOR_NOW", "2022-10-01T07:00:00+07:00")
    runner = CliRunner()
    args = ["--config", str(config.path), "alerts"]
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        "posts_low (2022-09-30) via log: dry_run\n  Postingan kampanye 2022-09-30: 2, jauh di bawah"
        in dry.output
    )
    assert alert_rows(engine) == []
    sent = runner.invoke(main, [*args, "--check"])
    assert sent.exit_code == 0 and "posts_low (2022-09-30) via log: sent" in sent.output
    again = runner.invoke(main, [*args, "--check"])
    assert "posts_low (2022-09-30) via log: already_sent" in again.output
    table = runner.invoke(main, args)
    assert table.exit_code == 0
    assert table.output.splitlines()[0].split() == [
        "date",
        "kind",
        "channel",
        "status",
        "sent",
        "at",
        "(Asia/Jakarta)",
        "message",
    ]
    assert "2022-10-01  posts_low  log      sent    07:00" in table.output
    as_csv = runner.invoke(main, [*args, "--csv"])
    [row] = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert list(row) == ["date", "kind", "key", "channel", "status", "attempts", "sent_at", "message"]
    assert (row["date"], row["kind"], row["key"], row["status"]) == (
        "2022-10-01",
        "posts_low",
        "2022-09-30",
        "sent",
    )
    assert row["sent_at"] == "2022-10-01T07:00:00+07:00"


@pytest.mark.parametrize("processes", [2])
def test_simultaneous_alert_checks_deliver_once(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, tmp_path: Path, processes: int
) -> None:
    config, engine = setup()
    seed_days(
        engine, config, {d: [(f"acc{i}", 1) for i in range(20)] for d in HISTORY} | {JUDGED: [("a", 1)] * 2}
    )

    def slow_ok(request: Request) -> Response:
        time.sleep(0.5)
        return Response("ok")

    httpserver.expect_request(ALERT_HOOK, method="POST").respond_with_handler(slow_ok)
    env = {**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-10-01T07:00:00+07:00"}
    command = [sys.executable, "-m", "monitor", "--config", str(config.path), "alerts", "--check"]
    procs = [
        subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    outputs = [proc.communicate(timeout=90) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    assert len(httpserver.log) == 1
    assert [(r.kind, r.status, r.attempts) for r in alert_rows(engine)] == [("posts_low", "sent", 1)]


# ---------------------------------------------------------------------------------------------------------
# Config


def test_alert_and_digest_routes_default_to_the_reminders_and_can_differ(
    write_config: Callable[..., Path],
) -> None:
    config = load_config(
        write_config(
            '[reminders]\nchannels = ["log", "telegram"]\n[reminders.telegram]\nchat_id = "-100warga"\n'
            '[digest.telegram]\nchat_id = "-100kepala"\n'
            '[alerts]\nchannels = ["telegram"]\n[alerts.telegram]\nchat_id = "-100teknis"\n'
        )
    )
    assert config.digest.channels == ("log", "telegram") and config.digest.telegram.chat_id == "-100kepala"
    assert config.digest.at == dt.time(7, 30) and config.digest.telegram.token_env == "TELEGRAM_BOT_TOKEN"
    assert config.alerts.channels == ("telegram",) and config.alerts.telegram.chat_id == "-100teknis"
    assert (config.alerts.silent_hours, config.alerts.min_posts) == (24, 20)
    default = load_config(write_config())
    assert default.digest.channels == ("log",) and default.alerts.channels == ("log",)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[digest]\nevery = 5\n", "digest"),
        ('[alerts]\nchannels = ["sms"]\n', "alerts"),
        ("[alerts]\nsilent_hours = 0\n", "silent_hours"),
        ('[digest]\nchannels = ["telegram"]\n', "chat_id"),
        ('[digest]\nat = "half past seven"\n', "at"),
    ],
)
def test_bad_digest_or_alerts_settings_are_config_errors(
    write_config: Callable[..., Path], toml: str, key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(write_config(toml))


def test_check_collects_every_kind(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(channels='["log"]')
    seed_days(
        engine, config, {d: [(f"acc{i}", 1) for i in range(20)] for d in HISTORY} | {JUDGED: [("a", 1)] * 2}
    )
    found = check(config, engine, cal(config, at(dt.date(2022, 10, 1), 7)))
    assert [a.kind for a in found] == ["posts_low"]


def test_a_one_shot_collect_alerts_too(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, engine = setup(language="en")
    api = Api(httpserver)
    api.answer = unauthorized
    monkeypatch.setenv("CAMPAIGN_MONITOR_NOW", "2022-10-01T08:00:00+07:00")
    result = CliRunner().invoke(main, ["--config", str(config.path), "collect", "--source", "twitter"])
    assert result.exit_code == 1
    assert [a["text"] for a in api.alerts] == [
        "x_api failed: the token is invalid or expired (401). Make a new one and put it in the environment "
        "variable X_BEARER_TOKEN."
    ]
    assert TOKEN not in result.output


def test_a_secret_in_a_recorded_error_never_reaches_an_alert(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer
) -> None:
    config, engine = setup()
    api = Api(httpserver)
    now = at(dt.date(2022, 10, 1), 8)
    run_id = start_run(engine, "x_api", "https://api.x.com", now=now)
    # An error text that a careless collector left unredacted: the alert redacts it once more.
    finish_run(engine, run_id, "failed", error=f"odd answer for Bearer {TOKEN} from the proxy", now=now)
    Jobs(config, engine, cal(config, now)).alerts()
    [sent] = api.alerts
    assert sent["text"].startswith("x_api gagal: odd answer for Bearer ")
    assert TOKEN not in json.dumps(sent)
    assert all(TOKEN not in r.message for r in alert_rows(engine))


def test_remind_under_cron_alerts_a_failed_channel(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", httpserver.url_for(REMIND_HOOK))
    httpserver.expect_request(REMIND_HOOK).respond_with_data("boom", status=500)
    config, engine = setup('[reminders]\nchannels = ["webhook"]\n', channels='["log"]')
    monkeypatch.setenv("CAMPAIGN_MONITOR_NOW", "2022-10-01T07:00:00+07:00")
    for _ in range(2):
        result = CliRunner().invoke(main, ["--config", str(config.path), "remind"])
        assert result.exit_code == 1
    assert [(r.kind, r.key, r.status) for r in alert_rows(engine)] == [("reminder_failed", "webhook", "sent")]


def test_reminder_digest_and_alerts_go_to_three_chats_through_one_bot(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.digest import send_digest
    from monitor.reminders import send_reminders

    bot = "123456789:AAE-three_chats_SECRET"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", bot)
    api_base = httpserver.url_for("/").rstrip("/")
    config = load_config(
        write_config(
            '[reminders]\nchannels = ["telegram"]\n'
            f'[reminders.telegram]\nchat_id = "-100warga"\napi_base = "{api_base}"\n'
            '[digest.telegram]\nchat_id = "-100kepala"\n'
            '[alerts.telegram]\nchat_id = "-100teknis"\n'
        )
    )
    engine = open_engine(config.storage.url)
    httpserver.expect_request(f"/bot{bot}/sendMessage", method="POST").respond_with_json({"ok": True})
    now = cal(config, at(dt.date(2022, 10, 1), 7, 30))
    send_reminders(config, engine, now)
    send_digest(config, engine, now)
    send_alerts(config, engine, now, [alerts.AlertMessage("inbox_failed", "a.csv", "Berkas a.csv ditolak")])
    bodies = [request.get_json() for request, _ in httpserver.log]
    assert [(b["chat_id"], b.get("parse_mode")) for b in bodies] == [
        ("-100warga", None),
        ("-100kepala", "HTML"),
        ("-100teknis", None),
    ]
    assert bodies[2]["text"] == "Berkas a.csv ditolak"
    assert bot not in db_text(engine)
    engine.dispose()
