"""The roster credits a member with the posts they submitted once the posts are seen, even when the
source names no author: every number below is counted by hand from the posts and messages here."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.records import PostRecord, collect_hashtags
from monitor.roster import load_roster
from monitor.store import finish_run, start_run, write_batch
from monitor.submissions import import_file, list_submissions, refresh_states, waiting_submissions
from reports.roster import roster_report, template_context, write_roster_csv

WIB = dt.timezone(dt.timedelta(hours=7))
START, END = dt.date(2022, 9, 19), dt.date(2022, 9, 30)

# Rina's account is on no source (Instagram's hashtag API names no authors); Budi's Instagram account
# is on the roster; Siti never posts herself.
ROSTER = """\
name,group,kelurahan,kecamatan,facebook,instagram,twitter,whatsapp
Budi Santoso,KIM Mayangan,Mayangan,Mayangan,,kim_mayangan,,Budi KIM Mayangan
Rina Wati,KIM Kebonsari,Kebonsari Kulon,Kanigaran,,,,+62 812-0000-0303
Siti Aminah,KIM Kanigaran,Kanigaran,Kanigaran,,,,Siti KIM Kanigaran
"""

# The setor-link group's export (Android, Indonesian phone).
CHAT = """\
20/09/22 08.00 - Admin Kominfo telah membuat grup "KIM Setor Link"
20/09/22 09.30 - +62 812-0000-0303: Setor link kak
https://www.instagram.com/p/CrinaPost01/?igsh=abc
20/09/22 09.31 - +62 812-0000-0303: https://www.instagram.com/reel/CrinaPost02/
22/09/22 19.05 - +62 812-0000-0303: https://www.instagram.com/p/CrinaPost03/ https://www.instagram.com/p/CrinaWait04/
22/09/22 19.10 - Siti KIM Kanigaran: https://www.instagram.com/p/CrinaPost03/
23/09/22 07.00 - +62 812-0000-0303: https://www.instagram.com/p/CrinaNoTag5/
24/09/22 10.00 - Budi KIM Mayangan: https://www.instagram.com/p/CbudiOwn001/
24/09/22 10.01 - +62 812-0000-0303: https://www.instagram.com/p/CbudiOwn002/
"""


def post(
    key: str, when: dt.datetime, likes: int, comments: int, handle: str | None = None, tagged: bool = True
) -> PostRecord:
    text = "Ayo vote #WeLoveProbolinggo" if tagged else "Jalan-jalan pagi"
    return PostRecord(
        platform="instagram",
        post_key=key,
        created_at=when,
        source="instagram_api",
        text=text,
        author_handle=handle,
        likes=likes,
        comments=comments,
        hashtags=collect_hashtags(text),
    )


POSTS = [
    # No author: the hashtag API's posts. Rina posted 1, 2 on 20 Sep and 3 on 22 Sep.
    post("CrinaPost01", dt.datetime(2022, 9, 20, 9, 0, tzinfo=WIB), likes=10, comments=2),
    post("CrinaPost02", dt.datetime(2022, 9, 20, 9, 20, tzinfo=WIB), likes=5, comments=0),
    post("CrinaPost03", dt.datetime(2022, 9, 22, 18, 0, tzinfo=WIB), likes=7, comments=1),
    # seen, but without the campaign's tag: not a campaign post, so it counts for nobody
    post("CrinaNoTag5", dt.datetime(2022, 9, 23, 6, 0, tzinfo=WIB), likes=50, comments=5, tagged=False),
    # Budi's own account wrote these; Rina's submission of the second does not move it to her
    post(
        "CbudiOwn001", dt.datetime(2022, 9, 24, 9, 0, tzinfo=WIB), likes=3, comments=0, handle="kim_mayangan"
    ),
    post(
        "CbudiOwn002", dt.datetime(2022, 9, 24, 9, 30, tzinfo=WIB), likes=4, comments=1, handle="Kim_Mayangan"
    ),
]


@pytest.fixture
def setup(tmp_path: Path, write_config: object) -> tuple[Config, Engine]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    config = load_config(
        write_config('[roster]\npath = "roster.csv"\n[submissions]\nfollow_short_links = false\n')
    )  # type: ignore[operator]
    engine = open_engine(config.storage.url)
    yield config, engine
    engine.dispose()


def store(engine: Engine, config: Config, records: list[PostRecord]) -> None:
    run = start_run(engine, "instagram_api", "test")
    write_batch(engine, run, records, config.campaign.tz)
    finish_run(engine, run, "ok")


def test_a_member_credited_only_through_submitted_links(setup: tuple[Config, Engine], tmp_path: Path) -> None:
    config, engine = setup
    roster = load_roster(config.roster.path)
    chat = tmp_path / "WhatsApp Chat with KIM Setor Link.txt"
    chat.write_text(CHAT, encoding="utf-8")

    # Before any source has the posts: everything Rina sent is waiting, and she has no post yet.
    import_file(config, engine, roster, chat)
    before = roster_report(engine, roster, config.campaign, START, END)
    rina = before.table.set_index("name").loc["Rina Wati"]
    assert (rina["posts"], rina["waiting"]) == (0, 6)
    assert [w.post_key for w in waiting_submissions(engine)] == [
        "CrinaPost01",
        "CrinaPost02",
        "CrinaPost03",
        "CrinaWait04",
        "CrinaNoTag5",
        "CbudiOwn001",
        "CbudiOwn002",
    ]

    # The author-less posts arrive.
    store(engine, config, POSTS)
    report = roster_report(engine, roster, config.campaign, START, END)
    table = report.table.set_index("name")
    # Rina: CrinaPost01 (10+2), CrinaPost02 (5+0) on 20 Sep, CrinaPost03 (7+1) on 22 Sep = 3 posts,
    # 25 interactions, 2 active days, last 22 Sep. CrinaNoTag5 has no campaign tag (not counted),
    # CbudiOwn002 is Budi's account's post. Still waiting: CrinaWait04 only.
    assert table.loc[
        "Rina Wati", ["posts", "interactions", "active_days", "last_post_date", "waiting"]
    ].tolist() == [
        3,
        25,
        2,
        dt.date(2022, 9, 22),
        1,
    ]
    # Budi: his account's two posts of 24 Sep (3+0, 4+1); his own submission of the first adds nothing.
    assert table.loc[
        "Budi Santoso", ["posts", "interactions", "active_days", "last_post_date", "waiting"]
    ].tolist() == [
        2,
        8,
        1,
        dt.date(2022, 9, 24),
        0,
    ]
    # Siti sent CrinaPost03 after Rina: a duplicate, refused, credited to nobody.
    assert table.loc["Siti Aminah", ["posts", "interactions", "waiting"]].tolist() == [0, 0, 0]
    siti = list_submissions(engine, member="Siti Aminah")
    assert [(s.state, s.reason) for s in siti] == [
        ("refused", "duplicate of another member's submission (Rina Wati, 2022-09-22)")
    ]
    # Every campaign post of the range is a roster post now.
    assert int(report.share["campaign_posts"].sum()) == int(report.share["roster_posts"].sum()) == 5

    # The quiet list (3 days without a post up to 30 Sep): Rina since 22 Sep (8 days) with 1 waiting
    # link, Budi since 24 Sep (6 days).
    quiet = report.quiet.set_index("name")
    assert quiet.loc["Rina Wati", ["days_quiet", "waiting"]].tolist() == [8, 1]
    assert quiet.loc["Budi Santoso", ["days_quiet", "waiting"]].tolist() == [6, 0]
    assert "Siti Aminah" not in quiet.index  # never posted: not "gone quiet"

    # roster.csv carries the same numbers, with the waiting links last
    write_roster_csv(report, tmp_path / "out")
    with (tmp_path / "out" / "roster.csv").open(encoding="utf-8-sig") as handle:
        by_name = {r["name"]: r for r in csv.DictReader(handle)}
    assert {
        k: by_name["Rina Wati"][k]
        for k in ("posts", "interactions", "active_days", "last_post_date", "waiting")
    } == {
        "posts": "3",
        "interactions": "25",
        "active_days": "2",
        "last_post_date": "2022-09-22",
        "waiting": "1",
    }

    # the report page's roster block: the waiting total (its note names the command that lists them)
    assert template_context(report, tmp_path / "out")["waiting"] == 1

    # The stored states follow the data
    refresh_states(engine, config)
    states = {s.post_key: s.state for s in list_submissions(engine, member="Rina Wati")}
    assert states == {
        "CrinaPost01": "seen",
        "CrinaPost02": "seen",
        "CrinaPost03": "seen",
        "CrinaWait04": "waiting",
        "CrinaNoTag5": "seen",
        "CbudiOwn002": "seen",
    }
