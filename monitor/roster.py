"""The community roster: which KIM and LPM accounts carry the campaign (issue 7).

The roster is a CSV the office keeps (`name,group,kelurahan,kecamatan,facebook,instagram,twitter,tiktok,
threads`; the last two may be left out);
an account cell holds a handle, `@handle`, a profile link or a Facebook page id. This module reads it
(bad rows are reported with their line, the rest load) and is the ONE place that says which posts
belong to which member: the roster's accounts go into a temporary table and SQL joins posts to it on
platform and author (Facebook: page id or handle; Instagram, X, TikTok, Threads: username;
case-insensitive), so
reports aggregate in the database instead of loading posts into Python.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import (
    ColumnClause,
    Connection,
    Date,
    Engine,
    Executable,
    Integer,
    String,
    bindparam,
    column,
    text,
)

# The platforms, their names and their sites are the same for a profile link as for a post link.
from collectors.links import HOSTS as HOST_PLATFORMS
from collectors.links import PLATFORM_TITLES
from monitor.config import CampaignConfig
from monitor.db import readonly
from monitor.errors import UsageError
from monitor.records import PLATFORMS

HEADER = "name,group,kelurahan,kecamatan,facebook,instagram,twitter,tiktok,threads"

# Header names the office may write instead of ours (Indonesian sheets, short forms), case-insensitive.
COLUMN_ALIASES = {
    "name": ("name", "nama", "nama lengkap"),
    "group": ("group", "kelompok", "kim", "lembaga", "kim/lpm"),
    "kelurahan": ("kelurahan", "desa", "kel", "kel."),
    "kecamatan": ("kecamatan", "kec", "kec."),
    "facebook": ("facebook", "fb"),
    "instagram": ("instagram", "ig"),
    "twitter": ("twitter", "x", "twitter/x", "x/twitter"),
    "tiktok": ("tiktok", "tik tok", "tt"),
    "threads": ("threads",),
    # Who the member is in the link-submission channels (docs/roster.md "Setor link").
    "whatsapp": ("whatsapp", "wa", "no wa", "no. wa", "nomor wa", "nomor whatsapp"),
    "telegram": ("telegram", "tg", "akun telegram"),
}
CONTACT_CHANNELS = ("whatsapp", "telegram")

# What a bare handle may look like per platform (ASCII only, so SQL lower() equals casefold()).
# Only the characters are checked, not the platforms' length limits (X 15, Instagram 30): a handle
# that exports really carry must never be refused by the roster.
HANDLE_PATTERNS = {
    "facebook": re.compile(r"[a-z0-9._-]{1,80}"),
    "instagram": re.compile(r"[a-z0-9._]{1,64}"),
    "twitter": re.compile(r"[a-z0-9_]{1,64}"),
    "tiktok": re.compile(r"[a-z0-9._]{1,64}"),
    "threads": re.compile(r"[a-z0-9._]{1,64}"),  # the Instagram username
}
HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.", "touch.")
# First path segments that are pages of the site, not accounts.
NOT_ACCOUNTS = {
    "facebook": {
        "groups", "events", "watch", "photo.php", "photo", "story.php", "permalink.php", "share",
        "sharer", "sharer.php", "hashtag", "login", "login.php", "home.php", "reel", "stories",
        "marketplace", "search", "help", "settings", "gaming", "media",
    },
    "instagram": {"p", "reel", "reels", "tv", "explore", "accounts", "direct", "about", "legal"},
    "twitter": {"i", "intent", "home", "search", "hashtag", "share", "explore", "settings", "messages",
                "notifications", "login"},
    "tiktok": {"tag", "discover", "search", "foryou", "explore", "live", "music", "t", "video", "login"},
    "threads": {"search", "t", "post", "login", "settings", "activity"},
}  # fmt: skip
URL_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|(?:[a-z0-9-]+\.)+[a-z]{2,}/)", re.IGNORECASE)
# What people type for "no account"; such a cell is empty, not a handle named "none".
NO_ACCOUNT = {"-", "–", "—", "n/a", "none", "tidak ada"}
# Excel turns a long id into 1,00012E+14 or 1.00012E+14 (scientific notation, digits lost) or
# 100012345678901.0; the real id cannot be recovered, so the cell is refused, never guessed.
EXCEL_NUMBER = re.compile(r"\d(?:[.,]\d+)?e\+\d+|^\d+[.,]0+$", re.IGNORECASE)
EXCEL_MESSAGE = "Excel changed this id; type it as text (format the column as Text)"
# facebook.com/KIM-Mayangan-123456789012345/: a page's name and id joined by hyphens.
NAMED_PAGE_ID = re.compile(r"-(\d+)$")


class RosterMissing(UsageError):
    """No roster file where the config says it is."""


# (member index, local day) -> (campaign posts, interactions): the roster's members only
MemberDays = dict[tuple[int, dt.date], tuple[int, int]]


class RosterFileError(UsageError):
    """The roster file cannot be read as a roster at all (not a bad row: the whole file)."""


class AccountError(ValueError):
    """An account cell that names no account of its platform; the message says why."""


@dataclass(frozen=True)
class RosterMember:
    """One trained KIM/LPM member and their accounts: platform -> normalized accounts."""

    name: str
    group: str
    kelurahan: str
    kecamatan: str
    accounts: dict[str, frozenset[str]] = field(default_factory=dict)
    line: int = 0  # where the member is in the roster file (header = line 1)
    # channel ("whatsapp", "telegram") -> sender keys (whatsapp_key / telegram_key): who they are
    # when they submit links
    contacts: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def account_count(self) -> int:
        return sum(len(a) for a in self.accounts.values())


@dataclass(frozen=True)
class RosterProblem:
    """A bad row: its line (header = line 1), what is wrong, and the row as written."""

    line: int
    reason: str
    raw: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Roster:
    path: Path
    members: tuple[RosterMember, ...]
    problems: tuple[RosterProblem, ...] = ()

    def accounts(self) -> Iterator[tuple[int, str, str]]:
        """(member index, platform, account) for every account on the roster."""
        for index, member in enumerate(self.members):
            for platform in PLATFORMS:
                for account in sorted(member.accounts.get(platform, ())):
                    yield index, platform, account


# ---------------------------------------------------------------------------------------------------------
# Account cells


def parse_account(platform: str, cell: str) -> str:
    """One account cell -> the normalized account: a lower-case handle or a numeric Facebook id.

    Accepts `handle`, `@handle`, a profile link (with or without https://, www., m.; also
    facebook.com/profile.php?id=<id>, /people/<name>/<id>, x.com) or a Facebook page id.
    Raises AccountError saying why when the cell names no account of `platform`.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    value = cell.strip().strip("\"'<>").strip()
    if not value:
        raise AccountError("empty")
    if EXCEL_NUMBER.search(value):
        raise AccountError(f"{value!r}: {EXCEL_MESSAGE}")
    if URL_LIKE.match(value) or "/" in value or _site(value) in HOST_PLATFORMS:
        return _account_from_link(platform, value)
    return _handle(platform, value[1:] if value.startswith("@") else value, cell)


