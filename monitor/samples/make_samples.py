"""SYNTHETIC sample exports of the whole campaign (19 Sep - 31 Oct 2022), for the demo and the docs.

Every account, post, number and name in these files is invented; none is a real person's data. The
files use the real export layouts (FORMATS.md, FORMATS-2026.md): CrowdTangle Facebook and Instagram,
Meta Business Suite Instagram, twarc2 CSV (with retweets), Twitter Analytics, a Zeeschuimer capture of
TikTok and Threads hashtag pages (NDJSON) and the city's TikTok Studio export. Some posts appear in two
exports with different metrics, some are untagged or outside the window, and a few rows are broken on
purpose so the demo shows rejects. Also writes roster.csv (the community roster, mixed account forms).

Deterministic: the same files every time.   python -m monitor.samples.make_samples [OUT_DIR]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from monitor.samples import FILES

SEED = 2022
WIB = dt.timezone(dt.timedelta(hours=7))
START = dt.date(2022, 9, 19)
END = dt.date(2022, 10, 31)


# kecamatan -> kelurahan of Kota Probolinggo
KELURAHAN = {
    "Kademangan": ["Kademangan", "Pilang", "Ketapang", "Triwung Kidul", "Triwung Lor", "Pohsangit Kidul"],
    "Kedopok": ["Kedopok", "Jrebeng Lor", "Jrebeng Wetan", "Jrebeng Kidul", "Kareng Lor", "Sumber Wetan"],
    "Wonoasih": ["Wonoasih", "Kedunggaleng", "Jrebeng Kulon", "Pakistaji", "Sumber Taman", "Kedung Asem"],
    "Mayangan": ["Mayangan", "Mangunharjo", "Jati", "Wiroborang", "Sukabumi"],
    "Kanigaran": ["Kanigaran", "Kebonsari Kulon", "Kebonsari Wetan", "Curahgrinting", "Sukoharjo"],
}
FIRST = "Ahmad Siti Budi Dewi Agus Sri Eko Nur Hadi Rina Joko Wulan Slamet Indah Bambang Yuli Teguh Ratna"
LAST = "Santoso Rahmawati Hidayat Lestari Wibowo Susanti Prasetyo Handayani Saputra Wahyuni Kurniawan"


@dataclass
class Account:
    name: str  # the person who runs it
    group: str  # KIM/LPM of a kelurahan, or the city
    kelurahan: str
    kecamatan: str
    handle: str
    fb_id: str
    ig_id: str
    tw_id: str
    activity: float  # relative posting rate
    platforms: tuple[str, ...]
    kind: str  # "community", "city", "outsider"


def make_accounts(rng: random.Random) -> list[Account]:
    firsts, lasts = FIRST.split(), LAST.split()
    accounts: list[Account] = []
    places = [(kec, kel) for kec, kels in KELURAHAN.items() for kel in kels]
    rng.shuffle(places)
    for i in range(25):
        kec, kel = places[i]
        kind = "KIM" if i % 4 else "LPM"
        slug = kel.lower().replace(" ", "")
        accounts.append(
            Account(
                name=f"{rng.choice(firsts)} {rng.choice(lasts)}",
                group=f"{kind} {kel}",
                kelurahan=kel,
                kecamatan=kec,
                handle=f"{kind.lower()}_{slug}",
                fb_id=str(100070000000000 + i * 7919),
                ig_id=str(17841450000000000 + i * 104729),
                tw_id=str(1500000000000000000 + i * 99991),
                activity=rng.choice([0.3, 0.6, 1.0, 1.0, 1.6, 2.4]),
                platforms=rng.choice(
                    [
                        ("facebook",),
                        ("facebook", "instagram"),
                        ("facebook", "instagram", "twitter"),
                        ("instagram",),
                    ]
                ),
                kind="community",
            )
        )
    city = [
        ("Pemkot Probolinggo", "pemkotprobolinggo", 3.0, ("facebook", "instagram", "twitter")),
        ("Diskominfo Kota Probolinggo", "diskominfo.probolinggo", 2.0, ("facebook", "instagram")),
    ]
    for i, (name, handle, activity, platforms) in enumerate(city):
        accounts.append(
            Account(
                name, "Pemerintah Kota", "", "", handle, str(61570000000000 + i), str(17841400000000000 + i),
                str(1400000000000000000 + i), activity, platforms, "city",
            )
        )  # fmt: skip
    outsiders = ["jelajah_jatim", "kuliner.sby", "wisata_malang", "explore.pasuruan", "anak_rantau88"]
    for i, handle in enumerate(outsiders):
        accounts.append(
            Account(
                handle.replace("_", " ").replace(".", " ").title(), "", "", "", handle,
                str(100080000000000 + i), str(17841460000000000 + i), str(1300000000000000000 + i),
                0.5, ("facebook", "instagram", "twitter"), "outsider",
            )
        )  # fmt: skip
    return accounts


OPENERS = [
    "Ayo dukung Kota Probolinggo! Vote setiap hari di welovecities.org",
    "Warga {kel} siap memenangkan Probolinggo. Sudah vote hari ini?",
    "Pagi yang cerah dari {kel}, kecamatan {kec}. Jangan lupa vote ya",
    "Taman kota makin hijau dan bersih. Klik vote di welovecities.org",
    "Kegiatan kerja bakti {group} hari ini, semangat untuk kota kita",
    "Mangga dan anggur khas Probolinggo, bangga jadi warga kota ini",
    "Hari ke-{day} kampanye We Love Cities, terus vote setiap hari!",
    "Sore di pelabuhan Mayangan, indahnya kota kita",
]
TRACKED = ["#WeLoveProbolinggo", "#WeLoveCities", "#weloveprobolinggo", "#WeLoveCities!"]
OTHER = ["#Probolinggo", "#KotaProbolinggo", "#WLC2022", "#JawaTimur", "#WeLoveProbolinggo2022"]


@dataclass
class Post:
    account: Account
    platform: str
    created: dt.datetime  # aware, WIB
    text: str
    likes: int
    comments: int
    shares: int
    views: int
    key: str


def day_weight(day: dt.date) -> float:
    """Posting rises over the campaign, with a weekly rhythm (Monday briefings, busy weekends)."""
    progress = (day - START).days / (END - START).days
    weekly = {0: 1.3, 1: 0.9, 2: 0.8, 3: 0.9, 4: 1.0, 5: 1.2, 6: 1.4}[day.weekday()]
    final = 1.6 if (END - day).days < 3 else 1.0
    return (0.6 + 2.2 * progress) * weekly * final


def make_posts(rng: random.Random, accounts: list[Account]) -> list[Post]:
    posts: list[Post] = []
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    extra_days = [dt.date(2022, 9, 16), dt.date(2022, 9, 18), dt.date(2022, 11, 1), dt.date(2022, 11, 3)]
    base = {"facebook": 0.24, "instagram": 0.2, "twitter": 0.17}
    serial = 0
    for day in days + extra_days:
        in_window = START <= day <= END
        for acc in accounts:
            for platform in acc.platforms:
                rate = base[platform] * acc.activity * (day_weight(day) if in_window else 0.4)
                if acc.kind == "outsider":
                    rate *= 0.5
                count = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
                for _ in range(count):
                    serial += 1
                    posts.append(_post(rng, acc, platform, day, serial))
    posts.sort(key=lambda p: p.created)
    return posts


def _post(rng: random.Random, acc: Account, platform: str, day: dt.date, serial: int) -> Post:
    hour = rng.choice([6, 7, 7, 8, 9, 12, 15, 16, 18, 19, 19, 20, 21, 23])
    created = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), WIB)
    opener = rng.choice(OPENERS).format(
        kel=acc.kelurahan or "Probolinggo", kec=acc.kecamatan or "Mayangan", group=acc.group or acc.name,
        day=(day - START).days + 1,
    )  # fmt: skip
    roll = rng.random()
    if acc.kind == "outsider":
        tags = (
            ["#WeLoveCities", rng.choice(["#WeLoveMalang", "#WeLoveSurabaya", "#Pasuruan"])]
            if roll < 0.6
            else []
        )
    elif roll < 0.08:
        tags = [rng.choice(OTHER)]  # forgot the campaign tag
    else:
        tags = rng.sample(TRACKED[:2], rng.choice([1, 2, 2])) + rng.sample(OTHER, rng.randrange(0, 2))
    text = opener + "\n" + " ".join(tags) if rng.random() < 0.3 else opener + " " + " ".join(tags)
    scale = 6.0 if acc.kind == "city" else 1.0
    likes = int(rng.randrange(5, 90) * scale * (1 + (day - START).days / 60))
    comments = int(rng.randrange(0, 25) * scale)
    shares = int(rng.randrange(0, 15) * scale)
    views = likes * rng.randrange(8, 20)
    if platform == "facebook":
        key = str(5400000000000000 + serial * 131)
    elif platform == "instagram":
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        key = "Cj" + "".join(rng.choice(alphabet) for _ in range(9))
    else:
        key = str(1572000000000000000 + serial * 7777)
    return Post(acc, platform, created, text.strip(), likes, comments, shares, views, key)


# ---------------------------------------------------------------------------------------------------------
# Writers, one per export layout


def _columns(header: str) -> list[str]:
    return header.split(",")


CT_FB_HEADER = _columns(
    "Page Name,User Name,Facebook Id,Page Category,Page Admin Top Country,Page Description,Page Created,"
    "Likes at Posting,Followers at Posting,Post Created,Post Created Date,Post Created Time,Type,"
    "Total Interactions,Likes,Comments,Shares,Love,Wow,Haha,Sad,Angry,Care,Video Share Status,"
    "Is Video Owner?,Post Views,Total Views,Total Views For All Crossposts,Video Length,URL,Message,Link,"
    "Final Link,Image Text,Link Text,Description,Sponsor Id,Sponsor Name,Sponsor Category"
) + [
    "Total Interactions (weighted  \u2014  Likes 1x Shares 1x Comments 1x Love 1x Wow 1x Haha 1x Sad 1x "
    "Angry 1x Care 1x )",
    "Overperforming Score",
]
CT_IG_HEADER = _columns(
    "Account,User Name,Followers at Posting,Post Created,Post Created Date,Post Created Time,Type,"
    "Total Interactions,Likes,Comments,Views,URL,Link,Photo,Title,Description,Image Text,Sponsor Id,"
    "Sponsor Name"
) + ["Overperforming Score (weighted  \u2014  Likes 1x Comments 1x )"]
MBS_IG_HEADER = _columns(
    "Post ID,Account ID,Account username,Account name,Description,Duration (sec),Publish time,Permalink,"
    "Post type,Data comment,Date,Views,Reach,Likes,Shares,Follows,Comments,Saves"
)
TWARC_HEADER = _columns(
    "id,conversation_id,referenced_tweets.replied_to.id,referenced_tweets.retweeted.id,"
    "referenced_tweets.quoted.id,author_id,in_reply_to_user_id,in_reply_to_username,retweeted_user_id,"
    "retweeted_username,quoted_user_id,quoted_username,created_at,text,lang,source,"
    "public_metrics.impression_count,public_metrics.reply_count,public_metrics.retweet_count,"
    "public_metrics.quote_count,public_metrics.like_count,public_metrics.bookmark_count,reply_settings,"
    "edit_history_tweet_ids,edit_controls.edits_remaining,edit_controls.editable_until,"
    "edit_controls.is_edit_eligible,possibly_sensitive,withheld.scope,withheld.copyright,"
    "withheld.country_codes,entities.annotations,entities.cashtags,entities.hashtags,entities.mentions,"
    "entities.urls,context_annotations,attachments.media,attachments.media_keys,"
    "attachments.poll.duration_minutes,attachments.poll.end_datetime,attachments.poll.id,"
    "attachments.poll.options,attachments.poll.voting_status,attachments.poll_ids,author.id,"
    "author.created_at,author.username,author.name,author.description,author.entities.description.cashtags,"
    "author.entities.description.hashtags,author.entities.description.mentions,"
    "author.entities.description.urls,author.entities.url.urls,author.url,author.location,"
    "author.pinned_tweet_id,author.profile_image_url,author.protected,author.public_metrics.followers_count,"
    "author.public_metrics.following_count,author.public_metrics.listed_count,"
    "author.public_metrics.tweet_count,author.verified,author.verified_type,author.withheld.scope,"
    "author.withheld.copyright,author.withheld.country_codes,geo.coordinates.coordinates,"
    "geo.coordinates.type,geo.country,geo.country_code,geo.full_name,geo.geo.bbox,geo.geo.type,geo.id,"
    "geo.name,geo.place_id,geo.place_type,matching_rules,__twarc.retrieved_at,__twarc.url,__twarc.version"
)
TA_HEADER = _columns(
    "Tweet id,Tweet permalink,Tweet text,time,impressions,engagements,engagement rate,retweets,replies,likes,"
    "user profile clicks,url clicks,hashtag clicks,detail expands,permalink clicks,app opens,app installs,"
    "follows,email tweet,dial phone,media views,media engagements,promoted impressions,promoted engagements,"
    "promoted engagement rate,promoted retweets,promoted replies,promoted likes,promoted user profile clicks,"
    "promoted url clicks,promoted hashtag clicks,promoted detail expands,promoted permalink clicks,"
    "promoted app opens,promoted app installs,promoted follows,promoted email tweet,promoted dial phone,"
    "promoted media views,promoted media engagements"
)


def _split(rng: random.Random, likes: int) -> list[int]:
    """CrowdTangle splits reactions over Likes, Love, Wow, Haha, Sad, Angry, Care."""
    love = likes * rng.randrange(10, 30) // 100
    care = likes * rng.randrange(0, 8) // 100
    wow = likes * rng.randrange(0, 5) // 100
    return [likes - love - care - wow, love, wow, 0, 0, 0, care]


def write_crowdtangle_facebook(path: Path, posts: list[Post], rng: random.Random) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CT_FB_HEADER)
        for p in posts:
            a = p.account
            r = _split(rng, p.likes)
            total = sum(r) + p.comments + p.shares
            kind = "GOVERNMENT_ORGANIZATION" if a.kind == "city" else "COMMUNITY"
            w.writerow(
                [a.group if a.kind == "community" else a.name, a.handle, a.fb_id, kind, "ID", "",
                 "2019-03-01 08:00:00", 1200, 1500, p.created.strftime("%Y-%m-%d %H:%M:%S WIB"),
                 p.created.strftime("%Y-%m-%d"), p.created.strftime("%H:%M:%S"), "Photo", f"{total:,}",
                 r[0], p.comments, p.shares, *r[1:], "", "-", 0, 0, 0, "N/A",
                 f"https://www.facebook.com/{a.fb_id}/posts/{p.key}", p.text, "", "", "", "", "", "", "", "",
                 f"{total:,}", f"{rng.uniform(-2, 3):.2f}"]
            )  # fmt: skip


def write_crowdtangle_instagram(path: Path, posts: list[Post], rng: random.Random) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CT_IG_HEADER)
        for i, p in enumerate(posts):
            a = p.account
            url = f"https://www.instagram.com/p/{p.key}/"
            row = [a.name if a.kind != "community" else a.group, a.handle, 900 + len(a.handle) * 37,
                   p.created.strftime("%Y-%m-%d %H:%M:%S WIB"), p.created.strftime("%Y-%m-%d"),
                   p.created.strftime("%H:%M:%S"), "Photo", f"{p.likes + p.comments:,}", p.likes, p.comments,
                   0, url, url, "https://scontent.cdninstagram.com/sample.jpg", "", p.text, "", "", "",
                   f"{rng.uniform(-2, 3):.2f}"]  # fmt: skip
            if i == 40:
                row = row[:9]  # a row cut short (broken on purpose: the demo shows a reject)
            w.writerow(row)


def write_mbs_instagram(path: Path, posts: list[Post], rng: random.Random) -> None:
    """The city's own Instagram, exported later than CrowdTangle: the same posts with newer metrics."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(MBS_IG_HEADER)
        for n, p in enumerate(posts):
            a = p.account
            likes = p.likes + rng.randrange(5, 60)
            views = p.views + rng.randrange(100, 900)
            w.writerow(
                [str(18020000000000000 + n * 17), a.ig_id, a.handle, a.name, p.text, "",
                 p.created.strftime("%m/%d/%Y %H:%M"), f"https://www.instagram.com/p/{p.key}/", "IG image",
                 "", "Lifetime", f"{views:,}", views * 2 // 3, likes, p.shares, 0, p.comments + 2, 3]
            )  # fmt: skip


def write_twarc(path: Path, posts: list[Post], rng: random.Random, accounts: list[Account]) -> None:
    """twarc2 + twarc-csv: UTC `...000Z` times, JSON hashtag lists, `\\n` escapes, retweet rows."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, TWARC_HEADER, restval="")
        w.writeheader()
        rt_serial = 0
        for n, p in enumerate(posts):
            w.writerow(_tweet_row(p, p.account, p.key, p.created, None))
            if rng.random() < 0.25:  # someone retweets it: the row carries the original's text and metrics
                rt_serial += 1
                fan = rng.choice([a for a in accounts if "twitter" in a.platforms and a is not p.account])
                when = p.created + dt.timedelta(minutes=rng.randrange(5, 600))
                w.writerow(_tweet_row(p, fan, str(1590000000000000000 + rt_serial * 313), when, p))
            if n == 25:
                bad = _tweet_row(p, p.account, str(int(p.key) + 1), p.created, None)
                bad["created_at"] = "kemarin sore"  # broken on purpose: not a time
                w.writerow(bad)


def _tweet_row(
    p: Post, author: Account, tid: str, when: dt.datetime, original: Post | None
) -> dict[str, str]:
    tags = [t.rstrip("!") for t in p.text.split() if t.startswith("#")]
    row = {
        "id": tid,
        "conversation_id": tid,
        "author_id": author.tw_id,
        "created_at": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "text": p.text.replace("\n", "\\n"),
        "lang": "in",
        "source": "Twitter for Android",
        "public_metrics.impression_count": str(p.views),
        "public_metrics.reply_count": str(p.comments),
        "public_metrics.retweet_count": str(p.shares),
        "public_metrics.quote_count": str(p.shares // 4),
        "public_metrics.like_count": str(p.likes),
        "public_metrics.bookmark_count": "0",
        "reply_settings": "everyone",
        "edit_history_tweet_ids": json.dumps([tid]),
        "possibly_sensitive": "False",
        "entities.hashtags": json.dumps(tags) if tags else "",
        "author.id": author.tw_id,
        "author.username": author.handle.replace(".", "_"),
        "author.name": author.name,
        "author.protected": "False",
        "author.verified": "False",
        "__twarc.retrieved_at": "2022-11-01T02:00:00+00:00",
        "__twarc.url": "https://api.twitter.com/2/tweets/search/recent",
        "__twarc.version": "2.12.0",
    }
    if original is not None:
        row["conversation_id"] = original.key
        row["referenced_tweets.retweeted.id"] = original.key
        row["retweeted_user_id"] = original.account.tw_id
        row["retweeted_username"] = original.account.handle.replace(".", "_")
    return row


def write_twitter_analytics(path: Path, posts: list[Post], rng: random.Random) -> None:
    """The city's tweet activity export: fully quoted, CRLF, float counts, newer metrics than twarc."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(TA_HEADER)
        for n, p in enumerate(posts):
            likes, retweets = p.likes + rng.randrange(3, 40), p.shares + rng.randrange(0, 5)
            impressions = p.views + rng.randrange(50, 500)
            engagements = likes + retweets + p.comments
            tid = "1,57688E+18" if n == 7 else p.key  # n == 7: an id Excel mangled (on purpose)
            handle = p.account.handle.replace(".", "_")
            w.writerow(
                [tid, f"https://twitter.com/{handle}/status/{p.key}", p.text,
                 p.created.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M +0000"), f"{impressions}.0",
                 f"{engagements}.0", repr(engagements / impressions), f"{retweets}.0", f"{p.comments}.0",
                 f"{likes}.0", "2.0", "0.0", "1.0", "3.0", "0.0", "0", "0", "0", "0", "0", "0", "0"]
                + ["-"] * 18
            )  # fmt: skip


def write_roster(path: Path, accounts: list[Account], rng: random.Random, new_posts: list[Post]) -> None:
    """~20 members: most active community accounts, a few who never post; some posters left out."""
    on_new = {(p.account.handle, p.platform) for p in new_posts}
    community = [a for a in accounts if a.kind == "community"]
    frequent_left_out = sorted(community, key=lambda a: -a.activity)[:3]
    members = [a for a in community if a not in frequent_left_out][:17]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "name",
                "group",
                "kelurahan",
                "kecamatan",
                "facebook",
                "instagram",
                "twitter",
                "tiktok",
                "threads",
            ]
        )
        for i, a in enumerate(members):
            fb = ig = tw = ""
            if "facebook" in a.platforms:
                fb = [a.handle, f"https://www.facebook.com/{a.handle}/", a.fb_id, f"@{a.handle}"][i % 4]
            if "instagram" in a.platforms:
                ig = [f"@{a.handle}", f"https://www.instagram.com/{a.handle}/", a.handle][i % 3]
            if "twitter" in a.platforms:
                handle = a.handle.replace(".", "_")
                tw = [f"@{handle}", f"https://twitter.com/{handle}", handle][i % 3]
            tt = (
                [f"@{a.handle}", f"https://www.tiktok.com/@{a.handle}"][i % 2]
                if (a.handle, "tiktok") in on_new
                else ""
            )
            th = f"https://www.threads.com/@{a.handle}" if (a.handle, "threads") in on_new else ""
            w.writerow([a.name, a.group, a.kelurahan, a.kecamatan, fb, ig, tw, tt, th])
        # Members who signed up but never posted
        quiet = [("Hendra Gunawan", "KIM Jati", "Jati", "Mayangan", "kim.jati.quiet", "@kim_jati", "", "",
                  ""),
                 ("Sri Mulyani", "LPM Kedopok", "Kedopok", "Kedopok", "", "lpm_kedopok_quiet", "@lpmkedopok",
                  "", ""),
                 ("Yusuf Maulana", "KIM Curahgrinting", "Curahgrinting", "Kanigaran",
                  "https://www.facebook.com/profile.php?id=100079999999999", "", "", "", "")]  # fmt: skip
        for row in quiet:
            w.writerow(row)


