"""The Telegram link-submission bot against a local server that speaks the Bot API."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import db_text, fast_session
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select
from werkzeug import Request, Response

from monitor.bot import Bot, bot_name
from monitor.campaign import CampaignCalendar
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.models import BotOffset, BotReply, CollectionRun, Submission
from monitor.submissions import list_submissions

DATA = Path(__file__).parent / "data" / "submissions"
TOKEN = "7000000001:AAH-secret-bot-token-value_0123456789"
DAY2 = 1663640000  # 2022-09-20 09:13 WIB: campaign day 2
GROUP = -1001000000001

ROSTER = """\
name,group,kelurahan,kecamatan,facebook,instagram,twitter,whatsapp,telegram
Contoh Satu,KIM Contoh Mangunharjo,Mangunharjo,Mayangan,,,,,@Contoh_Satu
Contoh Dua,KIM Contoh Sukabumi,Sukabumi,Mayangan,,,,,5000000002
"""


class FakeBotApi:
    """getUpdates with real offset semantics (an update is gone once a higher offset is asked for),
    served at most `page` at a time; sendMessage recorded. `faults` pops scripted error answers."""

    def __init__(self, updates: list[dict[str, Any]], page: int = 2) -> None:
        self.updates = updates
        self.page = page
        self.offsets: list[int | None] = []
        self.sent: list[dict[str, Any]] = []
        self.get_faults: list[Response] = []
        self.send_faults: list[Response] = []

    def get_updates(self, request: Request) -> Response:
        offset = request.args.get("offset")
        self.offsets.append(int(offset) if offset is not None else None)
        assert request.args["allowed_updates"] == '["message", "edited_message"]'
        if self.get_faults:
            return self.get_faults.pop(0)
        if offset is not None:  # confirmed updates are forgotten, as Telegram does
            self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
        limit = min(int(request.args.get("limit", 100)), self.page)
        return _json({"ok": True, "result": self.updates[:limit]})

    def send_message(self, request: Request) -> Response:
        if self.send_faults:
            return self.send_faults.pop(0)
        body = json.loads(request.get_data())
        self.sent.append(body)
        return _json(
            {"ok": True, "result": {"message_id": 9000 + len(self.sent), "chat": {"id": body["chat_id"]}}}
        )


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def too_many(retry_after: int) -> Response:
    return _json(
        {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        },
        429,
    )


def fixture_updates() -> list[dict[str, Any]]:
    """The recorded private / supergroup / edited updates, moved into the campaign, plus a non-member,
    a group the config does not list, a private message without a link and another member."""
    updates = json.loads((DATA / "getUpdates_private_group_edited_SYNTHETIC.json").read_text())["result"]
    for u in updates:
        (u.get("message") or u["edited_message"])["date"] = DAY2
    stranger = copy.deepcopy(updates[0])
    stranger["update_id"] = 900000004
    stranger["message"].update(
        message_id=12,
        text="ini link saya https://www.instagram.com/p/CstrangerX1/",
        entities=[{"offset": 14, "length": 40, "type": "url"}],
    )
    stranger["message"]["from"] = {
        "id": 5000000099,
        "is_bot": False,
        "first_name": "Orang",
        "username": "orang_lain",
    }
    stranger["message"]["chat"] = {"id": 5000000099, "type": "private", "first_name": "Orang"}
    other_group = copy.deepcopy(updates[1])
    other_group["update_id"] = 900000005
    other_group["message"]["chat"] = {"id": -1009999999999, "title": "Grup lain", "type": "supergroup"}
    hello = copy.deepcopy(updates[0])
    hello["update_id"] = 900000006
    hello["message"].update(message_id=13, text="halo min", entities=[])
    duplicate = copy.deepcopy(updates[1])
    duplicate["update_id"] = 900000007
    duplicate["message"].update(message_id=2046)
    duplicate["message"]["from"] = updates[0]["message"]["from"]  # Contoh Satu sends Dua's video again
    return [*updates, stranger, other_group, hello, duplicate]


@pytest.fixture
def bot_env(
    tmp_path: Path,
    write_config: Callable[..., Path],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    calendar: CampaignCalendar,
) -> tuple[Config, Engine, FakeBotApi, Callable[[], Bot]]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    monkeypatch.setenv("TEST_BOT_TOKEN", TOKEN)
    config = load_config(
        write_config(
            f"""
[roster]
path = "roster.csv"

[submissions]
follow_short_links = false