def parse_accounts(platform: str, cell: str) -> frozenset[str]:
    """All accounts in one cell: several may be separated by `;`, `,`, new lines, or spaces between
    @handles and links. Empty -> no account. Raises AccountError for the first bad one."""
    if EXCEL_NUMBER.search(cell or ""):  # before splitting: 1,00012E+14 is one damaged id, not two
        raise AccountError(f"{cell.strip()!r}: {EXCEL_MESSAGE}")
    found: set[str] = set()
    for part in re.split(r"[;,\n]+", cell or ""):
        part = part.strip()
        if not part or part.casefold() in NO_ACCOUNT:
            continue
        tokens = part.split()
        # "Budi Santoso" is a name written where a handle belongs, not two handles.
        if len(tokens) > 1 and not all(t.startswith("@") or URL_LIKE.match(t) for t in tokens):
            raise AccountError(
                f"{part!r} has spaces: write the handle (e.g. @kim_mayangan) or the profile link"
            )
        found.update(parse_account(platform, token) for token in tokens)
    return frozenset(found)


def _handle(platform: str, handle: str, cell: str) -> str:
    if platform == "facebook" and handle.isdigit():
        return handle  # a page or profile id
    if any(ch.isspace() for ch in handle):
        raise AccountError(
            f"{cell.strip()!r} has spaces: write the handle (e.g. @kim_mayangan) or the profile link"
        )
    normalized = handle.lower()
    if not HANDLE_PATTERNS[platform].fullmatch(normalized):
        raise AccountError(f"{cell.strip()!r} is not a valid {PLATFORM_TITLES[platform]} username")
    return normalized


