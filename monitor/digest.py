"""The morning digest: yesterday's campaign in one message, in the group chat where the team works.

Sent once per day and channel through the outbox (monitor.outbox: claim before send, lease, retry
the same day, never late), on the channels of [digest] (default: the reminder's). A digest sent on
local day D reports on D - 1 ("yesterday"); it exists for every D whose yesterday is a campaign day.

What it says (every number counts campaign posts, DESIGN 5):
- posts, interactions and active accounts of yesterday against the day before, and of the last 7
  days (yesterday and the 6 before) against the 7 before those;
- the top post of yesterday (most interactions) with its link;
- with a roster: the members who posted yesterday, the members quiet for QUIET_DAYS days or more,
  and the kecamatan that lags (the smallest share of members active in the last 7 days);
- what arrived from each source yesterday and what failed or was rejected;
- where the latest report is ([digest] report_url, else the path of <out_dir>/latest/index.html).

The text is a list of sections (monitor.messages); each comes from one function in SECTIONS, so a
new section is one function more (and, when it needs facts of its own, one function in
EXTRA_FACTS). Telegram gets the HTML form within its 4096 characters.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select

from collectors.http import redact
from monitor.campaign import CampaignCalendar
from monitor.channels import TELEGRAM_LIMIT, Outgoing, new_session
from monitor.config import Config, secret_values
from monitor.db import readonly
from monitor.errors import UsageError
from monitor.messages import Bold, Line, Link, Section, line, one_line, plain, telegram_html
from monitor.models import CollectionRun, DigestDelivery, Post
from monitor.outbox import DRY_RUN, OUTSIDE_WINDOW, SENT, Delivery, Outbox
from monitor.reminders import human_date
from reports.queries import ReportScope, author_label, campaign_filter

log = logging.getLogger("campaign_monitor.digest")

digests_t = cast(Table, DigestDelivery.__table__)
OUTBOX = Outbox(digests_t, "digest")

QUIET_DAYS = 3
NAMES_SHOWN = 10  # names in a list before "and N more"
TEXT_SHOWN = 120  # characters of the top post's text


# ---------------------------------------------------------------------------------------------------------
# The facts


@dataclass(frozen=True)
class Totals:
    posts: int
    interactions: int
    accounts: int


@dataclass(frozen=True)
class TopPost:
    platform: str
    author: str
    interactions: int
    url: str
    text: str


@dataclass(frozen=True)
class Quiet:
    name: str
    days: int | None  # days since the last campaign post; None: never posted


@dataclass(frozen=True)
class Lagging:
    kecamatan: str
    active: int
    members: int


@dataclass(frozen=True)
class RosterFacts:
    posted: tuple[str, ...]
    quiet: tuple[Quiet, ...]
    lagging: Lagging | None


@dataclass(frozen=True)
class SourceFacts:
    source: str
    runs: int
    new: int
    updated: int
    rejected: int
    failed: int
    last_error: str | None


@dataclass(frozen=True)
class DigestFacts:
    """Everything the digest says, for a Python user or a test to check without parsing text."""

    day: dt.date  # yesterday: the day it reports on
    yesterday: Totals
    day_before: Totals
    last7: Totals
    previous7: Totals
    top_post: TopPost | None
    roster: RosterFacts | None
    sources: tuple[SourceFacts, ...]
    report: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # room for later sections' facts


def totals(engine: Engine, config: Config, start: dt.date, end: dt.date) -> Totals:
    """Campaign posts, interactions and distinct accounts (platform + author) of [start, end]."""
    scope = ReportScope(config.campaign, start, end)
    author = func.coalesce(Post.author_id, func.lower(Post.author_handle))
    inter = func.coalesce(Post.likes, 0) + func.coalesce(Post.comments, 0) + func.coalesce(Post.shares, 0)
    query = select(
        func.count(), func.sum(inter), func.count(func.distinct(Post.platform + ":" + author))
    ).where(campaign_filter(scope))
    with readonly(engine).connect() as conn:
        posts, interactions, accounts = conn.execute(query).one()
    return Totals(int(posts or 0), int(interactions or 0), int(accounts or 0))


def top_post(engine: Engine, config: Config, day: dt.date) -> TopPost | None:
    scope = ReportScope(config.campaign, day, day)
    inter = func.coalesce(Post.likes, 0) + func.coalesce(Post.comments, 0) + func.coalesce(Post.shares, 0)
    query = (
        select(Post.platform, Post.author_handle, Post.author_name, Post.author_id, inter)
        .add_columns(Post.url, Post.text)
        .where(campaign_filter(scope))
        .order_by(inter.desc(), Post.created_at, Post.id)
        .limit(1)
    )
    with readonly(engine).connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return TopPost(row[0], author_label(row[1], row[2], row[3]), int(row[4]), row[5] or "", row[6] or "")


def roster_facts(engine: Engine, config: Config, day: dt.date) -> RosterFacts | None:
    """Who posted on `day`, who has been quiet QUIET_DAYS days or more, which kecamatan lags over the
    7 days up to `day`. None without a roster file (the roster is optional)."""
    path = config.roster.path
    if not path.is_file():
        return None
    from monitor.roster import load_roster, matching, posts_by_member
    from reports.roster import kecamatan_leaderboard, member_stats

    roster = load_roster(path)
    campaign = config.campaign
    with matching(engine, roster) as conn:
        counts = posts_by_member(conn, campaign, day)
    posted = sorted({roster.members[m].name for (m, when) in counts if when == day}, key=str.casefold)
    last: dict[int, dt.date] = {}
    for m, when in counts:
        if when <= day and when > last.get(m, dt.date.min):
            last[m] = when
    quiet: list[Quiet] = []
    if (day - campaign.start).days + 1 >= QUIET_DAYS:  # nobody is "quiet for 3 days" on day 2
        for m, member in enumerate(roster.members):
            latest = last.get(m)
            days = None if latest is None else (day - latest).days
            if days is None or days >= QUIET_DAYS:
                quiet.append(Quiet(member.name, days))
    quiet.sort(key=lambda q: (-(q.days if q.days is not None else 10**6), q.name.casefold()))
    board = kecamatan_leaderboard(member_stats(roster, counts, day - dt.timedelta(days=6), day))
    lagging = None
    if len(board) >= 2:
        worst = board.iloc[-1]
        lagging = Lagging(str(worst["kecamatan"]), int(worst["members_active"]), int(worst["members"]))
    return RosterFacts(tuple(posted), tuple(quiet), lagging)


def source_facts(
    engine: Engine, config: Config, calendar: CampaignCalendar, day: dt.date
) -> list[SourceFacts]:
    """Per source (file format or API), the runs started on local `day`: what arrived, was rejected,
    failed. Scheduler jobs (`job:*`) are left out; an error is redacted again to be sure."""
    runs = CollectionRun
    query = (
        select(runs.source, runs.status, runs.rows_new, runs.rows_updated, runs.rows_rejected, runs.error)
        .where(
            runs.started_at >= calendar.local_midnight(day),
            runs.started_at < calendar.local_midnight(day + dt.timedelta(days=1)),
            runs.source.not_like("job:%"),
        )
        .order_by(runs.source, runs.id)
    )
    with readonly(engine).connect() as conn:
        rows = conn.execute(query).all()
    by_source: dict[str, dict[str, Any]] = {}
    for source, status, new, updated, rejected, error in rows:
        entry = by_source.setdefault(
            source, {"runs": 0, "new": 0, "updated": 0, "rejected": 0, "failed": 0, "last_error": None}
        )
        entry["runs"] += 1
        entry["new"] += new or 0
        entry["updated"] += updated or 0
        entry["rejected"] += rejected or 0
        if status in ("failed", "rate_limited", "interrupted"):
            entry["failed"] += 1
            if error:
                entry["last_error"] = redact(error, secret_values(config))
    return [SourceFacts(source, **values) for source, values in by_source.items()]


def report_location(config: Config) -> str | None:
    if config.digest.report_url:
        return config.digest.report_url
    latest = config.reports.out_dir / "latest" / "index.html"
    return str(latest) if latest.is_file() else None


FactFn = Callable[[Config, Engine, CampaignCalendar, dt.date], Any]


# Facts that later sections need (e.g. "votes": yesterday's vote readings), each computed by its own
# function for the day reported on; gather() puts each into DigestFacts.extra under its name.
def scoreboard_facts(config: Config, engine: Engine, calendar: CampaignCalendar, day: dt.date) -> list[str]:
    """The day's votes from the ledger and, once enough days exist, the reminder verdict
    (reports.scoreboard.digest_lines takes the day the digest is for, the day after `day`)."""
    from reports.scoreboard import digest_lines

    return digest_lines(config, engine, calendar, day + dt.timedelta(days=1))


EXTRA_FACTS: dict[str, FactFn] = {"scoreboard": scoreboard_facts}


def gather(config: Config, engine: Engine, calendar: CampaignCalendar, day: dt.date) -> DigestFacts:
    """The facts of the digest that reports on local `day` (yesterday of the day it is sent)."""
    week = dt.timedelta(days=6)
    one = dt.timedelta(days=1)
    return DigestFacts(
        day=day,
        yesterday=totals(engine, config, day, day),
        day_before=totals(engine, config, day - one, day - one),
        last7=totals(engine, config, day - week, day),
        previous7=totals(engine, config, day - week - 7 * one, day - week - one),
        top_post=top_post(engine, config, day),
        roster=roster_facts(engine, config, day),
        sources=tuple(source_facts(engine, config, calendar, day)),
        report=report_location(config),
        extra={name: fact(config, engine, calendar, day) for name, fact in EXTRA_FACTS.items()},
    )


# ---------------------------------------------------------------------------------------------------------
# Compose

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Ringkasan harian {campaign}",
        "day": "{date} (hari ke-{day} dari {total})",
        "yesterday": "Kemarin",
        "week": "7 hari terakhir ({first} s.d. {last}) dibanding 7 hari sebelumnya",
        "posts": "Postingan kampanye",
        "interactions": "Interaksi",
        "accounts": "Akun aktif",
        "vs_day": "hari sebelumnya",
        "vs_week": "7 hari sebelumnya",
        "same": "sama",
        "top": "Postingan teratas",
        "top_line": "{platform} · {author} · {interactions} interaksi",
        "no_posts": "Belum ada postingan kampanye kemarin.",
        "members": "Anggota",
        "posted": "Posting kemarin ({count})",
        "nobody": "Posting kemarin: belum ada",
        "quiet": "Diam {days} hari atau lebih ({count})",
        "days_quiet": "{days} hari",
        "never": "belum pernah",
        "more": "dan {count} lainnya",
        "lagging": "Kecamatan tertinggal: {kecamatan} ({active} dari {members} anggota aktif dalam 7 hari)",
        "sources": "Data masuk kemarin",
        "no_runs": "Tidak ada data yang masuk kemarin.",
        "source_line": "{source}: {runs}, {new} baru, {updated} diperbarui",
        "runs": "{count} kali",
        "run": "{count} kali",
        "rejected": ", {count} baris ditolak",
        "rejected_one": ", {count} baris ditolak",
        "failed": ", {count} gagal",
        "report": "Laporan",
    },
    "en": {
        "title": "Daily digest {campaign}",
        "day": "{date} (campaign day {day} of {total})",
        "yesterday": "Yesterday",
        "week": "Last 7 days ({first} to {last}) against the 7 before",
        "posts": "Campaign posts",
        "interactions": "Interactions",
        "accounts": "Active accounts",
        "vs_day": "day before",
        "vs_week": "previous 7 days",
        "same": "same",
        "top": "Top post",
        "top_line": "{platform} · {author} · {interactions} interactions",
        "no_posts": "No campaign posts yesterday.",
        "members": "Members",
        "posted": "Posted yesterday ({count})",
        "nobody": "Posted yesterday: nobody yet",
        "quiet": "Quiet for {days} days or more ({count})",
        "days_quiet": "{days} days",
        "never": "never posted",
        "more": "and {count} more",
        "lagging": "Kecamatan lagging behind: {kecamatan} ({active} of {members} members active in 7 days)",
        "sources": "What arrived yesterday",
        "no_runs": "Nothing arrived yesterday.",
        "source_line": "{source}: {runs}, {new} new, {updated} updated",
        "runs": "{count} runs",
        "run": "{count} run",
        "rejected": ", {count} rows rejected",
        "rejected_one": ", {count} row rejected",
        "failed": ", {count} failed",
        "report": "Report",
    },
}


@dataclass(frozen=True)
class Composing:
    """What a section function gets: the facts, the words of the campaign language, the limits."""

    config: Config
    calendar: CampaignCalendar
    facts: DigestFacts
    words: dict[str, str]
    language: str
    names_shown: int = NAMES_SHOWN
    text_shown: int = TEXT_SHOWN

    def number(self, value: int) -> str:
        text = f"{value:,}"
        return text.replace(",", ".") if self.language == "id" else text

    def change(self, now: int, before: int, against: str) -> str:
        """`12 (day before 9, +3, +33%)`: the percentage only where the base is not 0."""
        diff = now - before
        if diff == 0:
            return f"{self.number(now)} ({against} {self.number(before)}, {self.words['same']})"
        sign = "+" if diff > 0 else "-"
        parts = [f"{self.number(before)}", f"{sign}{self.number(abs(diff))}"]
        if before:
            parts.append(f"{sign}{round(abs(diff) * 100 / before)}%")
        return f"{self.number(now)} ({against} {', '.join(parts)})"

    def names(self, names: list[str]) -> str:
        shown = names[: self.names_shown]
        text = ", ".join(shown)
        if len(names) > len(shown):
            more = self.words["more"].format(count=len(names) - len(shown))
            text = f"{text}, {more}" if shown else more
        return text


SectionFn = Callable[[Composing], Section | None]


def header(c: Composing) -> Section:
    day = c.facts.day
    title = c.words["title"].format(campaign=c.config.campaign.name)
    when = c.words["day"].format(
        date=human_date(day, c.language), day=c.calendar.day_number(day), total=c.calendar.total_days
    )
    return Section(title, (line(when),))


def numbers(c: Composing) -> Section:
    f, w = c.facts, c.words

    def three(now: Totals, before: Totals, against: str, bold_posts: bool) -> list[Line]:
        posts = c.change(now.posts, before.posts, against)
        return [
            line(f"{w['posts']}: ", Bold(posts) if bold_posts else posts),
            line(f"{w['interactions']}: ", c.change(now.interactions, before.interactions, against)),
            line(f"{w['accounts']}: ", c.change(now.accounts, before.accounts, against)),
        ]

    first = f.day - dt.timedelta(days=6)
    week_title = w["week"].format(first=_short(first, c.language), last=_short(f.day, c.language))
    return Section(
        w["yesterday"],
        (
            *three(f.yesterday, f.day_before, w["vs_day"], True),
            line(""),
            line(Bold(week_title)),
            *three(f.last7, f.previous7, w["vs_week"], False),
        ),
    )


def top(c: Composing) -> Section:
    post, w = c.facts.top_post, c.words
    if post is None:
        return Section(w["top"], (line(w["no_posts"]),))
    lines = [
        line(
            w["top_line"].format(
                platform=post.platform, author=post.author, interactions=c.number(post.interactions)
            )
        )
    ]
    if post.text and c.text_shown:
        lines.append(line(f"“{one_line(post.text, c.text_shown)}”"))
    if post.url:
        lines.append(line(Link("", post.url)))
    return Section(w["top"], tuple(lines))


def members(c: Composing) -> Section | None:
    roster, w = c.facts.roster, c.words
    if roster is None:
        return None
    lines = []
    if roster.posted:
        lines.append(line(f"{w['posted'].format(count=len(roster.posted))}: {c.names(list(roster.posted))}"))
    else:
        lines.append(line(w["nobody"]))
    if roster.quiet:
        labels = [
            f"{q.name} ({w['never'] if q.days is None else w['days_quiet'].format(days=q.days)})"
            for q in roster.quiet
        ]
        title = w["quiet"].format(days=QUIET_DAYS, count=len(roster.quiet))
        lines.append(line(f"{title}: {c.names(labels)}"))
    if roster.lagging is not None:
        lag = roster.lagging
        text = w["lagging"].format(kecamatan=lag.kecamatan, active=lag.active, members=lag.members)
        lines.append(line(text))
    return Section(w["members"], tuple(lines))


def sources(c: Composing) -> Section:
    w = c.words
    if not c.facts.sources:
        return Section(w["sources"], (line(w["no_runs"]),))
    lines = []
    for s in c.facts.sources:
        runs = w["run" if s.runs == 1 else "runs"].format(count=s.runs)
        text = w["source_line"].format(
            source=s.source, runs=runs, new=c.number(s.new), updated=c.number(s.updated)
        )
        if s.rejected:
            text += w["rejected_one" if s.rejected == 1 else "rejected"].format(count=c.number(s.rejected))
        if s.failed:
            text += w["failed"].format(count=s.failed)
            if s.last_error:
                text += f" ({one_line(s.last_error, 160)})"
        lines.append(line(text))
    return Section(w["sources"], tuple(lines))


def report(c: Composing) -> Section | None:
    where = c.facts.report
    if not where:
        return None
    is_url = where.startswith(("http://", "https://"))
    return Section("", (line(f"{c.words['report']}: ", Link("", where) if is_url else where),))


def scoreboard(c: Composing) -> Section | None:
    """Yesterday's votes and the reminder verdict (docs/scoreboard.md), when there is something to say."""
    texts: list[str] = c.facts.extra.get("scoreboard") or []
    return Section("", tuple(line(text) for text in texts)) if texts else None