# TikTok and Threads come from their own random stream, so the five older files stay as they were.
NEW_PLATFORMS = ("tiktok", "threads")


def make_new_platform_posts(accounts: list[Account]) -> list[Post]:
    """TikTok videos and Threads posts of some community accounts and the city (own random stream)."""
    rng = random.Random(SEED + 1)
    posters = [a for a in accounts if a.kind != "outsider" and rng.random() < 0.6]
    posts: list[Post] = []
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    serial = 0
    for day in days:
        for acc in posters:
            for platform in NEW_PLATFORMS:
                rate = {"tiktok": 0.08, "threads": 0.05}[platform] * acc.activity * day_weight(day)
                if rng.random() < rate:
                    serial += 1
                    post = _post(rng, acc, platform, day, serial)
                    if platform == "tiktok":
                        post.key = str(7147000000000000000 + serial * 7919)
                        post.views *= 3
                    else:
                        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
                        post.key = "Cq" + "".join(rng.choice(alphabet) for _ in range(9))
                    posts.append(post)
    posts.sort(key=lambda p: p.created)
    return posts


def write_zeeschuimer(path: Path, posts: list[Post], rng: random.Random) -> None:
    """Zeeschuimer's NDJSON: one envelope a line, TikTok and Threads items mixed, captured a day later;
    one line cut short (broken on purpose: the demo shows a reject)."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for n, p in enumerate(posts):
            a = p.account
            handle = a.handle.replace("-", "_")
            captured = p.created + dt.timedelta(hours=rng.randrange(6, 30))
            tags = [t.strip("#!") for t in p.text.split() if t.startswith("#")]
            if p.platform == "tiktok":
                data: dict[str, object] = {
                    "id": p.key,
                    "desc": p.text,
                    "createTime": int(p.created.timestamp()),
                    "author": {"id": str(7000000000000000000 + int(a.fb_id) % 10**9), "uniqueId": handle,
                               "nickname": a.name},
                    "stats": {"diggCount": p.likes, "commentCount": p.comments, "shareCount": p.shares,
                              "playCount": p.views, "collectCount": p.likes // 10},
                    "textExtra": [{"hashtagName": t} for t in tags],
                }  # fmt: skip
                platform, page = "tiktok.com", "https://www.tiktok.com/tag/weloveprobolinggo"
                api = "https://www.tiktok.com/api/challenge/item_list/?count=30&SYNTHETIC"
            else:
                data = {
                    "pk": str(3700000000000000000 + n), "id": f"{3700000000000000000 + n}_{a.ig_id}",
                    "code": p.key, "taken_at": int(p.created.timestamp()), "caption": {"text": p.text},
                    "user": {"pk": a.ig_id, "username": handle, "is_verified": False},
                    "like_count": p.likes,
                    "text_post_app_info": {"direct_reply_count": p.comments, "repost_count": p.shares,
                                           "quote_count": p.shares // 4},
                }  # fmt: skip
                platform, page = "threads.net", "https://www.threads.com/search?q=%23WeLoveProbolinggo"
                api = "https://www.threads.com/graphql/query?SYNTHETIC"
            envelope = {
                "nav_index": f"1:{3 + n % 4}:0",
                "item_id": str(data["id"]),
                "timestamp_collected": int(captured.timestamp() * 1000),
                "source_platform": platform,
                "source_platform_url": page,
                "source_url": api,
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "data": data,
                "id": n + 1,
            }
            line = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
            f.write((line[: len(line) // 2] if n == 30 else line) + "\n")


TIKTOK_STUDIO_HEADER = _columns(
    "Video title,Video link,Post time,Total likes,Total comments,Total shares,Total views"
)


def write_tiktok_studio(path: Path, posts: list[Post], rng: random.Random) -> None:
    """The city's TikTok Studio per-video export, made after the capture: the same videos, newer counts."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(TIKTOK_STUDIO_HEADER)
        for p in posts:
            w.writerow(
                [p.text, f"https://www.tiktok.com/@{p.account.handle}/video/{p.key}",
                 p.created.strftime("%Y-%m-%d %H:%M:%S"), p.likes + rng.randrange(5, 80), p.comments + 1,
                 p.shares, f"{p.views + rng.randrange(100, 2000):,}"]
            )  # fmt: skip