def _site(host: str) -> str:
    """`www.facebook.com` -> `facebook.com`: the host without its mobile or www prefix, lower case."""
    host = host.lower()
    for prefix in HOST_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def _account_from_link(platform: str, value: str) -> str:
    title = PLATFORM_TITLES[platform]
    parts = urlsplit(value if "://" in value else "https://" + value)
    host = _site(parts.hostname or "")
    link_platform = HOST_PLATFORMS.get(host)
    if link_platform is None:
        raise AccountError(f"{value!r} is a link to {host or 'nowhere'}, not to {title}")
    if link_platform != platform:
        raise AccountError(f"{value!r} is a {PLATFORM_TITLES[link_platform]} link in the {platform} column")
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise AccountError(f"{value!r} names no account")
    first = segments[0].lower()
    if platform == "facebook":
        if first == "profile.php":
            ids = parse_qs(parts.query).get("id", [""])
            if ids[0].isdigit():
                return ids[0]
            raise AccountError(f"{value!r} has no numeric id=")
        if first in ("people", "pages"):
            ids = [s for s in segments[1:] if s.isdigit()]
            if ids:
                return ids[-1]
            raise AccountError(f"{value!r} has no page id")
        if first == "pg" and len(segments) > 1:
            first = segments[1].lower()
        named = NAMED_PAGE_ID.search(first)
        if named:  # Facebook usernames have no hyphens: this is a page's name-and-id address
            return named.group(1)
    elif platform == "instagram" and first == "stories" and len(segments) > 1:
        first = segments[1].lower()
    elif platform in ("tiktok", "threads") and first.startswith("@"):
        first = first[1:]  # tiktok.com/@<user>, threads.com/@<user> (also before /video/<id>, /post/<code>)
    if first in NOT_ACCOUNTS[platform]:
        raise AccountError(f"{value!r} is a {title} post, group or other page, not an account")
    return _handle(platform, first, value)


# ---------------------------------------------------------------------------------------------------------
# Contacts: who a member is in WhatsApp and Telegram (the "setor link" channels)

# Invisible characters WhatsApp exports put around names and numbers (FORMATS-2026 §10f).
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
)
_PHONE = re.compile(r"^\+?[\d\s\-\u2010\u2011().]{7,}$")


def whatsapp_key(sender: str) -> str:
    """How a WhatsApp sender (or a roster `whatsapp` cell) is compared: `tel:<digits>` for a phone
    number in any grouping (`+62 812-0000-0101`, `0812 0000 0101`: a leading 0 is Indonesia's 62),
    else `name:<case-folded display name>` (an iOS `~ ` profile-name prefix dropped)."""
    text = sender.translate(_INVISIBLE).replace("\u00a0", " ").replace("\u202f", " ").strip()
    if _PHONE.match(text):
        digits = re.sub(r"\D", "", text)
        if digits.startswith("0"):
            digits = "62" + digits[1:]
        return "tel:" + digits
    return "name:" + " ".join(text.lstrip("~").split()).casefold()


def telegram_key(value: str | int) -> str:
    """How a Telegram sender (or a roster `telegram` cell) is compared: `id:<numeric user id>` or
    `user:<case-folded username without @>`."""
    text = str(value).strip().removeprefix("https://t.me/").removeprefix("t.me/").lstrip("@")
    return f"id:{text}" if text.isdigit() else f"user:{text.casefold()}"


CONTACT_KEYS = {"whatsapp": whatsapp_key, "telegram": telegram_key}


def parse_contacts(channel: str, cell: str) -> frozenset[str]:
    """The sender keys in a roster contact cell; several are separated by `;`, `,` or new lines."""
    key = CONTACT_KEYS[channel]
    parts = (p.strip() for p in re.split(r"[;,\n]+", cell or ""))
    return frozenset(key(p) for p in parts if p and p.casefold() not in NO_ACCOUNT)


