"""`submissions import`: Google Form sheets and WhatsApp chat exports -> submissions, re-import safe."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from collectors import whatsapp
from collectors.google_forms import read_sheet
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.db import open_engine
from monitor.errors import ExportFormatError
from monitor.models import CollectionRun, RejectedRow, Submission
from monitor.roster import load_roster, whatsapp_key
from monitor.submissions import import_file, list_submissions, waiting_submissions

DATA = Path(__file__).parent / "data" / "submissions"
WIB = dt.timezone(dt.timedelta(hours=7))

ROSTER = """\
name,group,kelurahan,kecamatan,facebook,instagram,twitter,whatsapp,telegram
Contoh Satu,KIM Contoh Mangunharjo,Mangunharjo,Mayangan,,,,,@contoh_satu
Contoh Dua,KIM Contoh Sukabumi,Sukabumi,Mayangan,,,,,5000000002
Budi Santoso,KIM Mayangan,Mayangan,Mayangan,,,,Budi KIM Mayangan,
Rina Wati,KIM Kebonsari,Kebonsari Kulon,Kanigaran,,,,Rina,
Siti Aminah,KIM Kanigaran,Kanigaran,Kanigaran,,,,0812-0000-0101; Siti KIM Kanigaran,
Nama Contoh,KIM Wiroborang,Wiroborang,Mayangan,,,,Nama; Name,
"""

SETTINGS = """
[roster]
path = "roster.csv"

