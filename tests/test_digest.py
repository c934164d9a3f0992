"""The morning digest: exact contents against numbers worked out by hand, Telegram HTML and its
limit, and one delivery per day and channel through real local HTTP servers."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.channels import TELEGRAM_LIMIT
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.digest import compose, digests_t, gather, send_digest
from monitor.errors import UsageError
from monitor.records import PostRecord, collect_hashtags
from monitor.store import Rejection, finish_run, start_run, write_batch

WIB = dt.timezone(dt.timedelta(hours=7))
TODAY = dt.date(2022, 10, 1)  # the digest is sent on day 13 and reports on 30 Sep (day 12)
YESTERDAY = dt.date(2022, 9, 30)
HOOK_PATH = "/hooks/digest/sEcReT"
BOT_TOKEN = "123456789:AAE-digest_SECRET_token"
HEAD_CHAT = "-100111"  # the head of the office's chat gets the digest
TAG = "#WeLoveProbolinggo"
HOSTILE = '<b>Ayo</b> & "vote" <a href="http://evil">x</a> #WeLoveProbolinggo'

# A small roster (written by the tests; the layout of tests/data/roster.csv).
ROSTER = """\
name,group,kelurahan,kecamatan,facebook,instagram,twitter
Budi Santoso,KIM Mayangan,Mayangan,Mayangan,,kim_mayangan,
Siti Aminah,KIM Wonoasih,Wonoasih,Wonoasih,,siti.aminah,
Agus Salim,LPM Kanigaran,Kanigaran,Kanigaran,,,agus_salim
Dewi Lestari,KIM Jrebeng Lor,Jrebeng Lor,Kedopok,,,dewi_lestari
Eko Prasetyo,KIM Kedopok,Kedopok,Kedopok,,,eko_k
"""


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


def post(key: str, platform: str, handle: str, when: dt.datetime, likes: int, **kw: Any) -> PostRecord:
    text = kw.pop("text", f"Ayo vote {TAG}")
    fields: dict[str, Any] = {
        "platform": platform,
        "post_key": key,
        "created_at": when,
        "source": "test",
        "text": text,
        "url": f"https://example.org/{platform}/{key}",
        "author_handle": handle,
        "likes": likes,
        "hashtags": collect_hashtags(text),
    }
    fields.update(kw)
    return PostRecord(**fields)


def run_on(
    engine: Engine,
    config: Config,
    source: str,
    when: dt.datetime,
    records: list[PostRecord],
    status: str = "ok",
    error: str | None = None,
    rejects: int = 0,
) -> None:
    """One recorded collection run at `when` that stored `records` (the store's own functions)."""
    run_id = start_run(engine, source, "/inbox/file.csv", now=when)
    rejections = [Rejection(file="file.csv", line=i + 2, reason="bad", raw="x") for i in range(rejects)]
    if records or rejections:
        write_batch(engine, run_id, records, config.campaign.tz, rejections=rejections, now=when)
    finish_run(engine, run_id, status, error=error, now=when + dt.timedelta(minutes=1))


def seed(engine: Engine, config: Config) -> None:
    """The campaign in miniature (numbers worked out in the tests)."""
    # 30 Sep (yesterday): 3 campaign posts, interactions 15 + 45 + 2 = 62, 3 accounts.
    run_on(
        engine,
        config,
        "crowdtangle_instagram",
        at(YESTERDAY, 9),
        [
            post("p1", "instagram", "kim_mayangan", at(YESTERDAY, 8), 10, comments=2, shares=3),
            post("p2", "instagram", "siti.aminah", at(YESTERDAY, 8, 30), 40, comments=5, text=HOSTILE),
            post("r1", "instagram", "someone", at(YESTERDAY, 9), 500, is_repost=True),  # a repost: no
            post("u1", "instagram", "someone", at(YESTERDAY, 9), 900, text="no tag here"),  # untagged
        ],
        rejects=1,
    )
    run_on(
        engine, config, "x_api", at(YESTERDAY, 10), [post("p3", "twitter", "agus_salim", at(YESTERDAY, 9), 2)]
    )
    refused = "the bearer token was refused (HTTP 401); put a valid one in X_BEARER_TOKEN"
    run_on(engine, config, "x_api", at(YESTERDAY, 11), [], status="failed", error=refused)
    run_on(engine, config, "job:inbox", at(YESTERDAY, 11), [])  # scheduler jobs are not sources
    # 29 Sep (the day before): 2 posts by one account, 5 + 3 = 8 interactions.
    day_before = YESTERDAY - dt.timedelta(days=1)
    run_on(
        engine,
        config,
        "crowdtangle_instagram",
        at(day_before, 20),
        [
            post("b1", "instagram", "kim_mayangan", at(day_before, 8), 5),
            post("b2", "instagram", "kim_mayangan", at(day_before, 9), 3),
        ],
    )
    # 25 Sep: Dewi's last post (10). Last 7 days (24-30 Sep): 6 posts, 80 interactions, 4 accounts.
    run_on(
        engine,
        config,
        "x_api",
        at(dt.date(2022, 9, 25), 10),
        [post("d1", "twitter", "dewi_lestari", at(dt.date(2022, 9, 25), 9), 10)],
    )
    # 20 Sep: 2 posts by Budi (1 each). The 7 before (17-23 Sep): 2 posts, 2 interactions, 1 account.
    run_on(
        engine,
        config,
        "x_api",
        at(dt.date(2022, 9, 20), 10),
        [
            post("e1", "instagram", "kim_mayangan", at(dt.date(2022, 9, 20), 8), 1),
            post("e2", "instagram", "kim_mayangan", at(dt.date(2022, 9, 20), 9), 1),
            post("e0", "instagram", "kim_mayangan", at(dt.date(2022, 9, 18), 9), 99),  # before the window
        ],
    )


@pytest.fixture
def setup(
    write_config: Callable[..., Path], tmp_path: Path
) -> Iterator[Callable[..., tuple[Config, Engine]]]:
    engines: list[Engine] = []

    def make(extra: str = "", language: str = "id", roster: str | None = ROSTER) -> tuple[Config, Engine]:
        if roster is not None:
            (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
        config = load_config(write_config(extra, language))
        engine = open_engine(config.storage.url)
        engines.append(engine)
        seed(engine, config)
        return config, engine

    yield make
    for engine in engines:
        engine.dispose()


def calendar_at(config: Config, instant: dt.datetime) -> CampaignCalendar:
    return CampaignCalendar(config.campaign, fixed_clock(instant))


REPORT = '[digest]\nreport_url = "https://laporan.example.go.id/latest/"\n'

EXPECTED_ID = """\
Ringkasan harian We Love Cities 2022 - Kota Probolinggo
Jumat, 30 September 2022 (hari ke-12 dari 43)

Kemarin
Postingan kampanye: 3 (hari sebelumnya 2, +1, +50%)
Interaksi: 62 (hari sebelumnya 8, +54, +675%)
Akun aktif: 3 (hari sebelumnya 1, +2, +200%)

7 hari terakhir (24 Sep s.d. 30 Sep) dibanding 7 hari sebelumnya
Postingan kampanye: 6 (7 hari sebelumnya 2, +4, +200%)
Interaksi: 80 (7 hari sebelumnya 2, +78, +3900%)
Akun aktif: 4 (7 hari sebelumnya 1, +3, +300%)

Postingan teratas
instagram · siti.aminah · 45 interaksi
“<b>Ayo</b> & "vote" <a href="http://evil">x</a> #WeLoveProbolinggo”
https://example.org/instagram/p2

Anggota
Posting kemarin (3): Agus Salim, Budi Santoso, Siti Aminah
Diam 3 hari atau lebih (2): Eko Prasetyo (belum pernah), Dewi Lestari (5 hari)
Kecamatan tertinggal: Kedopok (1 dari 2 anggota aktif dalam 7 hari)

Data masuk kemarin
crowdtangle_instagram: 1 kali, 4 baru, 0 diperbarui, 1 baris ditolak
x_api: 2 kali, 1 baru, 0 diperbarui, 1 gagal (the bearer token was refused (HTTP 401); {fix})

Laporan: https://laporan.example.go.id/latest/""".format(fix="put a valid one in X_BEARER_TOKEN")


def test_digest_says_yesterday_in_numbers_worked_out_by_hand(
    setup: Callable[..., tuple[Config, Engine]],
) -> None:
    config, engine = setup(REPORT)
    cal = calendar_at(config, at(TODAY, 7, 30))
    [d] = send_digest(config, engine, cal).deliveries
    assert d.status == "sent"
    assert d.message == EXPECTED_ID


def test_digest_in_english(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(language="en")
    cal = calendar_at(config, at(TODAY, 7, 30))
    text = send_digest(config, engine, cal, dry_run=True).text
    assert text.startswith(
        "Daily digest We Love Cities 2022 - Kota Probolinggo\n"
        "Friday, 30 September 2022 (campaign day 12 of 43)\n\nYesterday\n"
    )
    assert "Campaign posts: 3 (day before 2, +1, +50%)" in text
    assert "Interactions: 80 (previous 7 days 2, +78, +3900%)" in text
    assert "Last 7 days (24 Sep to 30 Sep) against the 7 before" in text
    assert "Quiet for 3 days or more (2): Eko Prasetyo (never posted), Dewi Lestari (5 days)" in text
    assert "Kecamatan lagging behind: Kedopok (1 of 2 members active in 7 days)" in text
    assert "x_api: 2 runs, 1 new, 0 updated, 1 failed" in text
    assert "Report" not in text  # no report_url and no latest/index.html yet


def test_the_latest_report_path_when_there_is_no_url(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup()
    index = config.reports.out_dir / "latest" / "index.html"
    index.parent.mkdir(parents=True)
    index.write_text("<html></html>")
    cal = calendar_at(config, at(TODAY, 7, 30))
    assert send_digest(config, engine, cal, dry_run=True).text.endswith(f"\n\nLaporan: {index}")


def test_without_a_roster_there_is_no_members_section(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup(roster=None)
    cal = calendar_at(config, at(TODAY, 7, 30))
    text = send_digest(config, engine, cal, dry_run=True).text
    assert "Anggota" not in text and "Postingan teratas" in text


def test_a_day_without_posts_or_arrivals(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup()
    cal = calendar_at(config, at(dt.date(2022, 10, 3), 7, 30))  # about 2 Oct: nothing happened
    text = send_digest(config, engine, cal, dry_run=True).text
    assert "Postingan kampanye: 0 (hari sebelumnya 0, sama)" in text
    assert "Interaksi: 0 (hari sebelumnya 62, -62, -100%)" not in text  # the day before is 1 Oct
    assert "Belum ada postingan kampanye kemarin." in text
    assert "Tidak ada data yang masuk kemarin." in text
    assert "Diam 3 hari atau lebih (2): Eko Prasetyo (belum pernah), Dewi Lestari (7 hari)" in text
    assert "Kecamatan tertinggal: Kedopok (0 dari 2 anggota aktif dalam 7 hari)" in text


def test_long_member_lists_are_capped_with_and_n_more(setup: Callable[..., tuple[Config, Engine]]) -> None:
    members = "".join(f"Anggota Nomor {i:03d},KIM,K,Kec,,,quiet_{i}\n" for i in range(25))
    config, engine = setup(roster=ROSTER + members)
    cal = calendar_at(config, at(TODAY, 7, 30))
    text = send_digest(config, engine, cal, dry_run=True).text
    [quiet] = [ln for ln in text.splitlines() if ln.startswith("Diam")]
    assert quiet.startswith("Diam 3 hari atau lebih (27): Anggota Nomor 000 (belum pernah), ")
    assert quiet.endswith(", dan 17 lainnya")
    assert quiet.count("(belum pernah)") == 10


# ---------------------------------------------------------------------------------------------------------
# Telegram: HTML parse mode, escaping, the limit


def telegram_toml(api_base: str, extra: str = "") -> str:
    return (
        '[reminders]\nchannels = ["log"]\n'
        '[digest]\nchannels = ["telegram"]\n'
        + extra
        + f'[digest.telegram]\nchat_id = "{HEAD_CHAT}"\napi_base = "{api_base}"\n'
    )


def test_telegram_gets_html_with_every_text_escaped(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    config, engine = setup(
        telegram_toml(httpserver.url_for("/").rstrip("/"), 'report_url = "https://r.example/?a=1&b=2"\n')
    )
    httpserver.expect_oneshot_request(f"/bot{BOT_TOKEN}/sendMessage", method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 9}}
    )
    cal = calendar_at(config, at(TODAY, 7, 30))
    [d] = send_digest(config, engine, cal).deliveries
    assert d.status == "sent"
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert body["chat_id"] == HEAD_CHAT and body["parse_mode"] == "HTML"
    html = body["text"]
    assert html.startswith("<b>Ringkasan harian We Love Cities 2022 - Kota Probolinggo</b>\n")
    assert "<b>Kemarin</b>\nPostingan kampanye: <b>3 (hari sebelumnya 2, +1, +50%)</b>\n" in html
    assert (
        "“&lt;b&gt;Ayo&lt;/b&gt; &amp; &quot;vote&quot; &lt;a href=&quot;http://evil&quot;&gt;x&lt;/a&gt; "
        "#WeLoveProbolinggo”" in html
    )
    assert '<a href="https://example.org/instagram/p2">https://example.org/instagram/p2</a>' in html
    assert 'Laporan: <a href="https://r.example/?a=1&amp;b=2">https://r.example/?a=1&amp;b=2</a>' in html
    # The only tags are ours.
    import re

    assert set(re.findall(r"</?([a-z]+)", html)) == {"b", "a"}
    assert '<a href="http://evil"' not in html


def test_telegram_text_stays_within_4096_characters(setup: Callable[..., tuple[Config, Engine]]) -> None:
    long_name = "Nama Anggota Yang Panjang <&> " * 20  # 600 characters, longer once escaped
    members = "".join(f"{long_name}{i},KIM,K,Kecamatan {i % 40},,,q{i}\n" for i in range(400))
    config, engine = setup(roster=ROSTER + members)
    cal = calendar_at(config, at(TODAY, 7, 30))
    message = compose(config, cal, gather(config, engine, cal, YESTERDAY))
    assert len(message.html) <= TELEGRAM_LIMIT
    # Ten such names would not fit: the lists were shortened, and say how many were left out.
    [quiet] = [ln for ln in message.html.splitlines() if ln.startswith("Diam")]
    shown = quiet.count("Nama Anggota Yang Panjang &lt;&amp;&gt; " * 20)
    assert 0 < shown < 9
    assert quiet.startswith("Diam 3 hari atau lebih (402): Eko Prasetyo (belum pernah), ")
    assert quiet.endswith(f", dan {402 - 1 - shown} lainnya")
    assert message.html.count("<b>") == message.html.count("</b>")


# ---------------------------------------------------------------------------------------------------------
# Once per day and channel


@pytest.fixture
def hook_env(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    url = httpserver.url_for(HOOK_PATH)
    monkeypatch.setenv("CAMPAIGN_MONITOR_WEBHOOK_URL", url)
    return url


WEBHOOK = '[digest]\nchannels = ["log", "webhook"]\n'


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(digests_t).order_by(digests_t.c.local_date, digests_t.c.channel)))


def test_webhook_once_then_already_sent(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, hook_env: str
) -> None:
    config, engine = setup(WEBHOOK)
    cal = calendar_at(config, at(TODAY, 7, 30))
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("ok")
    assert [d.status for d in send_digest(config, engine, cal).deliveries] == ["sent", "sent"]
    later = calendar_at(config, at(TODAY, 21))
    assert [d.status for d in send_digest(config, engine, later).deliveries] == ["already_sent"] * 2
    [(request, _)] = httpserver.log
    payload = request.get_json()
    assert payload["kind"] == "digest" and payload["id"] == "2022-10-01:digest:webhook"
    assert payload["date"] == "2022-10-01" and payload["text"].startswith("Ringkasan harian")
    assert [(r.channel, r.status, r.attempts) for r in rows(engine)] == [
        ("log", "sent", 1),
        ("webhook", "sent", 1),
    ]


def test_a_failed_digest_is_retried_the_same_day_and_never_late(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, hook_env: str
) -> None:
    config, engine = setup('[digest]\nchannels = ["webhook"]\n')
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("down", status=503)
    [d] = send_digest(config, engine, calendar_at(config, at(TODAY, 7, 30))).deliveries
    assert (d.status, d.error) == ("failed", "HTTP 503: down")
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")
    [d] = send_digest(config, engine, calendar_at(config, at(TODAY, 7, 45))).deliveries
    assert d.status == "sent"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)

    # The next day fails all day; the day after, it is not sent late but missed.
    httpserver.expect_request(HOOK_PATH).respond_with_data("down", status=503)
    nextday = dt.date(2022, 10, 2)
    [d] = send_digest(config, engine, calendar_at(config, at(nextday, 7, 30))).deliveries
    assert d.status == "failed"
    sent_before = len(httpserver.log)
    third = calendar_at(config, at(dt.date(2022, 10, 3), 0, 5))
    [d] = send_digest(config, engine, third, nextday).deliveries
    assert d.status == "missed"
    assert len(httpserver.log) == sent_before
    assert [r.status for r in rows(engine)] == ["sent", "missed"]


def test_dates_outside_and_in_the_future(setup: Callable[..., tuple[Config, Engine]]) -> None:
    config, engine = setup()
    cal = calendar_at(config, at(TODAY, 7, 30))
    # 19 Sep reports on 18 Sep: before the campaign. 1 Nov reports on 31 Oct: the last digest.
    assert [d.status for d in send_digest(config, engine, cal, dt.date(2022, 9, 19)).deliveries] == [
        "outside_window"
    ]
    assert send_digest(config, engine, cal, dt.date(2022, 11, 1), dry_run=True).about == dt.date(2022, 10, 31)
    with pytest.raises(UsageError, match="not sent early"):
        send_digest(config, engine, cal, dt.date(2022, 10, 2))
    assert rows(engine) == []


def test_digest_command_dry_run_and_send(
    setup: Callable[..., tuple[Config, Engine]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, engine = setup(REPORT)
    monkeypatch.setenv("CAMPAIGN_MONITOR_NOW", "2022-10-01T07:30:00+07:00")
    runner = CliRunner()
    dry = runner.invoke(main, ["--config", str(config.path), "digest", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("digest of 2022-10-01 (about 2022-09-30):\n" + EXPECTED_ID + "\n\n")
    assert "  log: dry run - nothing sent or recorded" in dry.output
    assert rows(engine) == []
    sent = runner.invoke(main, ["--config", str(config.path), "digest"])
    assert sent.exit_code == 0 and "  log: sent" in sent.output
    again = runner.invoke(main, ["--config", str(config.path), "digest"])
    assert "  log: already sent earlier; not sent again" in again.output
    outside = runner.invoke(main, ["--config", str(config.path), "digest", "--date", "2022-09-19"])
    assert outside.exit_code == 0 and "outside the campaign" in outside.output
    bad = runner.invoke(main, ["--config", str(config.path), "digest", "--date", "1 Oct"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


@pytest.mark.parametrize("processes", [2, 3])
def test_simultaneous_digest_processes_deliver_once(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, tmp_path: Path, processes: int
) -> None:
    config, engine = setup(WEBHOOK)

    def slow_ok(request: Request) -> Response:
        time.sleep(0.5)  # keep the delivery in flight while the other processes try to claim it
        return Response("ok")

    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(slow_ok)
    env = {
        **os.environ,
        "CAMPAIGN_MONITOR_NOW": "2022-10-01T07:30:00+07:00",
        "CAMPAIGN_MONITOR_WEBHOOK_URL": httpserver.url_for(HOOK_PATH),
    }
    command = [sys.executable, "-m", "monitor", "--config", str(config.path), "digest"]
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
    assert sum("  webhook: sent" in out for out, _ in outputs) == 1
    assert [(r.channel, r.status, r.attempts) for r in rows(engine)] == [
        ("log", "sent", 1),
        ("webhook", "sent", 1),
    ]


def test_the_scheduler_sends_it_after_its_time_and_catches_up_once(
    setup: Callable[..., tuple[Config, Engine]],
) -> None:
    from monitor.scheduler import Jobs, job_statuses

    config, engine = setup()
    early = Jobs(config, engine, calendar_at(config, at(TODAY, 7, 15)))
    assert not early.digest_due() and early.digest_retry() == "skipped"
    [status] = [s for s in job_statuses(config, engine, early.calendar) if s.job == "digest"]
    assert status.next_run == at(TODAY, 7, 30)
    late = Jobs(config, engine, calendar_at(config, at(TODAY, 9)))  # `run` started after 07:30
    assert late.digest_due()
    assert "ok" in late.catch_up()
    assert not late.digest_due() and late.digest_retry() == "skipped"
    assert [(r.local_date, r.status) for r in rows(engine)] == [(TODAY, "sent")]
    # The day after the campaign's last day still gets the digest of that day; the day after, none.
    assert Jobs(config, engine, calendar_at(config, at(dt.date(2022, 11, 1), 8))).digest_due()
    assert not Jobs(config, engine, calendar_at(config, at(dt.date(2022, 11, 2), 8))).digest_due()


def test_a_new_section_is_one_fact_and_one_function(
    setup: Callable[..., tuple[Config, Engine]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor import digest
    from monitor.messages import Section, line

    config, engine = setup(REPORT)
    monkeypatch.setitem(digest.EXTRA_FACTS, "votes", lambda config, engine, calendar, day: 1234)

    def votes(c: digest.Composing) -> Section:
        return Section("Vote", (line(f"Vote kemarin: {c.number(c.facts.extra['votes'])}"),))

    monkeypatch.setattr(digest, "SECTIONS", [*digest.SECTIONS[:2], votes, *digest.SECTIONS[2:]])
    text = send_digest(config, engine, calendar_at(config, at(TODAY, 7, 30)), dry_run=True).text
    assert (
        "Akun aktif: 4 (7 hari sebelumnya 1, +3, +300%)\n\nVote\nVote kemarin: 1.234\n\nPostingan teratas"
        in text
    )


def test_a_claim_of_a_process_that_died_is_taken_over_before_the_lease_ends(
    setup: Callable[..., tuple[Config, Engine]], httpserver: HTTPServer, hook_env: str
) -> None:
    import socket

    from sqlalchemy import insert

    config, engine = setup('[digest]\nchannels = ["webhook"]\n')
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    tomorrow = TODAY + dt.timedelta(days=1)
    claims = [
        (TODAY, f"{dead.stdout.strip()}@{socket.gethostname()[:20]}:abc"),  # a `digest` killed mid-delivery
        (tomorrow, "1@another-machine:abc"),  # a process elsewhere: its liveness is unknown here
    ]
    with engine.begin() as conn:
        for day, token in claims:
            conn.execute(
                insert(digests_t).values(
                    local_date=day, channel="webhook", message="old", status="sending", attempts=1,
                    claimed_at=at(day, 7, 29), claim_token=token,
                )
            )  # fmt: skip
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")
    [d] = send_digest(config, engine, calendar_at(config, at(TODAY, 7, 31))).deliveries
    assert d.status == "sent"  # no waiting for the 10-minute lease
    [d] = send_digest(config, engine, calendar_at(config, at(tomorrow, 7, 31))).deliveries
    assert d.status == "in_progress"  # trusted until its lease ends
    assert len(httpserver.log) == 1