def member_key(name: str) -> str:
    """How a member's name is compared (form answers, stored submissions): spaces and case ignored."""
    return " ".join(name.split()).casefold()


# ---------------------------------------------------------------------------------------------------------
# The roster file


def load_roster(path: Path | str) -> Roster:
    """Read the roster CSV (UTF-8 with or without BOM, else cp1252; `,` or `;` delimited).

    Bad rows (no name, an account cell that names no account, an account another member already
    has) are returned as problems with their line; members with a bad account cell still load with
    their good accounts, so they stay on the report. Raises RosterMissing when the file is not there
    and RosterFileError when it has no name column or no account column.
    """
    path = Path(path)
    if not path.is_file():
        raise RosterMissing(
            f"no roster file at {path} (create it with the header line `{HEADER}`, one member a line, "
            "or point [roster] path in config.toml to it; see docs/roster.md)"
        )
    raw = path.read_bytes()
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a zip (.xlsx) or an old .xls workbook
        raise RosterFileError(
            f"{path}: this is an Excel workbook, not a CSV file; in Excel use Save As, "
            f"type 'CSV UTF-8 (Comma delimited)' (first line: {HEADER})"
        )
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    first_line = content.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise RosterFileError(f"{path}: the roster file is empty (first line: {HEADER})")
    columns = _columns(path, header)

    members: list[RosterMember] = []
    problems: list[RosterProblem] = []
    owners: dict[tuple[str, str], RosterMember] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span lines; report the first
        if not any(cell.strip() for cell in row):
            continue
        raw_row = delimiter.join(row)

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        name = " ".join(cell("name").split())
        if not name:
            problems.append(RosterProblem(start, "no name (the name column is empty)", raw_row))
            continue
        accounts: dict[str, frozenset[str]] = {}
        for platform in PLATFORMS:
            try:
                found = parse_accounts(platform, cell(platform))
            except AccountError as exc:
                problems.append(RosterProblem(start, f"{name}: {platform} {exc}", raw_row))
                continue
            for account in sorted(found):
                owner = owners.get((platform, account))
                if owner is not None:
                    problems.append(
                        RosterProblem(
                            start,
                            f"{name}: {platform} {account} is already listed for {owner.name} "
                            f"(line {owner.line}); it counts for {owner.name} only",
                            raw_row,
                        )
                    )
                    found = found - {account}
            if found:
                accounts[platform] = found
        contacts = {
            channel: keys for channel in CONTACT_CHANNELS if (keys := parse_contacts(channel, cell(channel)))
        }
        member = RosterMember(
            name=name,
            group=" ".join(cell("group").split()),
            kelurahan=" ".join(cell("kelurahan").split()),
            kecamatan=" ".join(cell("kecamatan").split()),
            accounts=accounts,
            line=start,
            contacts=contacts,
        )
        for platform, found in accounts.items():
            for account in found:
                owners[(platform, account)] = member
        members.append(member)
    return Roster(path=path, members=tuple(members), problems=tuple(problems))


def _columns(path: Path, header: Sequence[str]) -> dict[str, int]:
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    columns: dict[str, int] = {}
    for key, aliases in COLUMN_ALIASES.items():
        for index, name in enumerate(names):
            if name in aliases:
                columns[key] = index
                break
    if "name" not in columns:
        raise RosterFileError(f"{path}: line 1 has no `name` column (the header should be `{HEADER}`)")
    if not any(p in columns for p in PLATFORMS):
        raise RosterFileError(
            f"{path}: line 1 has no facebook, instagram or twitter column, nor tiktok or threads "
            f"(the header should be `{HEADER}`)"
        )
    return columns


# ---------------------------------------------------------------------------------------------------------
# Matching posts to members (SQL, in one place)

