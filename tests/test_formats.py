"""Each export format: detection from the header, keys, and the row -> PostRecord mapping."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from collectors.csv_formats import (
    BUILTIN_FORMATS,
    all_formats,
    detect_format,
    facebook_post_key,
    find_format,
    handle_in_permalink,
    instagram_shortcode,
    row_mapper,
    threads_post_code,
    tiktok_video_id,
    tweet_id,
)
from collectors.csv_reader import RowError, open_export
from monitor.config import CustomFormat, load_config
from monitor.errors import ConfigError, ExportFormatError, UsageError
from monitor.records import PostRecord

JAKARTA = ZoneInfo("Asia/Jakarta")
EXPORTS = Path(__file__).parent / "data" / "exports"


def records_of(name: str) -> list[PostRecord]:
    export = open_export(EXPORTS / name)
    fmt = detect_format(export.header)
    to_record = row_mapper(fmt, export.header, JAKARTA)
    return [to_record(fields) for _line, fields in export.records()]


@pytest.mark.parametrize(
    ("name", "format_name"),
    [
        ("crowdtangle_fb_search_export_ptBR_BRT.csv", "crowdtangle-facebook"),
        ("crowdtangle_instagram_export_SYNTHETIC.csv", "crowdtangle-instagram"),
        ("mbs_facebook_posts_en_SYNTHETIC.csv", "mbs-facebook"),
        ("mbs_instagram_posts_en_SYNTHETIC.csv", "mbs-instagram"),
        ("mbs_instagram_excel_id-ID_cp1252.csv", "mbs-instagram"),
        ("twarc2csv_output_two_tweets.csv", "twarc-csv"),
        ("twarc2csv_output_mixed_synthetic.csv", "twarc-csv"),
        ("socialstats_constants_quoted_header_and_row.csv", "twitter-analytics"),
        ("socialstats_singletweet.csv", "twitter-analytics"),
        ("socialstats_threetweets_ken.csv", "twitter-analytics"),
        ("socialstats_twotweets_updated.csv", "twitter-analytics"),
    ],
)
def test_real_layouts_are_detected(name: str, format_name: str) -> None:
    assert detect_format(open_export(EXPORTS / name).header).name == format_name


CT_FB = open_export(EXPORTS / "crowdtangle_fb_search_export_ptBR_BRT.csv").header


def test_crowdtangle_header_variants() -> None:
    historical = [*CT_FB[:-2], "Overperforming Score (weighted  \u2014  Likes 1x Shares 3x Comments 2x )"]
    groups = ["Group Name", *CT_FB[1:]]
    assert detect_format(historical).name == "crowdtangle-facebook"
    assert detect_format(groups).name == "crowdtangle-facebook"


def test_unknown_header_names_the_nearest_format() -> None:
    header = ["Post ID", "Publish time", "Reach", "Likes", "Engagement rate"]
    with pytest.raises(ExportFormatError) as err:
        detect_format(header, source="weekly.csv")
    message = str(err.value)
    assert message.startswith("weekly.csv: no known export format")
    assert "nearest is Meta Business Suite Instagram posts (mbs-instagram)" in message
    assert "Permalink" in message and "Account username" in message


def test_header_sharing_nothing_lists_the_formats() -> None:
    with pytest.raises(ExportFormatError, match="known formats: crowdtangle-facebook"):
        detect_format(["foo", "bar"])


def test_crowdtangle_history_file_is_not_a_post_export() -> None:
    header = open_export(EXPORTS / "crowdtangle_fb_post_history_3758007754304128.csv").header
    with pytest.raises(ExportFormatError, match="missing columns"):
        detect_format(header)


def test_crowdtangle_facebook_mapping() -> None:
    first = records_of("crowdtangle_fb_search_export_ptBR_BRT.csv")[0]
    assert first.platform == "facebook"
    assert first.post_key == "345428873810280"  # from .../posts/<id>
    assert first.author_handle == "neymarjr" and first.author_id == "100050295107499"
    assert first.author_name == "Neymar Jr."
    # all seven reactions; with comments and shares they make Total Interactions 407.137
    assert first.likes == 270729 + 100226 + 254 + 3657 + 93 + 565 + 2848
    assert first.likes + first.comments + first.shares == 407137
    assert first.created_at == dt.datetime(2021, 7, 5, 21, 2, 45, tzinfo=dt.UTC)  # 18:02:45 BRT
    assert first.source == "crowdtangle-facebook"


def test_crowdtangle_instagram_mapping() -> None:
    (rec,) = records_of("crowdtangle_instagram_export_SYNTHETIC.csv")
    assert (rec.platform, rec.post_key, rec.author_handle) == (
        "instagram",
        "C9AbCdEfGhI",
        "contoh_kotaprobolinggo",
    )
    assert (rec.likes, rec.comments, rec.shares) == (1210, 24, None)
    assert rec.hashtags == {"weloveprobolinggo"}
    assert rec.created_at == dt.datetime(2024, 7, 19, 23, 8, 11, tzinfo=dt.UTC)  # 06:08:11 WIB


def test_mbs_facebook_mapping() -> None:
    first, second = records_of("mbs_facebook_posts_en_SYNTHETIC.csv")
    assert first.post_key == "122158001234567890" and first.author_id == "61571000000000"
    assert (first.likes, first.comments, first.shares, first.views) == (1204, 88, 57, 12450)
    assert first.created_at.astimezone(JAKARTA).replace(tzinfo=None) == dt.datetime(2024, 7, 20, 10, 15)
    assert first.hashtags == {"weloveprobolinggo", "welovecities"}
    assert second.text == "Kuliner malam #WeLoveProbolinggo"


def test_mbs_instagram_mapping() -> None:
    recs = records_of("mbs_instagram_posts_en_SYNTHETIC.csv")
    assert [r.post_key for r in recs] == ["C9AbCdEfGhI", "C9XyZaBcDeF", "C9QwErTyUiO"]  # /p/ and /reel/
    assert recs[0].author_handle == "contoh_kotaprobolinggo" and recs[0].author_id == "17841400000000000"
    assert (recs[0].likes, recs[0].comments, recs[0].shares, recs[0].views) == (410, 20, 120, 15000)


def test_twarc_retweet_and_hashtags() -> None:
    (rt,) = records_of("twarc2csv_output_two_tweets.csv")
    assert rt.post_key == "1394735776701816833" and rt.is_repost
    assert rt.author_handle == "LachiVeronica" and rt.author_id == "1379899464345923590"
    assert rt.hashtags == {"poiuytrewq"}
    assert rt.created_at == dt.datetime(2021, 5, 18, 19, 24, 56, tzinfo=dt.UTC)


def test_twarc_float_counts_and_escaped_newlines() -> None:
    recs = records_of("twarc2csv_output_mixed_synthetic.csv")
    tweet = next(r for r in recs if not r.is_repost)
    assert tweet.views == 5321  # written 5321.0
    assert tweet.shares is not None and tweet.likes is not None


def test_twarc_text_is_unescaped() -> None:
    export = open_export(EXPORTS / "twarc2csv_output_mixed_synthetic.csv")
    fmt = find_format("twarc-csv")
    fields = next(f for _, f in export.records())
    fields[export.header.index("text")] = r"Pagi\nVote! #WeLoveCities"
    fields[export.header.index("entities.hashtags")] = '["#WeLoveProbolinggo"]'
    rec = row_mapper(fmt, export.header, JAKARTA)(fields)
    assert rec.text == "Pagi\nVote! #WeLoveCities"
    assert rec.hashtags == {"welovecities", "weloveprobolinggo"}


def test_twitter_analytics_handle_from_permalink() -> None:
    (rec,) = records_of("socialstats_constants_quoted_header_and_row.csv")
    assert rec.post_key == "1226928883355791360" and rec.author_handle == "Lauren_Schaefer"
    assert (rec.likes, rec.comments, rec.shares, rec.views) == (7, 0, 4, 1203)
    assert rec.created_at == dt.datetime(2020, 2, 10, 18, 0, tzinfo=dt.UTC)
    multi = records_of("socialstats_singletweet.csv")[0]
    assert "#WomenInTech" in (multi.text or "") and "\n" in (multi.text or "")
    assert {"parents", "womenintech"} <= multi.hashtags


def test_custom_format_from_config() -> None:
    spec = CustomFormat(
        name="kim-weekly-sheet",
        platform="instagram",
        id="Link Postingan",
        time="Tanggal",
        time_format="%d/%m/%Y %H:%M",
        author="Akun",
        text="Caption",
        likes="Suka",
        comments="Komentar",
    )
    header = ["No", "Akun", "Link Postingan", "Tanggal", "Caption", "Suka", "Komentar"]
    formats = all_formats([spec])
    fmt = detect_format(header, formats)
    assert fmt.name == "kim-weekly-sheet" and fmt.custom
    rec = row_mapper(fmt, header, JAKARTA)(
        [
            "1",
            "@kim_pilang",
            "https://www.instagram.com/p/CjAbc12345/",
            "05/10/2022 19:30",
            "Ayo #WeLoveCities",
            "1.204",
            "",
        ]
    )
    assert (rec.post_key, rec.author_handle, rec.likes, rec.comments) == (
        "CjAbc12345",
        "kim_pilang",
        1204,
        None,
    )
    assert rec.created_at == dt.datetime(2022, 10, 5, 12, 30, tzinfo=dt.UTC)
    with pytest.raises(RowError, match="does not match the format"):
        row_mapper(fmt, header, JAKARTA)(
            ["1", "a", "https://www.instagram.com/p/CjAbc12345/", "2022-10-05", "", "", ""]
        )


def test_find_format_lists_names() -> None:
    assert find_format("twarc-csv").platform == "twitter"
    with pytest.raises(UsageError, match="use one of: crowdtangle-facebook, crowdtangle-instagram"):
        find_format("crowdtangle")


def test_every_builtin_has_a_unique_name() -> None:
    names = [f.name for f in BUILTIN_FORMATS]
    assert len(set(names)) == len(names) == 10


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("https://www.facebook.com/100050295107499/posts/345428873810280", "345428873810280"),
        ("https://www.facebook.com/pemkot/posts/345428873810280/", "345428873810280"),
        ("100050295107499_345428873810280", "345428873810280"),
        ("122158001234567890", "122158001234567890"),
        ("https://www.facebook.com/groups/123/permalink/456/", "456"),
        ("https://www.facebook.com/permalink.php?story_fbid=789&id=1", "789"),
        ("https://www.facebook.com/reel/1234567890123456/", "1234567890123456"),
        ("https://www.facebook.com/122158001234567890", "122158001234567890"),  # MBS Permalink
        ("https://www.facebook.com/61571000000000_122158001234567890", "122158001234567890"),
        ("https://www.facebook.com/abudtv/videos/1234567890/", "1234567890"),
        ("https://www.facebook.com/photo.php?fbid=10158&set=a.1&type=3", "10158"),
        ("https://www.facebook.com/photo/?fbid=10159", "10159"),
        ("https://www.facebook.com/watch/?v=987654321", "987654321"),
        ("https://www.facebook.com/KIMMayangan/posts/pfbid02AbCdEf", "pfbid02AbCdEf"),
        ("pfbid02AbCdEf", "pfbid02AbCdEf"),
    ],
)
def test_facebook_keys(value: str, key: str) -> None:
    assert facebook_post_key(value) == key


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://www.facebook.com/KIMMayangan", "a page link, not a post link"),
        ("https://www.facebook.com/KIMMayangan/", "a page link, not a post link"),
        ("https://www.facebook.com/profile.php?id=100012345678901", "a page link, not a post link"),
        ("https://www.facebook.com/groups/111/", "a page link, not a post link"),
        ("https://www.facebook.com/share/p/1AbCdEfGh/", "a share link, not a post link"),
        ("KIMMayangan", "not a Facebook post id"),
        ("kim_mayangan", "not a Facebook post id"),
    ],
)
def test_facebook_page_and_share_links_are_not_keys(value: str, reason: str) -> None:
    # Taken as a key, every post of the page would merge into one.
    with pytest.raises(RowError, match=reason):
        facebook_post_key(value)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("https://www.instagram.com/p/C9AbCdEfGhI/", "C9AbCdEfGhI"),
        ("https://www.instagram.com/reel/C9XyZaBcDeF/?igsh=abc", "C9XyZaBcDeF"),
        ("C9AbCdEfGhI", "C9AbCdEfGhI"),
    ],
)
def test_instagram_keys(value: str, key: str) -> None:
    assert instagram_shortcode(value) == key


def test_instagram_media_id_is_not_a_shortcode() -> None:
    with pytest.raises(RowError, match="no Instagram shortcode"):
        instagram_shortcode("18011234567890123")


def test_tweet_keys() -> None:
    assert tweet_id("1226928883355791360") == "1226928883355791360"
    assert tweet_id("https://x.com/pemkot/status/1226928883355791360") == "1226928883355791360"
    with pytest.raises(RowError):
        tweet_id("pemkot")


def test_tiktok_and_threads_keys() -> None:
    assert tiktok_video_id("7540000000000000001") == "7540000000000000001"
    link = "https://www.tiktok.com/@example_city_official/video/7540000000000000001?is_from_webapp=1"
    assert tiktok_video_id(link) == "7540000000000000001"
    assert tiktok_video_id("https://www.tiktok.com/@kim/photo/7540000000000000009") == "7540000000000000009"
    with pytest.raises(RowError, match="no TikTok video id"):
        tiktok_video_id("https://vt.tiktok.com/ZSabc123/")  # a short link carries no id
    assert threads_post_code("https://www.threads.net/@kim/post/DSYNTH0001a") == "DSYNTH0001a"
    assert threads_post_code("https://www.threads.com/@kim/post/DSYNTH0001a/?xmt=1") == "DSYNTH0001a"
    assert threads_post_code("DSYNTH0001a") == "DSYNTH0001a"
    with pytest.raises(RowError, match="no Threads post code"):
        threads_post_code("https://www.threads.com/@kim")
    assert handle_in_permalink(link) == "example_city_official"
    assert handle_in_permalink("https://www.threads.com/@kim.mayangan/post/DSYNTH0001a") == "kim.mayangan"


def test_new_layouts_detect_as_nothing_else() -> None:
    for name, expected in [
        ("apify_instagram_hashtag_scraper_csv_SYNTHETIC.csv", "apify-instagram-csv"),
        ("tiktok_studio_Content_SYNTHETIC.csv", "tiktok-studio"),
        ("mcl_facebook_posts_SYNTHETIC.csv", "mcl-facebook"),
        ("mcl_instagram_posts_SYNTHETIC.csv", "mcl-instagram"),
    ]:
        header = open_export(EXPORTS / name).header
        assert detect_format(header).name == expected
        others = [f for f in BUILTIN_FORMATS if f.name != expected]
        with pytest.raises(ExportFormatError):
            detect_format(header, others)


# ---------------------------------------------------------------------------------------------------------
# Excel damage, bad cells, duplicated columns

TA = "socialstats_singletweet.csv"


def ta_row(**cells: str) -> tuple[list[str], list[str]]:
    export = open_export(EXPORTS / TA)
    row = next(f for _, f in export.records())
    for name, value in cells.items():
        row[export.header.index(name.replace("_", " "))] = value
    return export.header, row


def test_twitter_analytics_key_from_permalink_when_excel_mangled_the_id() -> None:
    header, row = ta_row(Tweet_id="1,22548E+18")
    damaged: Counter[str] = Counter()
    rec = row_mapper(find_format("twitter-analytics"), header, JAKARTA, damaged=damaged)(row)
    assert rec.post_key == "1225479302868873216"  # from .../status/<id>
    assert damaged == {"Tweet id: the post key was read from Tweet permalink": 1}


def test_mangled_key_without_an_intact_column_is_a_reject() -> None:
    header, row = ta_row(Tweet_id="1,22548E+18", Tweet_permalink="")
    with pytest.raises(RowError, match="Tweet id '1,22548E\\+18' was mangled by Excel"):
        row_mapper(find_format("twitter-analytics"), header, JAKARTA)(row)


def test_mbs_instagram_damage_outside_the_key() -> None:
    export = open_export(EXPORTS / "mbs_instagram_excel_id-ID_cp1252.csv")
    damaged: Counter[str] = Counter()
    to_record = row_mapper(find_format("mbs-instagram"), export.header, JAKARTA, "dmy", damaged=damaged)
    recs = [to_record(f) for _, f in export.records()]
    # Post ID (1,80112E+16) is not stored: ignored; Account ID (1,78414E+16) becomes unknown
    assert [r.post_key for r in recs] == ["CiAbCdEfGhI", "CiXyZaBcDeF", "CjQwErTyUiO"]
    assert (recs[1].author_id, recs[1].author_handle) == (None, "kim_pilang")
    assert recs[0].author_id == "17841400000000000"
    assert damaged == {"Account ID: stored as unknown, the handle or name still says who": 1}


def test_mbs_facebook_key_from_permalink() -> None:
    export = open_export(EXPORTS / "mbs_facebook_posts_en_SYNTHETIC.csv")
    row = next(f for _, f in export.records())
    row[export.header.index("Post ID")] = "1,22158E+17"
    assert (
        row_mapper(find_format("mbs-facebook"), export.header, JAKARTA)(row).post_key == "122158001234567890"
    )


def test_out_of_range_time_and_huge_count_are_row_errors() -> None:
    header, row = ta_row(time="0001-01-01 00:00 +0000")
    to_record = row_mapper(find_format("twitter-analytics"), header, JAKARTA)
    with pytest.raises(RowError, match="time: '0001-01-01 00:00 \\+0000' is not a post time"):
        to_record(row)
    header, row = ta_row(likes="9" * 25)
    with pytest.raises(RowError, match="likes: 9{25} is too large for a count"):
        to_record(row)


def test_deeply_nested_hashtag_cell_is_a_row_error() -> None:
    export = open_export(EXPORTS / "twarc2csv_output_two_tweets.csv")
    row = next(f for _, f in export.records())
    row[export.header.index("entities.hashtags")] = "[" * 100_000
    with pytest.raises(RowError, match="entities.hashtags is not a JSON list"):
        row_mapper(find_format("twarc-csv"), export.header, JAKARTA)(row)


def test_duplicated_column_takes_the_first_like_the_reader() -> None:
    header, row = ta_row()
    header, row = [*header, "time"], [*row, "not a time at all"]
    rec = row_mapper(find_format("twitter-analytics"), header, JAKARTA)(row)
    assert rec.created_at.year == 2020


# ---------------------------------------------------------------------------------------------------------
# [[formats]] and [zones] in config.toml

SHEET = """
[[formats]]
name = "{name}"
platform = "instagram"
id = "Link"
time = "Tanggal"
{extra}
"""


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            SHEET.format(name="twarc-csv", extra=""),
            "formats\\[0\\]\\] name: 'twarc-csv' is already a built-in format",
        ),
        (
            SHEET.format(name="sheet", extra="") + SHEET.format(name="sheet", extra=""),
            "formats\\[1\\]\\] name: 'sheet' is already the name of formats\\[0\\]",
        ),
        (
            SHEET.format(name="sheet", extra='time_format = "%d/%m/%Y %Q"'),
            "formats\\[0\\]\\] time_format: '%d/%m/%Y %Q' cannot read the times it describes",
        ),
        (
            SHEET.format(name="sheet", extra='time_format = "%H:%M"'),
            "time_format: '%H:%M' lacks the day, month or year",
        ),
    ],
)
def test_bad_custom_formats_are_config_errors(
    write_config: Callable[..., Path], entries: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write_config(entries))


def test_good_time_formats_pass(write_config: Callable[..., Path]) -> None:
    for fmt in ("%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S%z", "%d %b %Y, %I:%M %p", "%d/%m/%y"):
        config = load_config(write_config(SHEET.format(name="sheet", extra=f'time_format = "{fmt}"')))
        assert config.formats[0].time_format == fmt


def test_zones_table(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config('[zones]\nCST = "-06:00"\nPST = "Asia/Manila"\nIST = "+05:30"\n'))
    moment = dt.datetime(2022, 10, 1, 12, 0)
    assert config.zones["CST"].utcoffset(moment) == dt.timedelta(hours=-6)
    assert config.zones["PST"].utcoffset(moment) == dt.timedelta(hours=8)
    assert config.zones["IST"].utcoffset(moment) == dt.timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('cst = "-06:00"', "\\[zones\\] cst: must be an abbreviation in capital letters"),
        ('CST = "-6"', "\\[zones\\] CST: '-6' is neither a UTC offset nor a time zone"),
        ('CST = "+25:00"', "\\[zones\\] CST: '\\+25:00' is not a UTC offset"),
        ('CST = "Asia"', "\\[zones\\] CST: 'Asia' is neither"),
        ("CST = -6", "\\[zones\\] CST: must be text"),
    ],
)
def test_bad_zones_are_config_errors(write_config: Callable[..., Path], table: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write_config(f"[zones]\n{table}\n"))