def make_samples(out_dir: Path) -> list[Path]:
    """Write the sample exports and roster.csv into out_dir; returns the exports in import order."""
    rng = random.Random(SEED)
    accounts = make_accounts(rng)
    posts = make_posts(rng, accounts)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_platform = {
        name: [p for p in posts if p.platform == name] for name in ("facebook", "instagram", "twitter")
    }
    city_ig = [p for p in by_platform["instagram"] if p.account.handle == "pemkotprobolinggo"]
    city_tw = [p for p in by_platform["twitter"] if p.account.handle == "pemkotprobolinggo"]
    paths = [out_dir / name for name in FILES]
    write_crowdtangle_facebook(paths[0], by_platform["facebook"], rng)
    write_crowdtangle_instagram(paths[1], by_platform["instagram"], rng)
    write_mbs_instagram(paths[2], city_ig, rng)
    write_twarc(paths[3], by_platform["twitter"], rng, accounts)
    write_twitter_analytics(paths[4], city_tw, rng)
    new_posts = make_new_platform_posts(accounts)
    extra = random.Random(SEED + 2)
    write_zeeschuimer(paths[5], new_posts, extra)
    city_tt = [p for p in new_posts if p.platform == "tiktok" and p.account.handle == "pemkotprobolinggo"]
    write_tiktok_studio(paths[6], city_tt, extra)
    write_roster(out_dir / "roster.csv", accounts, rng, new_posts)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for written in make_samples(target):
        print(written, written.stat().st_size)