ACCOUNTS_TABLE = "tmp_roster_accounts"
NAMES_TABLE = "tmp_roster_names"  # (member, name_key): members by name, to join submissions
# The member who submitted each post's link ("setor link"), when it was not refused: who posted when
# the source names no account of the roster (DESIGN 5 "Who posted"). Only one member's submission of
# a post is ever accepted (monitor.submissions refuses the duplicates), min() only makes it one row.
SUBMITTERS_SQL = f"""
SELECT s.platform, s.post_key, min(n.member) AS member
FROM submissions s JOIN {NAMES_TABLE} n ON n.name_key = s.member_key
WHERE s.state <> 'refused' GROUP BY s.platform, s.post_key
"""

# Campaign posts of a date range (DESIGN 5): a tracked tag, inside the range, not a repost. The tag
# tests are `id IN (posts of these tags)`, as in reports.queries.campaign_filter: SQLite then reads
# the posts in id order from the (tag, post_id) index, where EXISTS per post made it walk the date
# index and look every post's tags up (2.5x slower over 200k posts). {day} is the day column as
# campaign_query gives it.
CAMPAIGN_POSTS_SQL = """
SELECT p.id AS post_id, p.platform, p.post_key, p.author_id, p.author_handle, p.author_name, p.local_date,
       coalesce(p.likes, 0) + coalesce(p.comments, 0) + coalesce(p.shares, 0) AS interactions
FROM posts p
WHERE {day} BETWEEN :start AND :end
  AND NOT p.is_repost
  AND p.id IN (SELECT h.post_id FROM post_hashtags h WHERE h.tag IN :tags)
  AND NOT (p.id IN (SELECT h.post_id FROM post_hashtags h WHERE h.tag IN :peer_tags)
           AND p.id NOT IN (SELECT h.post_id FROM post_hashtags h WHERE h.tag IN :own_tags))
"""

# The author of a post as roster accounts are written: lower-case handle without '@'.
AUTHOR_HANDLE_SQL = "lower(ltrim({p}.author_handle, '@'))"
# The author of post {p} is roster account r: the same platform, and the handle or, on Facebook, the
# page id. The IN list lets SQLite look each post up in the accounts index.
AUTHOR_IS_ACCOUNT_SQL = (
    "r.platform = {p}.platform AND r.account IN ("
    + AUTHOR_HANDLE_SQL
    + ", CASE WHEN {p}.platform = 'facebook' THEN lower({p}.author_id) END)"
)

# (member, platform, account, post_id) for every stored post (campaign or not) whose author is a roster
# account, for `roster check`. CROSS JOIN keeps posts as the outer loop in SQLite, so each post is one
# index lookup in the small accounts table.
MATCHES_SQL = f"""
SELECT r.member, r.platform, r.account, p.id AS post_id FROM posts p CROSS JOIN {ACCOUNTS_TABLE} r
 WHERE {AUTHOR_IS_ACCOUNT_SQL.format(p="p")}
"""


def campaign_query(sql: str, conn: Connection) -> str:
    """Prefix `sql` with the CTE `campaign_posts(post_id, platform, post_key, author_id, author_handle,
    author_name, local_date, interactions)` for the database of `conn`.

    Bind :start, :end (dates) and :tags (expanding) with `bind_campaign`; run it on a connection
    from `matching()`, which holds the roster's accounts.
    """
    # The range starts at the campaign start and holds most posts: through the date index SQLite
    # would read them in date order, one random lookup in `posts` each (twice the work over 200k
    # posts). The unary + keeps it off that index. PostgreSQL plans from its statistics (and has no
    # unary + for dates).
    day = "+p.local_date" if conn.dialect.name == "sqlite" else "p.local_date"
    return f"WITH campaign_posts AS ({CAMPAIGN_POSTS_SQL.format(day=day)})\n{sql}"


def bind_campaign(
    sql: str, campaign: CampaignConfig, start: dt.date, end: dt.date, *columns: ColumnClause[Any]
) -> tuple[Executable, dict[str, object]]:
    """A text() statement for `sql` with the campaign parameters typed and bound (the range is cut to
    the campaign window) and, when given, typed result columns (SQLite returns dates as text).
    Returns (statement, params) for conn.execute."""
    start, end = max(start, campaign.start), min(end, campaign.end)
    stmt = text(sql).bindparams(
        bindparam("start", type_=Date()),
        bindparam("end", type_=Date()),
        bindparam("tags", expanding=True, type_=String()),
        bindparam("peer_tags", expanding=True, type_=String()),
        bindparam("own_tags", expanding=True, type_=String()),
    )
    params: dict[str, object] = {
        "start": start,
        "end": end,
        "tags": sorted(campaign.tracked_hashtags),
        # A peer city's post is not the campaign's (docs/peers.md); no peers: an empty list, no effect.
        "peer_tags": sorted(campaign.peer_hashtags),
        "own_tags": sorted(campaign.own_hashtags),
    }
    return (stmt.columns(*columns) if columns else stmt), params