[submissions.telegram]
enabled = true
token_env = "TEST_BOT_TOKEN"
api_base = "{httpserver.url_for("").rstrip("/")}"
groups = [{GROUP}]
poll_seconds = 0
max_wait_seconds = 5
"""
        )
    )
    engine = open_engine(config.storage.url)
    api = FakeBotApi(fixture_updates())
    httpserver.expect_request(f"/bot{TOKEN}/getUpdates").respond_with_handler(api.get_updates)
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_handler(
        api.send_message
    )
    sleeps: list[float] = []

    def new_bot() -> Bot:  # a fresh process: nothing kept but the database
        return Bot(config, engine, calendar, sleep=sleeps.append, session_factory=fast_session)

    new_bot.sleeps = sleeps  # type: ignore[attr-defined]
    yield config, engine, api, new_bot
    engine.dispose()


def test_updates_in_pages_private_and_group_chats_members_and_strangers(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]],
) -> None:
    config, engine, api, new_bot = bot_env
    result = new_bot().run_pass()

    assert (result.status, result.updates, result.pages) == ("ok", 7, 4)
    # the first call has no offset; every later one confirms the page before it
    assert api.offsets == [None, 900000003, 900000005, 900000007, 900000008]
    got = [(s.via, s.member, s.sender, s.platform, s.post_key, s.state) for s in list_submissions(engine)]
    assert got == [
        ("telegram", "Contoh Satu", "@contoh_satu", "instagram", "DSYNTHig002", "waiting"),
        # text_link behind "di sini" after an emoji (UTF-16 offsets), in the listed supergroup
        ("telegram", "Contoh Dua", "Contoh Dua (id 5000000002)", "tiktok", "7540000000000000002", "waiting"),
        # the edit brings a new link: recorded too
        ("telegram", "Contoh Dua", "Contoh Dua (id 5000000002)", "tiktok", "7540000000000000003", "waiting"),
        ("telegram", None, "@orang_lain", "instagram", "CstrangerX1", "refused"),
        ("telegram", "Contoh Satu", "@contoh_satu", "tiktok", "7540000000000000002", "refused"),
    ]
    assert list_submissions(engine, "refused")[0].reason == "sender not on the roster (@orang_lain)"

    # one answer per message, each to the chat it came from, as a reply to it; none to the unlisted group
    assert [(m["chat_id"], m["reply_parameters"]["message_id"]) for m in api.sent] == [
        (5000000001, 11),
        (GROUP, 2045),
        (GROUP, 2045),
        (5000000099, 12),
        (5000000001, 13),
        (GROUP, 2046),
    ]
    texts = [m["text"] for m in api.sent]
    assert texts[0] == (
        "Terima kasih, Contoh Satu!\n✅ Instagram tercatat untuk hari kampanye ke-2 (2022-09-20). "
        "Postingannya belum ada di data; akan dihitung begitu muncul."
    )
    assert "TikTok tercatat untuk hari kampanye ke-2" in texts[1]
    assert texts[3].startswith("Mohon maaf, akun Telegram Anda (@orang_lain) belum terdaftar di roster")
    assert texts[4].startswith("Halo! Kirimkan link postingan")
    assert texts[5].endswith("postingan ini sudah disetor oleh anggota lain.")
    assert all(m["link_preview_options"] == {"is_disabled": True} and "parse_mode" not in m for m in api.sent)

    # a second pass finds nothing new and sends nothing
    again = new_bot().run_pass()
    assert (again.updates, len(api.sent)) == (0, 6)
    with engine.connect() as conn:
        assert conn.execute(select(BotOffset.bot, BotOffset.next_offset)).all() == [
            ("telegram:7000000001", 900000008)
        ]


def test_a_restart_in_the_middle_loses_nothing_and_does_nothing_twice(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]],
) -> None:
    config, engine, api, new_bot = bot_env
    # The second getUpdates fails (500 after the session's retry), ending the first process's pass.
    api.get_faults = [_json({"ok": True, "result": api.updates[:2]})]
    api.get_faults += [
        _json({"ok": False, "error_code": 500, "description": "Internal Server Error"}, 500) for _ in range(2)
    ]
    first = new_bot().run_pass()
    assert (first.status, first.updates) == ("partial", 2)
    assert "Internal Server Error" in (first.error or "")
    with engine.connect() as conn:
        assert conn.execute(select(BotOffset.next_offset)).scalar() == 900000003

    second = new_bot().run_pass()  # the restarted process
    assert (second.status, second.updates) == ("ok", 5)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Submission)).scalar() == 5
        assert conn.execute(select(func.count()).select_from(BotReply)).scalar() == 6
        runs = conn.execute(
            select(CollectionRun.source, CollectionRun.status).order_by(CollectionRun.id)
        ).all()
    assert len(api.sent) == 6  # every message answered exactly once
    assert runs == [("telegram_bot", "partial"), ("telegram_bot", "ok")]


def test_429_with_retry_after_is_waited_for_or_ends_the_pass_keeping_the_answer(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]],
) -> None:
    config, engine, api, new_bot = bot_env
    api.get_faults = [too_many(3)]  # short enough (max_wait_seconds = 5): waited for, then retried
    api.send_faults = [too_many(120)]  # too long: the pass stops; the answer stays pending
    first = new_bot().run_pass()
    assert new_bot.sleeps == [3]  # type: ignore[attr-defined]
    assert first.status == "rate_limited" and "rate limited until" in (first.error or "")
    assert "retry after 120" in (first.error or "")
    assert api.sent == []
    with engine.connect() as conn:
        pending = conn.execute(select(BotReply.status, BotReply.chat_id)).all()
        offset = conn.execute(select(BotOffset.next_offset)).scalar()
    assert pending == [("pending", 5000000001)] and offset == 900000002  # the update itself is recorded

    second = new_bot().run_pass()
    assert second.status == "ok"
    assert [m["reply_parameters"]["message_id"] for m in api.sent][:1] == [11]  # the held answer first
    assert len(api.sent) == 6


def test_an_answer_the_chat_refuses_is_recorded_and_not_retried(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]],
) -> None:
    config, engine, api, new_bot = bot_env
    api.send_faults = [
        _json({"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, 403)
    ]
    assert new_bot().run_pass().status == "ok"
    with engine.connect() as conn:
        first = conn.execute(select(BotReply.status, BotReply.error).order_by(BotReply.id)).first()
    assert first is not None and first.status == "failed" and "bot was blocked by the user" in first.error
    assert len(api.sent) == 5


def test_the_token_is_never_shown_stored_or_logged(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]], caplog: pytest.LogCaptureFixture
) -> None:
    config, engine, api, new_bot = bot_env
    caplog.set_level(logging.DEBUG)
    api.get_faults = [_json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)]
    result = new_bot().run_pass()
    assert result.status == "failed"
    assert result.error is not None and "TEST_BOT_TOKEN" in result.error and "Unauthorized" in result.error
    api.get_faults = [_json({"ok": False, "error_code": 500, "description": f"echo {TOKEN}"}, 500)] * 2
    assert new_bot().run_pass().status == "failed"
    new_bot().run_pass()
    secret = TOKEN.split(":", 1)[1]
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # not the test server's log
    assert ours and not any(secret in line for line in ours)
    assert secret not in db_text(engine)
    assert bot_name(TOKEN) == "telegram:7000000001"


def test_without_a_token_the_pass_fails_with_the_variable_named(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, engine, api, new_bot = bot_env
    monkeypatch.delenv("TEST_BOT_TOKEN")
    result = new_bot().run_pass()
    assert result.status == "failed" and "TEST_BOT_TOKEN is not set" in (result.error or "")
    assert api.offsets == []


def test_run_once_polls_the_bot(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]], calendar: CampaignCalendar
) -> None:
    from monitor.scheduler import Jobs, build_scheduler

    config, engine, api, _ = bot_env
    jobs = Jobs(config, engine, calendar)
    scheduler = build_scheduler(config, jobs)
    job = scheduler.get_job("telegram-bot")
    assert job is not None and job.executor == "bot"
    assert jobs.telegram_bot(poll_seconds=0) == "ok"
    assert len(api.sent) == 6


def test_a_failure_that_repeats_every_pass_is_recorded_once_an_hour(
    bot_env: tuple[Config, Engine, FakeBotApi, Callable[[], Bot]], tmp_path: Path
) -> None:
    config, engine, api, new_bot = bot_env
    (tmp_path / "roster.csv").unlink()
    results = [new_bot().run_pass() for _ in range(3)]
    assert [r.status for r in results] == ["failed"] * 3
    assert "the bot needs the roster: no roster file" in (results[0].error or "")
    assert api.offsets == []  # the messages stay queued at Telegram until the roster is back
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CollectionRun)).scalar() == 1