[submissions]
follow_short_links = false
other_campaign_tags = ["WeLoveMalang"]
"""


@pytest.fixture
def setup(tmp_path: Path, write_config: Callable[..., Path]) -> tuple[Config, Engine]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    config = load_config(write_config(SETTINGS))
    engine = open_engine(config.storage.url)
    yield config, engine
    engine.dispose()


def rows(engine: Engine) -> list[tuple[object, ...]]:
    query = select(
        Submission.via, Submission.member, Submission.platform, Submission.post_key, Submission.state
    ).order_by(Submission.submitted_at, Submission.id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


# ---------------------------------------------------------------------------------------------------------
# Google Form sheets


@pytest.mark.parametrize(
    "name",
    ["setor_link_responses_sheet-id-ID_SYNTHETIC.csv", "setor_link_responses_sheet-en-US_SYNTHETIC.csv"],
)
def test_form_sheet_in_both_locales_with_several_links_per_cell(
    setup: tuple[Config, Engine], name: str
) -> None:
    config, engine = setup
    roster = load_roster(config.roster.path)
    result = import_file(config, engine, roster, DATA / name)

    assert result.kind == "form" and result.messages == 3 and not result.problems
    assert rows(engine) == [
        # 9/16/2025 9:02:07 and 16/09/2025 09.02.07: one cell, two links separated by ", "
        ("form", "Contoh Dua", "twitter", "1960000000000000001", "waiting"),
        ("form", "Contoh Dua", "threads", "DSYNTH0001a", "waiting"),
        # one cell, two links on two lines; the TikTok one is a short link
        ("form", "Contoh Satu", "instagram", "DSYNTHig002", "waiting"),
        ("form", "Contoh Satu", None, None, "refused"),
        # Contoh Tiga is not on the roster
        ("form", None, None, None, "refused"),
    ]
    listed = list_submissions(engine)
    assert [r.submitted_at.astimezone(WIB) for r in listed[::2]] == [
        dt.datetime(2025, 9, 16, 9, 2, 7, tzinfo=WIB),
        dt.datetime(2025, 9, 16, 10, 15, 30, tzinfo=WIB),
        dt.datetime(2025, 10, 1, 21, 40, tzinfo=WIB),
    ]
    reasons = [r.reason for r in listed if r.state == "refused"]
    assert reasons[0] is not None and "short link (vt.tiktok.com)" in reasons[0]
    assert reasons[1] == "sender not on the roster (Contoh Tiga)"
    # tracking parameters are gone from the canonical link; the link as sent is kept
    assert listed[0].url == "https://x.com/i/web/status/1960000000000000001"
    assert listed[0].link.endswith("?s=46&t=AbCdEfGhIjKl")

    # Re-importing the same sheet adds nothing; nor does the other locale's copy of the same answers
    again = import_file(config, engine, roster, DATA / name)
    assert again.summary.new == 0 and again.summary.count("known") == 5
    other = "en-US" if "id-ID" in name else "id-ID"
    copy = import_file(config, engine, roster, DATA / f"setor_link_responses_sheet-{other}_SYNTHETIC.csv")
    assert copy.summary.new == 0
    assert len(rows(engine)) == 5


def test_form_columns_come_from_config_and_a_missing_one_is_named(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    sheet = tmp_path / "KIM (Responses) - Form Responses 1.csv"
    sheet.write_text(
        "Timestamp,Nama anggota,Link 1,Link 2\n"
        '10/3/2022 8:05:00,contoh satu,"https://www.instagram.com/p/CabcDEF1234/ https://x.com/a/status/42",'
        "https://www.tiktok.com/@kim/video/7150000000000000001\n"
        "bad time,Contoh Satu,https://www.instagram.com/p/CzzzDEF1234/\n",
        encoding="utf-8",
    )
    config = load_config(
        write_config(SETTINGS + '[submissions.form]\nmember = "Nama anggota"\nlinks = ["Link 1", "Link 2"]\n')
    )
    engine = open_engine(config.storage.url)
    roster = load_roster(config.roster.path)
    # 10/3/2022 fits both orders: the sheet says nothing, so the date order must be stated
    with pytest.raises(ExportFormatError, match="fits both day/month and month/day"):
        import_file(config, engine, roster, sheet)
    result = import_file(config, engine, roster, sheet, date_order="mdy")
    assert [(r.member, r.platform, r.post_key, r.local_date) for r in list_submissions(engine)] == [
        ("Contoh Satu", "instagram", "CabcDEF1234", dt.date(2022, 10, 3)),
        ("Contoh Satu", "twitter", "42", dt.date(2022, 10, 3)),
        ("Contoh Satu", "tiktok", "7150000000000000001", dt.date(2022, 10, 3)),
    ]
    assert result.problems == [(3, "timestamp 'bad time' is not a date and time")]
    with engine.connect() as conn:
        assert conn.execute(select(RejectedRow.line, RejectedRow.reason)).all() == result.problems
        assert conn.execute(select(CollectionRun.source, CollectionRun.status)).all()[-1] == (
            "submissions_form",
            "partial",
        )

    broken = load_config(write_config(SETTINGS + '[submissions.form]\nmember = "Nama lengkap"\n'))
    with pytest.raises(ExportFormatError, match=r"no column 'Nama lengkap'.*\[submissions.form\]"):
        read_sheet(sheet, broken.submissions.form, broken.campaign.tz)
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------
# WhatsApp chat exports


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Android, Indonesian: 16/09/22 10.15 - ; a two-line message; system lines; an edited marker
        (
            "android_id-ID_setor_link_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 10, 15, tzinfo=WIB),
                    "Budi Santoso",
                    "instagram",
                    "DExample001",
                    "waiting",
                ),
                (dt.datetime(2022, 9, 16, 10, 16, tzinfo=WIB), "Siti Aminah", None, None, "refused"),
                (dt.datetime(2022, 9, 16, 10, 20, tzinfo=WIB), "Siti Aminah", None, None, "refused"),
            ],
        ),
        # iPhone, English UI, Indonesia region: [16/09/22 10.15.30] ; ~ profile names; LRE/NBSP number
        (
            "ios_en-lang_ID-region_setor_link_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 10, 15, 30, tzinfo=WIB),
                    "Rina Wati",
                    "instagram",
                    "DExample002",
                    "waiting",
                ),
                (dt.datetime(2022, 9, 16, 10, 16, 2, tzinfo=WIB), "Siti Aminah", None, None, "refused"),
                (dt.datetime(2022, 9, 16, 10, 18, tzinfo=WIB), "Rina Wati", None, None, "refused"),
            ],
        ),
        # iPhone, Indonesian UI and region
        (
            "ios_id-ID_setor_link_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 10, 15, 30, tzinfo=WIB),
                    "Nama Contoh",
                    "instagram",
                    "DExample003",
                    "waiting",
                )
            ],
        ),
        # Android, English (US), 12-hour clock with U+202F before AM/PM
        (
            "android_en-US_12h_nnbsp_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 10, 15, tzinfo=WIB),
                    "Nama Contoh",
                    "instagram",
                    "DExample004",
                    "waiting",
                ),
                (dt.datetime(2022, 9, 16, 12, 5, tzinfo=WIB), "Siti Aminah", None, None, "refused"),
            ],
        ),
        # Android, English (UK), 4-digit year, lower-case pm
        (
            "android_en-GB_12h_lowercase_nnbsp_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 12, 57, tzinfo=WIB),
                    "Siti Aminah",
                    "instagram",
                    "DExample005",
                    "waiting",
                )
            ],
        ),
        # iPhone, English (US), [9/16/22, 10:15:30 AM], CRLF
        (
            "ios_en-US_12h_nnbsp_SYNTHETIC.txt",
            [
                (
                    dt.datetime(2022, 9, 16, 10, 15, 30, tzinfo=WIB),
                    "Nama Contoh",
                    "instagram",
                    "DExample006",
                    "waiting",
                )
            ],
        ),
    ],
)
def test_whatsapp_exports_android_and_ios_in_both_locales(
    setup: tuple[Config, Engine], name: str, expected: list[tuple[object, ...]]
) -> None:
    config, engine = setup
    result = import_file(config, engine, load_roster(config.roster.path), DATA / name)
    assert result.kind == "whatsapp"
    got = [
        (r.submitted_at.astimezone(WIB), r.member, r.platform, r.post_key, r.state)
        for r in list_submissions(engine)
    ]
    assert got == expected
    # the same export again adds nothing
    assert import_file(config, engine, load_roster(config.roster.path), DATA / name).summary.new == 0


def test_whatsapp_system_lines_placeholders_and_other_links_are_skipped() -> None:
    tz = WIB
    android = whatsapp.read_export(DATA / "android_id-ID_setor_link_SYNTHETIC.txt", tz)
    # encryption notice, created, added, joined, media, deleted, the recap without links, left: skipped
    assert [m.line for m in android] == [5, 7, 10]
    assert android[0].text == "Setor link kak 🙏\nhttps://www.instagram.com/p/DExample001/?igsh=ZXhhbXBsZTAx"
    assert android[2].text == "https://www.facebook.com/share/p/1ExampleAb/"  # edited marker dropped
    ios = whatsapp.read_export(DATA / "ios_en-lang_ID-region_setor_link_SYNTHETIC.txt", tz)
    assert [m.sender for m in ios] == [
        "~\u202fRina",
        "\u202a+62\u00a0812\u20110000\u20110101\u202c",
        "~\u202fRina",
    ]
    assert whatsapp_key(ios[1].sender) == whatsapp_key("0812 0000 0101") == "tel:6281200000101"
    # a real Indonesian developers' group: links to other sites are chatter, not submissions
    assert whatsapp.read_export(DATA / "android_en_24h_mdy_id-group_REAL.txt", tz) == []


def test_a_later_export_of_the_same_group_adds_only_what_is_new(
    setup: tuple[Config, Engine], tmp_path: Path
) -> None:
    config, engine = setup
    roster = load_roster(config.roster.path)
    first = DATA / "android_id-ID_setor_link_SYNTHETIC.txt"
    later = tmp_path / "WhatsApp Chat with KIM Setor Link.txt"
    later.write_text(
        first.read_text(encoding="utf-8")
        + "17/09/22 08.01 - Budi KIM Mayangan: hari kedua https://x.com/KimMayangan/status/1571000000000000001\n"
        + "17/09/22 08.05 - Siti KIM Kanigaran: https://www.instagram.com/p/DExample001/\n",
        encoding="utf-8",
    )
    assert import_file(config, engine, roster, first).summary.new == 3
    result = import_file(config, engine, roster, later)
    assert (result.summary.new, result.summary.count("known")) == (2, 3)
    assert rows(engine)[-2:] == [
        ("whatsapp", "Budi Santoso", "twitter", "1571000000000000001", "waiting"),
        # Budi submitted this post the day before: Siti's is a duplicate
        ("whatsapp", "Siti Aminah", "instagram", "DExample001", "refused"),
    ]
    refused = list_submissions(engine, "refused")[-1]
    assert refused.reason == "duplicate of another member's submission (Budi Santoso, 2022-09-16)"
    # the iOS ZIP holds _chat.txt
    archive = tmp_path / "WhatsApp Chat - KIM Setor Link.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("_chat.txt", (DATA / "ios_id-ID_setor_link_SYNTHETIC.txt").read_text(encoding="utf-8"))
    assert import_file(config, engine, roster, archive).summary.count("waiting") == 1


def test_another_citys_campaign_is_refused(setup: tuple[Config, Engine], tmp_path: Path) -> None:
    config, engine = setup
    chat = tmp_path / "chat.txt"
    chat.write_text(
        "20/09/22 09.00 - Budi KIM Mayangan: #WeLoveMalang https://www.instagram.com/p/CmalangPost1/\n"
        "20/09/22 09.01 - Budi KIM Mayangan: #WeLoveMalang #WeLoveProbolinggo https://www.instagram.com/p/CbothTags01/\n",
        encoding="utf-8",
    )
    import_file(config, engine, load_roster(config.roster.path), chat)
    listed = list_submissions(engine)
    assert [(r.post_key, r.state, r.reason) for r in listed] == [
        ("CmalangPost1", "refused", "another city's campaign (#welovemalang)"),
        ("CbothTags01", "waiting", None),
    ]


def test_a_peer_citys_tag_counts_as_another_campaign(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    peers = '\n[[peers]]\nname = "DKI Jakarta"\nhashtags = ["WeLoveJakarta"]\n'
    config = load_config(write_config(SETTINGS.replace('other_campaign_tags = ["WeLoveMalang"]', "") + peers))
    engine = open_engine(config.storage.url)
    chat = tmp_path / "chat.txt"
    chat.write_text(
        "20/09/22 09.00 - Budi KIM Mayangan: #WeLoveJakarta https://www.instagram.com/p/CjakartaPo1/\n",
        encoding="utf-8",
    )
    import_file(config, engine, load_roster(config.roster.path), chat)
    assert [(r.post_key, r.state, r.reason) for r in list_submissions(engine)] == [
        ("CjakartaPo1", "refused", "another city's campaign (#welovejakarta)")
    ]
    engine.dispose()


def test_an_export_whose_dates_fit_both_orders_needs_the_order_stated(tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    shutil.copy(DATA / "android_id-ID_setor_link_SYNTHETIC.txt", chat)
    chat.write_text(chat.read_text(encoding="utf-8").replace("16/09/22", "06/09/22"), encoding="utf-8")
    with pytest.raises(ExportFormatError, match="--date-order dmy"):
        whatsapp.read_export(chat, WIB)
    assert whatsapp.read_export(chat, WIB, "dmy")[0].submitted_at == dt.datetime(
        2022, 9, 6, 10, 15, tzinfo=WIB
    )
    assert whatsapp.read_export(chat, WIB, "mdy")[0].submitted_at == dt.datetime(
        2022, 6, 9, 10, 15, tzinfo=WIB
    )


# ---------------------------------------------------------------------------------------------------------
# The command line


def test_cli_import_list_and_csv(setup: tuple[Config, Engine], tmp_path: Path) -> None:
    config, engine = setup
    runner = CliRunner()
    args = ["--config", str(config.path)]
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just notes\n", encoding="utf-8")
    out = runner.invoke(
        main,
        [
            *args,
            "submissions",
            "import",
            str(DATA / "setor_link_responses_sheet-id-ID_SYNTHETIC.csv"),
            str(unknown),
            str(DATA / "android_id-ID_setor_link_SYNTHETIC.txt"),
        ],
    )
    assert out.exit_code == 1, out.output  # one file could not be read; the others were imported
    assert "5 new links (0 seen, 3 waiting, 2 refused)" in out.output
    assert "notes.txt: neither a Google Form responses sheet" in out.output
    assert "3 new links (0 seen, 1 waiting, 2 refused)" in out.output

    listed = runner.invoke(main, [*args, "submissions", "--state", "waiting", "--csv"])
    assert listed.exit_code == 0, listed.output
    table = list(csv.DictReader(io.StringIO(listed.output)))
    assert [(r["member"], r["platform"], r["post_key"]) for r in table] == [
        ("Budi Santoso", "instagram", "DExample001"),
        ("Contoh Dua", "twitter", "1960000000000000001"),
        ("Contoh Dua", "threads", "DSYNTH0001a"),
        ("Contoh Satu", "instagram", "DSYNTHig002"),
    ]
    assert len(waiting_submissions(engine)) == 4
    text = runner.invoke(main, [*args, "submissions", "--member", "siti aminah"])
    assert text.exit_code == 0 and "0 seen, 0 waiting, 2 refused" in text.output
    status = runner.invoke(main, [*args, "status"])
    assert "member link submissions: 0 seen, 4 waiting, 4 refused" in status.output
    for command in (["submissions", "--help"], ["submissions", "import", "--help"]):
        assert runner.invoke(main, command).exit_code == 0


def test_cli_without_a_roster_says_how_to_make_one(write_config: Callable[..., Path]) -> None:
    config = write_config(SETTINGS)
    out = CliRunner().invoke(
        main,
        ["--config", str(config), "submissions", "import", str(DATA / "ios_id-ID_setor_link_SYNTHETIC.txt")],
    )
    assert out.exit_code == 2 and "no roster file" in out.output and "Traceback" not in out.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[submissions.telegram]\ngroups = ["KIM group"]\n', "must be a list of group chat ids"),
        ("[submissions.telegram]\ngroups = [1001000000001]\n", "negative numbers"),
        ("[submissions.telegram]\npoll_seconds = 90\n", "must be 0 to 50 seconds"),
        ('[submissions.form]\ndate_order = "ymd"\n', 'use "auto", "dmy" or "mdy"'),
        ("[submissions.form]\nlinks = []\n", "must list the link columns"),
        ("[submissions]\nfollow_links = true\n", "did you mean 'follow_short_links'"),
    ],
)
def test_submissions_config_errors_name_the_key(
    write_config: Callable[..., Path], extra: str, message: str
) -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_config(write_config(extra))


def test_submissions_config_defaults(config: Config) -> None:
    sub = config.submissions
    assert sub.follow_short_links and sub.other_campaign_tags == ()
    assert (sub.form.member, sub.form.links, sub.form.date_order) == ("Nama", ("Link postingan",), "auto")
    assert (sub.telegram.enabled, sub.telegram.token_env, sub.telegram.groups) == (
        False,
        "TELEGRAM_BOT_TOKEN",
        (),
    )


def test_a_sender_added_to_the_roster_later_is_credited_on_the_next_import(
    setup: tuple[Config, Engine], tmp_path: Path
) -> None:
    config, engine = setup
    sheet = DATA / "setor_link_responses_sheet-id-ID_SYNTHETIC.csv"
    import_file(config, engine, load_roster(config.roster.path), sheet)
    assert [r.state for r in list_submissions(engine) if r.sender == "Contoh Tiga"] == ["refused"]
    (tmp_path / "roster.csv").write_text(
        ROSTER + "Contoh Tiga,KIM Contoh Kanigaran,Kanigaran,Kanigaran,,,,,\n", encoding="utf-8"
    )
    again = import_file(config, engine, load_roster(config.roster.path), sheet)
    tiga = [r for r in list_submissions(engine) if r.sender == "Contoh Tiga"]
    assert again.summary.new == 1 and len(tiga) == 1
    # now a member: refused only for what the link is (a share link without a post id)
    assert tiga[0].member == "Contoh Tiga" and "Facebook share link" in (tiga[0].reason or "")