@contextmanager
def matching(bind: Engine | Connection, roster: Roster) -> Iterator[Connection]:
    """A read-only connection holding the roster's accounts in a temporary table
    (member, platform, account) that `campaign_query` SQL joins against. Given a Connection (the
    report's, which holds its campaign posts), the tables are made on it and dropped after."""
    if isinstance(bind, Connection):
        _make_matching_tables(bind, roster)
        try:
            yield bind
        finally:
            for table in (ACCOUNTS_TABLE, NAMES_TABLE):
                bind.execute(text(f"DROP TABLE IF EXISTS {table}"))
        return
    with readonly(bind).connect() as conn:
        _make_matching_tables(conn, roster)
        try:
            yield conn
        finally:
            conn.rollback()  # temporary tables are transactional: this also drops them


def _make_matching_tables(conn: Connection, roster: Roster) -> None:
    conn.execute(text(f"DROP TABLE IF EXISTS {ACCOUNTS_TABLE}"))
    conn.execute(
        text(f"CREATE TEMPORARY TABLE {ACCOUNTS_TABLE} (member INTEGER, platform VARCHAR(16), account TEXT)")
    )
    # Unique: load_roster already gives an account listed for two members to the first only.
    conn.execute(text(f"CREATE UNIQUE INDEX ix_{ACCOUNTS_TABLE} ON {ACCOUNTS_TABLE} (platform, account)"))
    conn.execute(text(f"DROP TABLE IF EXISTS {NAMES_TABLE}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {NAMES_TABLE} (member INTEGER, name_key TEXT)"))
    conn.execute(text(f"CREATE INDEX ix_{NAMES_TABLE} ON {NAMES_TABLE} (name_key)"))
    names = [{"member": m, "name_key": member_key(member.name)} for m, member in enumerate(roster.members)]
    if names:
        conn.execute(text(f"INSERT INTO {NAMES_TABLE} (member, name_key) VALUES (:member, :name_key)"), names)
    rows = [{"member": m, "platform": p, "account": a} for m, p, a in roster.accounts()]
    if rows:
        columns = "(member, platform, account) VALUES (:member, :platform, :account)"
        conn.execute(text(f"INSERT INTO {ACCOUNTS_TABLE} {columns}"), rows)


