"""The community roster: account cells, the roster file, matching in SQL, and `roster check`."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.records import PostRecord, collect_hashtags
from monitor.roster import (
    AccountError,
    RosterFileError,
    RosterMissing,
    check_roster,
    describe_check,
    load_roster,
    parse_account,
    parse_accounts,
    printable,
)
from monitor.store import finish_run, start_run, write_batch

DATA = Path(__file__).parent / "data"
WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.parametrize(
    ("platform", "cell", "account"),
    [
        ("facebook", "KIM.Mayangan", "kim.mayangan"),
        ("facebook", "@kim.mayangan", "kim.mayangan"),
        ("facebook", "https://www.facebook.com/KIM.Mayangan/", "kim.mayangan"),
        ("facebook", "http://facebook.com/kim.mayangan?ref=bookmarks", "kim.mayangan"),
        ("facebook", "m.facebook.com/Kim.Mayangan", "kim.mayangan"),
        ("facebook", "https://web.facebook.com/kim.mayangan/posts/123", "kim.mayangan"),
        ("facebook", "https://www.facebook.com/profile.php?id=100012345678901", "100012345678901"),
        ("facebook", "https://m.facebook.com/profile.php?id=100012345678901&ref=x", "100012345678901"),
        ("facebook", "https://www.facebook.com/people/Budi-Santoso/100012345678901/", "100012345678901"),
        ("facebook", "https://www.facebook.com/pg/KIMMayangan/about/", "kimmayangan"),
        ("facebook", "https://www.facebook.com/100012345678901", "100012345678901"),
        ("facebook", " 100012345678901 ", "100012345678901"),
        ("instagram", "Kim_Mayangan", "kim_mayangan"),
        ("instagram", "@Kim.Mayangan", "kim.mayangan"),
        ("instagram", "https://www.instagram.com/Kim_Mayangan/", "kim_mayangan"),
        ("instagram", "instagram.com/kim_mayangan?igshid=abc", "kim_mayangan"),
        ("twitter", "@KimMayangan", "kimmayangan"),
        ("twitter", "https://twitter.com/KimMayangan", "kimmayangan"),
        ("twitter", "https://x.com/kimmayangan/", "kimmayangan"),
        ("twitter", "https://mobile.twitter.com/KimMayangan/status/1575000000000000000", "kimmayangan"),
        ("twitter", "@LPM_PohsangitKidul", "lpm_pohsangitkidul"),  # longer than X allows today: kept
        # A page address with its name and id: the id (Facebook usernames have no hyphens).
        ("facebook", "https://www.facebook.com/KIM-Mayangan-123456789012345/", "123456789012345"),
        ("facebook", "facebook.com/Kelurahan-Sukabumi-Kota-Probolinggo-100064000000001", "100064000000001"),
        ("tiktok", "@Kim.Mayangan", "kim.mayangan"),
        ("tiktok", "https://www.tiktok.com/@kim_mayangan", "kim_mayangan"),
        ("tiktok", "https://www.tiktok.com/@kim_mayangan/video/7540000000000000001", "kim_mayangan"),
        ("threads", "https://www.threads.net/@Kim_Mayangan", "kim_mayangan"),
        ("threads", "threads.com/@kim_mayangan/post/DSYNTH0001a", "kim_mayangan"),
    ],
)
def test_account_cell_forms(platform: str, cell: str, account: str) -> None:
    assert parse_account(platform, cell) == account


@pytest.mark.parametrize(
    ("platform", "cell", "why"),
    [
        ("instagram", "https://www.youtube.com/@kim_mayangan", "link to youtube.com"),
        ("instagram", "https://www.tiktok.com/@kim_mayangan", "TikTok link in the instagram column"),
        ("tiktok", "https://www.tiktok.com/tag/weloveprobolinggo", "not an account"),
        ("threads", "https://www.threads.com/search?q=kim", "not an account"),
        ("instagram", "https://www.facebook.com/kim.mayangan", "Facebook link in the instagram column"),
        ("twitter", "https://instagram.com/kim", "Instagram link in the twitter column"),
        ("instagram", "Budi Santoso", "has spaces"),
        ("instagram", "https://www.instagram.com/p/CjX1abc/", "not an account"),
        ("facebook", "https://www.facebook.com/groups/kim.probolinggo", "not an account"),
        ("facebook", "https://www.facebook.com/profile.php", "no numeric id"),
        ("twitter", "kim.mayangan", "not a valid X/Twitter username"),
        ("instagram", "kïm", "not a valid Instagram username"),
        ("twitter", "https://twitter.com/", "names no account"),
        ("facebook", "facebook.com", "names no account"),
        ("facebook", "www.facebook.com", "names no account"),
        ("instagram", "Instagram.com", "names no account"),
        # Excel damage: the digits are lost, so the cell is refused with how to avoid it.
        ("facebook", "1.00012E+14", "Excel changed this id; type it as text"),
        ("facebook", "1E+14", "Excel changed this id"),
        ("facebook", "100012345678901.0", "Excel changed this id; type it as text"),
    ],
)
def test_account_cells_that_name_no_account(platform: str, cell: str, why: str) -> None:
    with pytest.raises(AccountError, match=why):
        parse_account(platform, cell)


@pytest.mark.parametrize("cell", ["1,00012E+14", "1.00012E+14", "100012345678901.0", "100012345678901,0"])
def test_excel_damaged_ids_are_refused_whole(cell: str) -> None:
    # "1,00012E+14" must not be read as the two accounts "1" and "00012E+14".
    with pytest.raises(
        AccountError, match=r"Excel changed this id; type it as text \(format the column as Text\)"
    ):
        parse_accounts("facebook", cell)


@pytest.mark.parametrize("cell", ["-", "n/a", "N/A", "tidak ada", "Tidak Ada", "none", " - "])
def test_no_account_words_are_empty(cell: str) -> None:
    for platform in ("facebook", "instagram", "twitter"):
        assert parse_accounts(platform, cell) == frozenset()
    assert parse_accounts("instagram", f"{cell}; @kim_a") == {"kim_a"}


def test_several_accounts_in_one_cell() -> None:
    assert parse_accounts("instagram", "@kim_a; https://instagram.com/KIM_B/ @kim_c, kim_d") == {
        "kim_a",
        "kim_b",
        "kim_c",
        "kim_d",
    }
    assert parse_accounts("facebook", "") == frozenset()
    with pytest.raises(AccountError, match="has spaces"):
        parse_accounts("instagram", "@kim_a; Kim Mayangan")


def test_load_roster_utf8_bom_and_every_column() -> None:
    roster = load_roster(DATA / "roster.csv")
    assert roster.problems == ()
    assert [m.name for m in roster.members] == [
        "Budi Santoso",
        "Siti Aminah",
        "Agus Salim",
        "Dewi Lestari",
        "Rudi Hartono",
        "Lina Marlina",
    ]
    budi = roster.members[0]
    assert (budi.group, budi.kelurahan, budi.kecamatan, budi.line) == (
        "KIM Mayangan",
        "Mayangan",
        "Mayangan",
        2,
    )
    assert budi.accounts == {
        "facebook": {"kim.mayangan"},
        "instagram": {"kim_mayangan"},
        "twitter": {"kimmayangan"},
    }
    assert roster.members[1].accounts == {"facebook": {"100012345678901"}, "instagram": {"siti.aminah"}}
    assert roster.members[2].accounts == {"facebook": {"100099988877"}, "twitter": {"agus_salim"}}
    assert roster.members[4].accounts["instagram"] == {"rudi.kim", "kim_ketapang"}
    assert roster.members[5].accounts == {}  # a member without accounts still loads


def test_load_roster_cp1252_semicolons_and_indonesian_headers() -> None:
    roster = load_roster(DATA / "roster_semicolon_cp1252.csv")
    assert roster.problems == ()
    (andre,) = roster.members
    assert andre.name == "André Wijaya"
    assert (andre.group, andre.kelurahan, andre.kecamatan) == (
        "KIM Kebonsari",
        "Kebonsari Kulon",
        "Kanigaran",
    )
    assert andre.accounts == {"facebook": {"andre.wijaya"}, "instagram": {"andre_w"}}


def test_bad_rows_are_reported_with_their_line_and_the_rest_load() -> None:
    roster = load_roster(DATA / "roster_bad.csv")
    problems = {(p.line, p.reason.split(":")[0]) for p in roster.problems}
    assert problems == {
        (3, "no name (the name column is empty)"),
        (4, "Siti Aminah"),  # a TikTok link in the instagram column
        (5, "Agus Salim"),  # a name where the handle belongs
        (7, "Dewi Lestari"),  # kim.mayangan already belongs to Budi (line 2)
        (8, 'Rina "Ina" Putri'),  # a post link; the row spans lines 8-9
    }
    by_line = {p.line: p.reason for p in roster.problems}
    assert "tiktok.com" in by_line[4]
    assert "has spaces" in by_line[5]
    assert "already listed for Budi Santoso (line 2)" in by_line[7]
    names = [m.name for m in roster.members]
    # Rows with a bad account cell stay on the roster with their good accounts; the nameless row does not.
    assert names == ["Budi Santoso", "Siti Aminah", "Agus Salim", "Dewi Lestari", 'Rina "Ina" Putri', "Tono"]
    agus = roster.members[2]
    assert agus.accounts == {"twitter": {"agus_salim"}}
    dewi = roster.members[3]
    assert dewi.accounts == {"instagram": {"dewi.lestari"}}
    assert roster.members[4].group == "KIM Kedopok" and roster.members[4].line == 8
    assert roster.members[5].line == 10


def test_missing_roster_and_unusable_header(tmp_path: Path) -> None:
    with pytest.raises(RosterMissing, match="no roster file at .*name,group,kelurahan"):
        load_roster(tmp_path / "roster.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("akun,jumlah\nkim,3\n", encoding="utf-8")
    with pytest.raises(RosterFileError, match="no `name` column"):
        load_roster(wrong)
    workbook = tmp_path / "roster.xlsx.csv"
    workbook.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(200))  # saved as a workbook, named .csv
    with pytest.raises(RosterFileError, match="an Excel workbook, not a CSV file; in Excel use Save As"):
        load_roster(workbook)
    no_accounts = tmp_path / "names.csv"
    no_accounts.write_text("name,group\nBudi,KIM\n", encoding="utf-8")
    with pytest.raises(RosterFileError, match="no facebook, instagram or twitter column"):
        load_roster(no_accounts)


# ---------------------------------------------------------------------------------------------------------
# roster check


def post(
    platform: str, key: str, handle: str | None, *, author_id: str | None = None, **kw: object
) -> PostRecord:
    text = str(kw.pop("text", "Ayo vote #WeLoveProbolinggo"))
    base: dict[str, object] = dict(
        platform=platform,
        post_key=key,
        created_at=dt.datetime(2022, 9, 25, 9, 0, tzinfo=WIB),
        source="test",
        text=text,
        author_handle=handle,
        author_id=author_id,
        likes=1,
        hashtags=collect_hashtags(text),
    )
    base.update(kw)
    return PostRecord(**base)  # type: ignore[arg-type]


def store(engine, config, records: list[PostRecord]) -> None:  # type: ignore[no-untyped-def]
    run = start_run(engine, "test", None)
    write_batch(engine, run, records, config.campaign.tz)
    finish_run(engine, run, "ok")


def test_check_lists_unseen_accounts_and_unlisted_frequent_posters(engine, config) -> None:  # type: ignore[no-untyped-def]
    roster = load_roster(DATA / "roster.csv")
    store(
        engine,
        config,
        [
            # Budi's Facebook page seen by handle (any case), his Instagram only in an untagged post.
            post("facebook", "f1", "KIM.Mayangan"),
            post("instagram", "i1", "kim_mayangan", text="no tag here", hashtags=frozenset()),
            # Siti's page by id only; Agus's profile by id.
            post("facebook", "f2", None, author_id="100012345678901"),
            post("facebook", "f3", "agus.page", author_id="100099988877"),
            # A frequent poster not on the roster: 3 campaign posts (+1 repost, +1 outside the window).
            *(post("instagram", f"x{i}", "Warga_Bromo") for i in range(3)),
            post("instagram", "x9", "warga_bromo", is_repost=True),
            post("instagram", "x8", "warga_bromo", created_at=dt.datetime(2022, 11, 2, tzinfo=WIB)),
            # Only two campaign posts: under --min-posts 3.
            *(post("twitter", f"t{i}", "jarang") for i in range(2)),
            # "dewi_lestari" is Dewi's X handle, but on Instagram it is someone else, not on the roster.
            *(post("instagram", f"d{i}", "dewi_lestari") for i in range(3)),
        ],
    )
    check = check_roster(engine, roster, config.campaign, min_posts=3)
    unseen = {(u.platform, u.account) for u in check.unseen}
    assert ("facebook", "kim.mayangan") not in unseen
    assert ("instagram", "kim_mayangan") not in unseen  # any post counts as seen, not only campaign posts
    assert ("facebook", "100012345678901") not in unseen
    assert ("facebook", "100099988877") not in unseen
    assert unseen == {
        ("twitter", "kimmayangan"),
        ("instagram", "siti.aminah"),
        ("twitter", "agus_salim"),
        ("instagram", "dewi.lestari"),
        ("twitter", "dewi_lestari"),
        ("facebook", "rudi.kim"),
        ("instagram", "rudi.kim"),
        ("instagram", "kim_ketapang"),
    }
    assert [(p.platform, p.handle, p.posts) for p in check.unlisted] == [
        ("instagram", "dewi_lestari", 3),
        ("instagram", "warga_bromo", 3),
    ]
    assert [p.handle for p in check_roster(engine, roster, config.campaign, min_posts=2).unlisted] == [
        "dewi_lestari",
        "warga_bromo",
        "jarang",
    ]


def test_check_reports_one_author_on_two_lines_and_escapes_names(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        "name,group,kelurahan,kecamatan,facebook,instagram,twitter\n"
        "Budi,KIM Mayangan,Mayangan,Mayangan,kim.mayangan,,\n"
        "Ani,KIM Ketapang,Ketapang,Kademangan,111222333,,\n",
        encoding="utf-8",
    )
    hostile = "\x1b[2J\x1b]0;pwned\x07Warga\u202egnp.exe\nfake line"  # clear screen, title, RLO, newline
    store(
        engine,
        config,
        [
            post("facebook", "p1", "KIM.Mayangan", author_id="111222333"),  # the same page, twice listed
            *(post("instagram", f"w{i}", "warga_x", author_name=hostile) for i in range(3)),
        ],
    )
    roster = load_roster(roster_file)
    check = check_roster(engine, roster, config.campaign)
    assert [
        (c.platform, c.first.name, c.first_account, c.second.name, c.second_account) for c in check.clashes
    ] == [("facebook", "Budi", "kim.mayangan", "Ani", "111222333")]
    text = describe_check(check)
    assert "one author listed for two members (1; posts count for the first)" in text
    assert "kim.mayangan (Budi, line 2) is 111222333 (Ani, line 3)" in text
    # Control characters from a post author's name are shown, not obeyed by the terminal.
    assert not any(ch in text for ch in "\x1b\x07\u202e")
    assert "\\x1b[2J\\x1b]0;pwned\\x07Warga\\u202egnp.exe\\x0afake line" in text
    assert printable("Siti Aminah é 😀") == "Siti Aminah é 😀"


def test_roster_check_command(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    config_path = write_config('[roster]\npath = "members/roster.csv"\n')
    args = ["--config", str(config_path), "roster", "check"]

    missing = runner.invoke(main, args)
    assert missing.exit_code == 2, missing.output
    assert "no roster file at" in missing.output and "members" in missing.output
    assert "docs/roster.md" in missing.output
    assert "Traceback" not in missing.output

    (tmp_path / "members").mkdir()
    shutil.copy(DATA / "roster.csv", tmp_path / "members" / "roster.csv")
    clean = runner.invoke(main, args)
    assert clean.exit_code == 0, clean.output
    assert "6 members, 12 accounts" in clean.output
    assert "never seen in any source (12" in clean.output  # an empty database has seen nothing
    assert "@kimmayangan" in clean.output and "Budi Santoso" in clean.output
    assert "members without any account (1" in clean.output and "Lina Marlina" in clean.output

    shutil.copy(DATA / "roster_bad.csv", tmp_path / "members" / "roster.csv")
    bad = runner.invoke(main, [*args, "--min-posts", "5"])
    assert bad.exit_code == 1, bad.output
    assert "bad rows (5" in bad.output
    assert "line 3: no name" in bad.output
    assert ">= 5 campaign posts" in bad.output

    usage = runner.invoke(main, [*args, "--min-posts", "0"])
    assert usage.exit_code == 2


def test_tiktok_and_threads_columns_credit_their_members(engine, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from reports.roster import roster_report

    path = tmp_path / "roster.csv"
    path.write_text(
        "name,group,kelurahan,kecamatan,facebook,instagram,twitter,tiktok,threads\n"
        "Budi,KIM Mayangan,Mayangan,Mayangan,,,,https://www.tiktok.com/@Kim_Mayangan,@kim.threads\n"
        "Siti,KIM Wonoasih,Wonoasih,Wonoasih,,,,,\n",
        encoding="utf-8",
    )
    roster = load_roster(path)
    assert roster.members[0].accounts == {"tiktok": {"kim_mayangan"}, "threads": {"kim.threads"}}
    store(
        engine,
        config,
        [
            post("tiktok", "7540000000000000001", "kim_mayangan"),
            post("threads", "DSYNTH0001a", "KIM.Threads"),
        ],
    )
    check = check_roster(engine, roster, config.campaign, min_posts=1)
    assert [u for u in check.unseen if u.platform in ("tiktok", "threads")] == []
    report = roster_report(engine, roster, config.campaign, dt.date(2022, 9, 19), dt.date(2022, 10, 31))
    budi = report.table[report.table["name"] == "Budi"].iloc[0]
    assert int(budi["posts"]) == 2
