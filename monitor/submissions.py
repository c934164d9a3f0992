"""Member link submissions ("setor link"): record them, say what happened to each, list them.

Every channel (a Google Form sheet, a WhatsApp chat export, the Telegram bot) hands over
`SubmittedMessage`s; `record_messages` turns each link in them into one `submissions` row:

- the sender is matched to a roster member (form: the name, or a contact; WhatsApp: the roster's
  `whatsapp` column, else the name; Telegram: the `telegram` column); nobody -> refused,
- the link is resolved to a post (collectors.links); no post -> refused,
- a message tagged only with another city's campaign tag ([submissions] other_campaign_tags) ->
  refused,
- a post another member submitted earlier -> refused as a duplicate; the same member sending the same
  post again adds nothing,
- else `seen` when the post is already in `posts`, `waiting` when no source has it yet.

The same message read again (a re-imported sheet, a later export of the same group, a Telegram update
delivered twice) has the same `origin` and adds nothing. Links are resolved (short links may need an
HTTP call) before the write transaction opens.

The roster credits a member with a post they submitted once the post is seen (monitor.roster), so
`waiting` is what coordinators chase: links whose post no export, capture or API has brought yet.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Exists, Select, delete, exists, func, insert, select, update

from collectors.links import LinkRefused, PostLink, SubmittedMessage, resolve_link
from monitor.config import Config
from monitor.db import readonly
from monitor.errors import ExportFormatError, UsageError
from monitor.models import CollectionRun, Post, PostHashtag, RejectedRow, Submission
from monitor.records import hashtags_in
from monitor.roster import Roster, RosterMember, member_key, telegram_key, whatsapp_key
from monitor.store import finish_run, start_run, utcnow
from monitor.tables import table_lines
from reports.files import neutralize

log = logging.getLogger(__name__)

STATES = ("seen", "waiting", "refused")
VIAS = ("form", "whatsapp", "telegram")
CSV_COLUMNS = [
    "submitted_at",
    "date",
    "via",
    "member",
    "sender",
    "platform",
    "post_key",
    "url",
    "state",
    "reason",
    "link",
]

# Why a link is refused (the reason column starts with one of these).
NOT_ON_ROSTER = "sender not on the roster"
NOT_A_POST = "not a post link"
OTHER_CAMPAIGN = "another city's campaign"
DUPLICATE = "duplicate of another member's submission"


@dataclass(frozen=True)
class Outcome:
    """What happened to one link of a message."""

    link: str
    state: str  # seen | waiting | refused | repeated (the member had sent it already) | known
    reason: str | None = None
    post: PostLink | None = None
    member: str | None = None


@dataclass
class RecordSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def new(self) -> int:
        return sum(1 for o in self.outcomes if o.state in STATES)


class SenderBook:
    """Who a sender is on the roster, per channel."""

    def __init__(self, roster: Roster) -> None:
        self.by_name: dict[str, RosterMember] = {}
        self.by_contact: dict[tuple[str, str], RosterMember] = {}
        for member in roster.members:
            self.by_name.setdefault(member_key(member.name), member)
            for channel, keys in member.contacts.items():
                for key in keys:
                    self.by_contact.setdefault((channel, key), member)

    def member(self, message: SubmittedMessage) -> RosterMember | None:
        if message.via == "telegram":
            for key in message.sender_keys:
                found = self.by_contact.get(("telegram", key))
                if found is not None:
                    return found
            return None
        wa = self.by_contact.get(("whatsapp", whatsapp_key(message.sender)))
        if wa is not None:
            return wa
        by_name = self.by_name.get(member_key(message.sender.lstrip("~")))
        if by_name is not None or message.via != "form":
            return by_name
        return self.by_contact.get(("telegram", telegram_key(message.sender)))


Expand = Callable[[str], str]


def resolve_all(messages: Iterable[SubmittedMessage], expand: Expand | None) -> dict[str, PostLink | str]:
    """link -> its post or the reason it is refused (outside any transaction: may call HTTP)."""
    resolved: dict[str, PostLink | str] = {}
    for message in messages:
        for link in message.links:
            if link not in resolved:
                try:
                    resolved[link] = resolve_link(link, expand)
                except LinkRefused as exc:
                    resolved[link] = f"{NOT_A_POST}: {exc}"
    return resolved


def origin_of(message: SubmittedMessage, link: str) -> str:
    digest = hashlib.sha1(f"{message.origin}\n{link}".encode()).hexdigest()
    return f"{message.via}:{digest}"


def record_messages(
    engine: Engine,
    config: Config,
    roster: Roster,
    messages: Sequence[SubmittedMessage],
    expand: Expand | None = None,
    conn: Connection | None = None,
    resolved: dict[str, PostLink | str] | None = None,
) -> RecordSummary:
    """Record every link of `messages` (in one transaction, or in `conn`'s) and say what became of
    each. Messages are taken in the order given: the earliest submission of a post wins.

    Links are resolved first (`expand` may call HTTP); a caller that passes its own `conn` passes
    `resolved` from `resolve_all` too, made before its transaction began."""
    if resolved is None:
        if conn is not None and expand is not None:
            raise ValueError("resolve the links (resolve_all) before opening the transaction")
        resolved = resolve_all(messages, expand)
    if conn is None:
        with engine.begin() as own:
            return _record(own, config, roster, messages, resolved)
    return _record(conn, config, roster, messages, resolved)


def _record(
    conn: Connection,
    config: Config,
    roster: Roster,
    messages: Sequence[SubmittedMessage],
    resolved: dict[str, PostLink | str],
) -> RecordSummary:
    book = SenderBook(roster)
    tracked = config.campaign.tracked_hashtags
    # Another city's tags: those listed here and the [[peers]] cities' own (docs/scoreboard.md).
    others = set(config.submissions.other_campaign_tags) | set(config.campaign.peer_hashtags)
    now = utcnow()
    summary = RecordSummary()
    for message in messages:
        member = book.member(message)
        tags = hashtags_in(message.text)
        foreign = sorted(tags & others) if others and not tags & tracked else []
        for link in message.links:
            origin = origin_of(message, link)
            known = conn.execute(
                select(Submission.id, Submission.member).where(Submission.origin == origin)
            ).first()
            if known is not None:
                if known.member is not None or member is None:
                    summary.outcomes.append(Outcome(link, "known", member=member.name if member else None))
                    continue
                # The sender was not on the roster then and is now: judge the link again.
                conn.execute(delete(Submission).where(Submission.id == known.id))
            target = resolved[link]
            post = target if isinstance(target, PostLink) else None
            state, reason = "waiting", None
            if member is None:
                state, reason = "refused", f"{NOT_ON_ROSTER} ({message.sender})"
            elif post is None:
                state, reason = "refused", str(target)
            elif foreign:
                state, reason = "refused", f"{OTHER_CAMPAIGN} (#{', #'.join(foreign)})"
            else:
                earlier = conn.execute(
                    select(Submission.member, Submission.member_key, Submission.local_date)
                    .where(
                        Submission.platform == post.platform,
                        Submission.post_key == post.post_key,
                        Submission.state != "refused",
                    )
                    .order_by(Submission.submitted_at, Submission.id)
                    .limit(1)
                ).first()
                if earlier is not None and earlier.member_key == member_key(member.name):
                    summary.outcomes.append(Outcome(link, "repeated", post=post, member=member.name))
                    continue
                if earlier is not None:
                    state = "refused"
                    reason = f"{DUPLICATE} ({earlier.member}, {earlier.local_date.isoformat()})"
                elif _post_exists(conn, post):
                    state = "seen"
            if state == "refused" and _refused_before(conn, link, member, message.sender):
                # The same sender sending the same refused link again (a later export, the other
                # locale's sheet) says nothing new.
                summary.outcomes.append(
                    Outcome(link, "repeated", reason, post, member.name if member else None)
                )
                continue
            conn.execute(
                insert(Submission).values(
                    origin=origin,
                    via=message.via,
                    member=member.name if member else None,
                    member_key=member_key(member.name) if member else None,
                    sender=message.sender,
                    link=link,
                    platform=post.platform if post else None,
                    post_key=post.post_key if post else None,
                    url=post.url if post else None,
                    submitted_at=message.submitted_at,
                    local_date=message.submitted_at.astimezone(config.campaign.tz).date(),
                    state=state,
                    reason=reason,
                    message=message.text,
                    recorded_at=now,
                )
            )
            summary.outcomes.append(Outcome(link, state, reason, post, member.name if member else None))
    return summary


def _refused_before(conn: Connection, link: str, member: RosterMember | None, sender: str) -> bool:
    who = (
        Submission.member_key == member_key(member.name)
        if member is not None
        else Submission.member_key.is_(None) & (Submission.sender == sender)
    )
    query = select(Submission.id).where(Submission.link == link, Submission.state == "refused", who)
    return conn.execute(query.limit(1)).first() is not None


def _post_exists(conn: Connection, post: PostLink) -> bool:
    query = select(Post.id).where(Post.platform == post.platform, Post.post_key == post.post_key)
    return conn.execute(query.limit(1)).first() is not None


def _post_of_submission() -> Exists:
    return exists().where(Post.platform == Submission.platform, Post.post_key == Submission.post_key)


def refresh_states(engine: Engine, config: Config) -> int:
    """Mark `waiting` submissions whose post has arrived as `seen`, and refuse seen posts that carry
    only another city's campaign tags. Returns how many rows changed."""
    changed = 0
    with engine.begin() as conn:
        result = conn.execute(
            update(Submission)
            .where(Submission.state == "waiting", _post_of_submission())
            .values(state="seen")
        )
        changed += result.rowcount or 0
        others = sorted(config.submissions.other_campaign_tags)
        if others:
            tracked = sorted(config.campaign.tracked_hashtags)

            def tagged(tags: list[str]) -> Exists:
                return (
                    exists()
                    .where(Post.platform == Submission.platform, Post.post_key == Submission.post_key)
                    .where(exists().where(PostHashtag.post_id == Post.id, PostHashtag.tag.in_(tags)))
                )

            result = conn.execute(
                update(Submission)
                .where(Submission.state != "refused", tagged(others), ~tagged(tracked))
                .values(state="refused", reason=f"{OTHER_CAMPAIGN} (the post has no campaign tag)")
            )
            changed += result.rowcount or 0
    return changed


# ---------------------------------------------------------------------------------------------------------
# Reading them back


@dataclass(frozen=True)
class SubmissionRow:
    submitted_at: dt.datetime
    local_date: dt.date
    via: str
    member: str | None
    sender: str | None
    platform: str | None
    post_key: str | None
    url: str | None
    state: str
    reason: str | None
    link: str


def _rows_query() -> Select[*tuple[Any, ...]]:
    """Submissions as SubmissionRow reads them (its fields, in order), oldest first: every listing
    selects the same columns, so a new field is added here once."""
    return select(
        Submission.submitted_at,
        Submission.local_date,
        Submission.via,
        Submission.member,
        Submission.sender,
        Submission.platform,
        Submission.post_key,
        Submission.url,
        Submission.state,
        Submission.reason,
        Submission.link,
    ).order_by(Submission.submitted_at, Submission.id)


def list_submissions(
    engine: Engine, state: str | None = None, member: str | None = None
) -> list[SubmissionRow]:
    """Submissions, oldest first, optionally of one state or one member (roster name)."""
    if state is not None and state not in STATES:
        raise UsageError(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    query = _rows_query()
    if state is not None:
        query = query.where(Submission.state == state)
    if member is not None:
        query = query.where(Submission.member_key == member_key(member))
    with readonly(engine).connect() as conn:
        return [SubmissionRow(*row) for row in conn.execute(query)]


def waiting_submissions(engine: Engine, until: dt.date | None = None) -> list[SubmissionRow]:
    """Links members submitted whose post no source has brought yet (submitted up to `until`),
    oldest first: for the digest and the coordinators' chase list. Looks at `posts` itself, so it is
    right even before `refresh_states` ran."""
    query = _rows_query().where(Submission.state != "refused", ~_post_of_submission())
    if until is not None:
        query = query.where(Submission.local_date <= until)
    with readonly(engine).connect() as conn:
        return [replace(SubmissionRow(*row), state="waiting") for row in conn.execute(query)]


def waiting_by_member(conn: Connection, until: dt.date | None = None) -> dict[str, int]:
    """member_key -> how many of their submitted links are still waiting for their post."""
    query = (
        select(Submission.member_key, func.count())
        .where(Submission.state != "refused", Submission.member_key.is_not(None), ~_post_of_submission())
        .group_by(Submission.member_key)
    )
    if until is not None:
        query = query.where(Submission.local_date <= until)
    return {str(key): int(n) for key, n in conn.execute(query)}


def write_csv(rows: Iterable[SubmissionRow], stream: IO[str], tz: dt.tzinfo) -> None:
    """The submissions as CSV (CSV_COLUMNS; times local ISO); formula cells neutralized."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.submitted_at.astimezone(tz).isoformat(timespec="seconds"),
                r.local_date.isoformat(),
                r.via,
                *(
                    neutralize(v or "")
                    for v in (r.member, r.sender, r.platform, r.post_key, r.url, r.state, r.reason, r.link)
                ),
            ]
        )


def format_table(rows: Sequence[SubmissionRow], tz: dt.tzinfo) -> str:
    """Submissions as a plain-text table; every text from members is shown escaped (`printable`)."""
    from monitor.roster import printable

    if not rows:
        return "no submissions"
    header = ("submitted", "via", "member", "platform", "state", "link / reason")
    table = [
        (
            r.submitted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.via,
            r.member or f"({r.sender or '?'})",
            r.platform or "-",
            r.state,
            (r.url or r.link) + (f"  [{r.reason}]" if r.reason else ""),
        )
        for r in rows
    ]
    lines = table_lines(header, table)
    counts = {s: sum(1 for r in rows if r.state == s) for s in STATES}
    lines.append("")
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(printable(line.rstrip()) for line in lines)


# ---------------------------------------------------------------------------------------------------------
# submissions import FILE


@dataclass
class ImportResult:
    path: Path
    kind: str  # form | whatsapp
    messages: int
    summary: RecordSummary
    problems: list[tuple[int, str]]
    run_id: int

    @property
    def had_problems(self) -> bool:
        return bool(self.problems)


def detect_kind(path: Path) -> str:
    """ "form" for a responses sheet (CSV), "whatsapp" for a chat export (.txt or iOS .zip)."""
    from collectors import whatsapp

    head = path.read_bytes()[:4096]
    if head.startswith(b"PK\x03\x04"):
        return "whatsapp"
    text = head.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0].strip().lstrip("\ufeff").casefold()
    if first.startswith(("timestamp", '"timestamp', "stempel waktu", '"stempel waktu')):
        return "form"
    if whatsapp.looks_like_export(text):
        return "whatsapp"
    if path.suffix.lower() == ".csv":
        return "form"
    raise ExportFormatError(
        f"{path}: neither a Google Form responses sheet (first column Timestamp / Stempel waktu) nor a "
        "WhatsApp chat export (lines like `16/09/22 10.15 - Name: ...`)"
    )


def import_file(
    config: Config,
    engine: Engine,
    roster: Roster,
    path: Path,
    date_order: str | None = None,
    expand: Expand | None = None,
) -> ImportResult:
    """Import one form sheet or chat export; recorded as a run (`submissions_form` /
    `submissions_whatsapp`) with its unreadable rows as rejects. Re-importing adds only what is new."""
    from collectors import google_forms, whatsapp

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    kind = detect_kind(path)
    tz = config.campaign.tz
    problems: list[tuple[int, str]] = []
    if kind == "form":
        order = date_order or (
            None if config.submissions.form.date_order == "auto" else config.submissions.form.date_order
        )
        sheet = google_forms.read_sheet(path, config.submissions.form, tz, order)
        messages, problems = sheet.messages, sheet.problems
    else:
        messages = whatsapp.read_export(path, tz, date_order)
    resolved = resolve_all(messages, expand)  # short links may need HTTP: before the transaction
    run_id = start_run(engine, f"submissions_{kind}", str(path))
    try:
        with engine.begin() as conn:
            summary = record_messages(engine, config, roster, messages, conn=conn, resolved=resolved)
            if problems:
                conn.execute(
                    insert(RejectedRow),
                    [
                        {"run_id": run_id, "file": str(path), "line": line, "reason": why, "raw": None}
                        for line, why in problems
                    ],
                )
            conn.execute(
                update(CollectionRun)
                .where(CollectionRun.id == run_id)
                .values(
                    rows_read=len(messages) + len(problems), rows_new=summary.new, rows_rejected=len(problems)
                )
            )
    except BaseException as exc:
        finish_run(engine, run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finish_run(engine, run_id, "partial" if problems else "ok")
    refresh_states(engine, config)
    return ImportResult(path, kind, len(messages), summary, problems, run_id)


def summary_line(result: ImportResult) -> str:
    s = result.summary
    what = "form sheet" if result.kind == "form" else "WhatsApp export"
    line = (
        f"{result.path.name} ({what}): {result.messages} messages with links; {s.new} new links "
        f"({s.count('seen')} seen, {s.count('waiting')} waiting, {s.count('refused')} refused)"
    )
    old = s.count("known") + s.count("repeated")
    if old:
        line += f", {old} already recorded"
    if result.problems:
        line += f", {len(result.problems)} rows rejected"
    return line