def posts_by_member(
    conn: Connection, campaign: CampaignConfig, end: dt.date, posts: str | None = None
) -> MemberDays:
    """(member, local day) -> (campaign posts, interactions) from the campaign start to `end`, where
    member is the index into roster.members. Posts by accounts not on the roster are not counted here
    (the report's day table has every campaign post): over 200k posts, grouping only the members'
    posts takes a sixth fewer instructions.

    This is the matching: one pass over the campaign posts, two index lookups each, aggregated in SQL
    (at most days x members rows come back), so a report runs it once and builds every roster table
    from the result. A post whose author is no roster account counts for the member who submitted
    its link (a `submissions` row that was not refused): the post is seen, so it carries its real
    date, tags and metrics and is a campaign post by the usual rule. A post counts for one member
    only: when two members list the same author (a Facebook page by its handle and by its id), the
    first in roster order (`roster check` reports it).
    `conn` comes from `matching()`. `posts`: a temporary table on `conn` that already holds the
    campaign posts from the campaign start (reports.queries.campaign_posts: the report's); without
    it they are selected here."""
    # The author's account by handle and, on Facebook, by page id (the first member when both match,
    # as in roster order); else the submitter. Joins, not a subquery per post: a third faster.
    counts = f"""
        SELECT day, member, count(*) AS posts, sum(interactions) AS interactions
        FROM (
            SELECT c.local_date AS day, c.interactions,
                   coalesce(CASE WHEN h.member <= i.member THEN h.member ELSE i.member END,
                            h.member, i.member, sub.member) AS member
            FROM campaign_posts c
            LEFT JOIN {ACCOUNTS_TABLE} h
                   ON h.platform = c.platform AND h.account = {AUTHOR_HANDLE_SQL.format(p="c")}
            LEFT JOIN {ACCOUNTS_TABLE} i
                   ON c.platform = 'facebook' AND i.platform = 'facebook' AND i.account = lower(c.author_id)
            LEFT JOIN ({SUBMITTERS_SQL}) sub ON sub.platform = c.platform AND sub.post_key = c.post_key
        ) matched
        WHERE member IS NOT NULL
        GROUP BY day, member
        """
    columns = (
        column("day", Date()),
        column("member", Integer()),
        column("posts", Integer()),
        column("interactions", Integer()),
    )
    if posts is None:
        stmt, params = bind_campaign(campaign_query(counts, conn), campaign, campaign.start, end, *columns)
    else:
        chosen = (
            "SELECT id AS post_id, platform, post_key, author_id, author_handle, local_date, interactions "
            f"FROM {posts} WHERE local_date <= :end"
        )
        sql = f"WITH campaign_posts AS ({chosen})\n{counts}"
        stmt = text(sql).bindparams(bindparam("end", type_=Date())).columns(*columns)
        params = {"end": min(end, campaign.end)}
    return {(r.member, r.day): (int(r.posts), int(r.interactions or 0)) for r in conn.execute(stmt, params)}


# ---------------------------------------------------------------------------------------------------------
# roster check


@dataclass(frozen=True)
class UnseenAccount:
    member: RosterMember
    platform: str
    account: str


@dataclass(frozen=True)
class UnlistedPoster:
    platform: str
    handle: str | None
    author_id: str | None
    name: str | None
    posts: int


@dataclass(frozen=True)
class AccountClash:
    """Two members' accounts that are one author; its posts count for `first` (earlier) only."""

    platform: str
    first: RosterMember
    first_account: str
    second: RosterMember
    second_account: str


@dataclass(frozen=True)
class RosterCheck:
    roster: Roster
    unseen: tuple[UnseenAccount, ...]  # never the author of any stored post: likely typos
    unlisted: tuple[UnlistedPoster, ...]  # frequent campaign posters not on the roster
    min_posts: int
    clashes: tuple[AccountClash, ...] = ()  # one author listed for two members


def seen_accounts(conn: Connection) -> set[tuple[str, str]]:
    """(platform, account) of the roster accounts that authored any stored post (campaign or not).
    `conn` comes from `matching()`."""
    sql = f"SELECT DISTINCT platform, account FROM ({MATCHES_SQL}) AS matches"  # PostgreSQL wants a name
    return {(platform, account) for platform, account in conn.execute(text(sql))}


def account_clashes(conn: Connection, roster: Roster) -> list[AccountClash]:
    """Accounts of two members that stored posts show to be one author (a Facebook page listed by its
    handle for one member and by its id for another). `conn` comes from `matching()`."""
    sql = f"""
    WITH m AS ({MATCHES_SQL})
    SELECT DISTINCT a.platform, a.member AS first, a.account AS first_account,
                    b.member AS second, b.account AS second_account
    FROM m a JOIN m b ON b.post_id = a.post_id AND b.member > a.member
    ORDER BY first, second, first_account, second_account
    """
    return [
        AccountClash(
            r.platform, roster.members[r.first], r.first_account, roster.members[r.second], r.second_account
        )
        for r in conn.execute(text(sql))
    ]


