"""`report --platform NAME` and `report --group NAME`: the posts a narrowed report counts.

A filter narrows every number, chart and file of a report to the campaign posts of some platforms
and/or of the roster members of one group (a KIM/LPM group or a kecamatan, compared like the
kecamatan leaderboard does: case and spaces do not matter). A member's posts are found the way the
roster section finds them (monitor.roster): the same platform, and the handle or, on Facebook, the
page id, plus the posts whose link the member submitted ("setor link"). The filter is applied in
SQL (`where_clause`), so a narrowed report costs what a whole one costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, true

from monitor.config import Config
from monitor.errors import UsageError
from monitor.models import Post, Submission
from monitor.records import PLATFORMS
from monitor.roster import Roster, RosterMember, load_roster, member_key
from reports.palette import platform_name

# What people type for a platform, beyond its code.
PLATFORM_ALIASES = {"x": "twitter", "fb": "facebook", "ig": "instagram", "x/twitter": "twitter"}


@dataclass(frozen=True)
class ReportFilter:
    """Which campaign posts a report counts. Empty = all of them.

    platforms: platform codes (sorted). group: the group or kecamatan as the roster spells it ('' = no
    group filter); members: the roster lines of its members; accounts: (platform, account) of their
    accounts, already narrowed to `platforms`."""

    platforms: tuple[str, ...] = ()
    group: str = ""
    members: frozenset[int] = field(default_factory=frozenset)
    accounts: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    member_keys: frozenset[str] = field(default_factory=frozenset)  # monitor.roster.member_key of each

    @property
    def active(self) -> bool:
        return bool(self.platforms or self.group)

    def describe(self, labels: dict[str, str]) -> str:
        """'Platform: X, Instagram · Kelompok: KIM Mayangan' in the report's language ('' = none)."""
        parts = []
        if self.platforms:
            parts.append(f"{labels['platform']}: " + ", ".join(platform_name(p) for p in self.platforms))
        if self.group:
            parts.append(f"{labels['filter_group']}: {self.group}")
        return " · ".join(parts)

    def slug(self) -> str:
        """A short text for file metadata: 'twitter+instagram, KIM Mayangan'."""
        return ", ".join(x for x in ("+".join(self.platforms), self.group) if x)

    def where_clause(self) -> ColumnElement[bool]:
        """The SQL condition on `posts` for this filter (true() when it is empty)."""
        clauses: list[ColumnElement[bool]] = []
        if self.platforms:
            clauses.append(Post.platform.in_(self.platforms))
        if self.group:
            clauses.append(or_(accounts_clause(self.accounts), submitted_clause(self.member_keys)))
        return and_(true(), *clauses)

    def narrow_roster(self, roster: Roster) -> Roster:
        """The roster as this filter sees it: only the group's members, only their accounts on the
        filtered platforms (a post on another platform is not in the report, so it is nobody's)."""
        members: Iterable[tuple[int, RosterMember]] = enumerate(roster.members)
        if self.group:
            members = [(i, m) for i, m in members if m.line in self.members]
        if self.platforms:
            members = [
                (i, replace(m, accounts={p: a for p, a in m.accounts.items() if p in self.platforms}))
                for i, m in members
            ]
        return replace(roster, members=tuple(m for _, m in members))


def group_key(name: str) -> str:
    """`KIM Mayangan`, ` kim  mayangan` and `KIM MAYANGAN` are one group."""
    return " ".join(name.split()).casefold()


def accounts_clause(accounts: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """Posts whose author is one of (platform, account): the handle (lower case, no '@') or, on
    Facebook, the page id, as monitor.roster matches them."""
    by_platform: dict[str, list[str]] = {}
    for platform, account in accounts:
        by_platform.setdefault(platform, []).append(account)
    if not by_platform:
        return false()
    handle = func.lower(func.ltrim(Post.author_handle, "@"))
    clauses = []
    for platform, names in sorted(by_platform.items()):
        author: ColumnElement[bool] = handle.in_(sorted(names))
        if platform == "facebook":
            author = or_(author, func.lower(Post.author_id).in_(sorted(names)))
        clauses.append(and_(Post.platform == platform, author))
    return or_(*clauses)


def submitted_clause(member_keys: Iterable[str]) -> ColumnElement[bool]:
    """Posts whose link one of these members submitted ("setor link", not refused): the roster
    section credits such a post to its submitter when no member's account wrote it."""
    keys = sorted(member_keys)
    if not keys:
        return false()
    return exists().where(
        Submission.platform == Post.platform,
        Submission.post_key == Post.post_key,
        Submission.state != "refused",
        Submission.member_key.in_(keys),
    )


def parse_platforms(names: Sequence[str]) -> tuple[str, ...]:
    """Platform codes from what was typed (`X`, `twitter`, `Instagram`); UsageError for others."""
    found = []
    for name in names:
        code = PLATFORM_ALIASES.get(name.strip().casefold(), name.strip().casefold())
        if code not in PLATFORMS:
            known = ", ".join(PLATFORMS)
            raise UsageError(f"--platform {name!r} is not a platform; use one of: {known}")
        found.append(code)
    return tuple(sorted(set(found)))


def resolve_filter(config: Config, platforms: Sequence[str] = (), group: str | None = None) -> ReportFilter:
    """The filter for `--platform` (repeatable) and `--group`. A group needs the roster file; a name
    that is neither a group nor a kecamatan there is a UsageError that lists the known ones."""
    codes = parse_platforms(platforms)
    if not group:
        return ReportFilter(platforms=codes)
    roster = load_roster(config.roster.path)  # RosterMissing / RosterFileError say how to fix it
    key = group_key(group)
    chosen = [m for m in roster.members if key in (group_key(m.group), group_key(m.kecamatan))]
    if not chosen:
        names = sorted({m.group for m in roster.members if m.group} | {m.kecamatan for m in roster.members})
        shown = ", ".join(n for n in names if n) or "(none)"
        raise UsageError(
            f"--group {group!r} is neither a group nor a kecamatan in the roster; known: {shown}"
        )
    spelling = next(
        (m.group for m in chosen if group_key(m.group) == key),
        next((m.kecamatan for m in chosen), group),
    )
    accounts = frozenset(
        (platform, account)
        for m in chosen
        for platform, names in m.accounts.items()
        if not codes or platform in codes
        for account in names
    )
    keys = frozenset(member_key(m.name) for m in chosen)
    return ReportFilter(codes, spelling, frozenset(m.line for m in chosen), accounts, keys)