# The digest, top to bottom. A new section (e.g. yesterday's votes) is one function added here.
SECTIONS: list[SectionFn] = [header, numbers, scoreboard, top, members, sources, report]


@dataclass(frozen=True)
class DigestMessage:
    text: str  # plain: log and webhook
    html: str  # Telegram, within TELEGRAM_LIMIT


def compose(config: Config, calendar: CampaignCalendar, facts: DigestFacts) -> DigestMessage:
    """The digest text; lists and the post text shrink until the Telegram form fits its limit."""
    language = config.campaign.language if config.campaign.language in WORDS else "en"
    for names_shown, text_shown in ((NAMES_SHOWN, TEXT_SHOWN), (5, 80), (3, 0), (0, 0)):
        c = Composing(config, calendar, facts, WORDS[language], language, names_shown, text_shown)
        sections = [s for fn in SECTIONS if (s := fn(c)) is not None]
        message = DigestMessage(plain(sections), telegram_html(sections))
        if len(message.html) <= TELEGRAM_LIMIT:
            return message
    cut = message.html[: TELEGRAM_LIMIT - 1]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else ""  # never cut inside a tag
    return DigestMessage(message.text, cut + "\n…")


def _short(day: dt.date, language: str) -> str:
    months = (
        ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
        if language == "id"
        else ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
    return f"{day.day} {months[day.month - 1]}"


# ---------------------------------------------------------------------------------------------------------
# Send


@dataclass(frozen=True)
class DigestResult:
    sent_on: dt.date  # the day it is (or would be) sent
    about: dt.date  # the day it reports on
    deliveries: list[Delivery]
    text: str  # empty outside the window


def send_digest(
    config: Config,
    engine: Engine,
    calendar: CampaignCalendar,
    day: dt.date | None = None,
    dry_run: bool = False,
) -> DigestResult:
    """Send the digest of local day `day` (default: today; it reports on the day before) on every
    [digest] channel, once. The reminder's rules: a channel already sent says already_sent, one
    being sent says in_progress, a past day is marked missed (never sent late), a future day is
    refused unless dry_run; dry_run composes and records nothing."""
    today = calendar.today()
    day = day or today
    about = day - dt.timedelta(days=1)
    channels = config.digest.channels
    if not calendar.contains(about):
        return DigestResult(day, about, [Delivery(ch, OUTSIDE_WINDOW, "") for ch in channels], "")
    if day > today and not dry_run:
        raise UsageError(
            f"{day} is after today ({today}, {calendar.tz.key}): a digest is not sent early; "
            "use --dry-run to preview it"
        )
    message = compose(config, calendar, gather(config, engine, calendar, about))
    if dry_run:
        previews = [Delivery(ch, DRY_RUN, message.text) for ch in channels]
        return DigestResult(day, about, previews, message.text)
    if day < today:
        deliveries = []
        with engine.begin() as conn:
            for channel in channels:
                identity = {"local_date": day, "channel": channel}
                status, _ = OUTBOX.mark_missed(conn, identity, message.text, calendar.now())
                deliveries.append(Delivery(channel, status, message.text))
        return DigestResult(day, about, deliveries, message.text)
    outgoing = Outgoing(day, calendar.day_number(day), message.text, kind="digest", html=message.html)
    deliveries = []
    with new_session() as session:
        for channel in channels:
            identity = {"local_date": day, "channel": channel}
            deliveries.append(OUTBOX.send(engine, identity, outgoing, config.digest, session, calendar.now))
    return DigestResult(day, about, deliveries, message.text)


def digest_sent_for(engine: Engine, day: dt.date, channels: tuple[str, ...]) -> bool:
    """Was the digest of `day` sent on every one of `channels`? (Catch-up asks the database.)"""
    with readonly(engine).connect() as conn:
        rows = conn.execute(
            select(digests_t.c.channel, digests_t.c.status).where(digests_t.c.local_date == day)
        ).all()
    status = {row.channel: row.status for row in rows}
    return bool(channels) and all(status.get(ch) == SENT for ch in channels)


def digest_due(config: Config, engine: Engine, calendar: CampaignCalendar) -> bool:
    """Today's digest reports on a campaign day, its time has passed, and a channel has not sent it."""
    today = calendar.today()
    return (
        calendar.contains(today - dt.timedelta(days=1))
        and calendar.now() >= calendar.at_local(today, config.digest.at)
        and not digest_sent_for(engine, today, config.digest.channels)
    )


def close_past_digests(engine: Engine, calendar: CampaignCalendar) -> int:
    """Failed or abandoned digests of past days become missed (a digest is never sent late)."""
    return OUTBOX.close_open_rows(engine, calendar.today(), calendar.now())


@dataclass(frozen=True)
class DigestEntry:
    local_date: dt.date
    channel: str
    status: str
    attempts: int
    sent_at: dt.datetime | None
    error: str | None


def digest_log(engine: Engine) -> list[DigestEntry]:
    with readonly(engine).connect() as conn:
        rows = conn.execute(select(digests_t).order_by(digests_t.c.local_date, digests_t.c.channel)).all()
    return [DigestEntry(r.local_date, r.channel, r.status, r.attempts, r.sent_at, r.error) for r in rows]