def unlisted_posters(conn: Connection, campaign: CampaignConfig, min_posts: int = 3) -> list[UnlistedPoster]:
    """Authors with at least `min_posts` campaign posts in the window whose account is not on the
    roster, most posts first. `conn` comes from `matching()`."""
    handle = AUTHOR_HANDLE_SQL.format(p="c")
    sql = campaign_query(
        f"""
        SELECT c.platform, max({handle}) AS handle, max(c.author_id) AS author_id,
               max(c.author_name) AS name, count(*) AS posts
        FROM campaign_posts c
        WHERE NOT EXISTS (SELECT 1 FROM {ACCOUNTS_TABLE} r WHERE {AUTHOR_IS_ACCOUNT_SQL.format(p="c")})
        GROUP BY c.platform, coalesce({handle}, c.author_id)
        HAVING count(*) >= :min_posts
        ORDER BY posts DESC, c.platform, handle
        """,
        conn,
    )
    stmt, params = bind_campaign(sql, campaign, campaign.start, campaign.end)
    rows = conn.execute(stmt, {**params, "min_posts": min_posts})
    return [
        UnlistedPoster(r.platform, r.handle, r.author_id, r.name, int(r.posts))
        for r in rows
        if r.handle or r.author_id  # posts without any author cannot be put on a roster
    ]


def check_roster(engine: Engine, roster: Roster, campaign: CampaignConfig, min_posts: int = 3) -> RosterCheck:
    """Roster accounts never seen in any source, and frequent campaign posters not on the roster."""
    with matching(engine, roster) as conn:
        seen = seen_accounts(conn)
        unlisted = unlisted_posters(conn, campaign, min_posts)
        clashes = account_clashes(conn, roster)
    unseen = tuple(
        UnseenAccount(roster.members[m], platform, account)
        for m, platform, account in roster.accounts()
        if (platform, account) not in seen
    )
    return RosterCheck(
        roster=roster, unseen=unseen, unlisted=tuple(unlisted), min_posts=min_posts, clashes=tuple(clashes)
    )


def describe_check(check: RosterCheck) -> str:
    """The `roster check` report as plain text; names from posts and the roster file are `printable`."""
    roster = check.roster
    accounts = sum(m.account_count for m in roster.members)
    lines = [f"roster {roster.path}: {len(roster.members)} members, {accounts} accounts"]
    if roster.problems:
        lines += ["", f"bad rows ({len(roster.problems)}; fix them in the roster file):"]
        lines.extend(f"  {p}" for p in roster.problems)
    no_accounts = [m for m in roster.members if not m.account_count]
    if no_accounts:
        lines += ["", f"members without any account ({len(no_accounts)}; their posts cannot be counted):"]
        lines.extend(f"  line {m.line}: {m.name}" for m in no_accounts)
    if check.clashes:
        lines += ["", f"one author listed for two members ({len(check.clashes)}; posts count for the first):"]
    for c in check.clashes:
        lines.append(
            f"  {c.platform:<10} {_shown(c.platform, c.first_account)} ({c.first.name}, line {c.first.line})"
            f" is {_shown(c.platform, c.second_account)} ({c.second.name}, line {c.second.line})"
        )
    lines += ["", f"roster accounts never seen in any source ({len(check.unseen)}; check for typos):"]
    if not check.unseen:
        lines.append("  (none)")
    for u in check.unseen:
        where = ", ".join(x for x in (u.member.group, u.member.kecamatan) if x)
        lines.append(
            f"  {u.platform:<10} {_shown(u.platform, u.account):<32} {u.member.name}"
            + (f" ({where})" if where else "")
            + f", line {u.member.line}"
        )
    lines += [
        "",
        f"frequent campaign posters not on the roster ({len(check.unlisted)}; "
        f">= {check.min_posts} campaign posts):",
    ]
    if not check.unlisted:
        lines.append("  (none)")
    for p in check.unlisted:
        account = _shown(p.platform, p.handle) if p.handle else str(p.author_id)
        extra = ", ".join(x for x in (p.name, f"id {p.author_id}" if p.author_id and p.handle else None) if x)
        lines.append(
            f"  {p.platform:<10} {account:<32} {p.posts:>5} posts" + (f"  ({extra})" if extra else "")
        )
    return "\n".join(printable(line) for line in lines)


# Bidirectional formatting characters: shown raw they reorder the rest of the line.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """`text` with control characters (terminal escape sequences, line breaks, bidi overrides) shown
    as visible escapes (`\\x1b`, `\\u202e`): a post author's name must not drive the terminal."""
    return "".join(
        (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS
        else ch
        for ch in text
    )


def _shown(platform: str, account: str) -> str:
    return account if platform == "facebook" else "@" + account
