"""What counted: why each row of an import did or did not become a campaign post (DESIGN 5).

A campaign post carries at least one tracked hashtag, falls inside the window and is not a repost.
An import summary says, for people, how many rows became campaign posts and why the others did
not, e.g. `12 campaign posts; not counted: 9 before 19 Sep, 4 without #WeLoveProbolinggo/
#WeLoveCities, 1 retweet`. A file with no campaign post at all gets a warning with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from monitor.config import CampaignConfig
from monitor.records import PostRecord

# Reasons a row is not a campaign post, in the order the summary names them.
REPOST, BEFORE, AFTER, UNTAGGED, PEER = "repost", "before", "after", "untagged", "peer"


@dataclass
class Tally:
    """Rows of one import by what became of them."""

    campaign: int = 0  # campaign posts new or changed by this import
    before: int = 0
    after: int = 0
    untagged: int = 0
    peers: int = 0  # posts of a [[peers]] city (its tag, none of the campaign's own): kept, not counted
    reposts: int = 0
    known: int = 0  # campaign posts already stored with the same metrics
    older: int = 0  # campaign posts already stored from a later observation (kept as history)
    repeated: int = 0  # rows repeating a post of an earlier row of the same file
    rejected: int = 0
    blank: int = 0  # rows with every cell empty (Excel leaves them at the end of a sheet)

    def __iadd__(self, other: Tally) -> Tally:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def rows(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


class CampaignRule:
    """Classifies records against one campaign's window and tracked hashtags."""

    def __init__(self, campaign: CampaignConfig) -> None:
        self.campaign = campaign
        tz = campaign.tz
        # The window as UTC instants [first, after): comparing instants is cheaper per row than
        # converting every post's time to its local day (the same rule, DESIGN 5).
        self.first = dt.datetime.combine(campaign.start, dt.time(), tz).astimezone(dt.UTC)
        day_after = campaign.end + dt.timedelta(days=1)
        self.after = dt.datetime.combine(day_after, dt.time(), tz).astimezone(dt.UTC)
        self.tags = campaign.tracked_hashtags
        self.peer_tags, self.own_tags = campaign.peer_hashtags, campaign.own_hashtags

    def reason(self, rec: PostRecord) -> str | None:
        """Why this record is not a campaign post, or None when it is one."""
        if rec.is_repost:
            return REPOST
        created = rec.created_at
        if created < self.first:
            return BEFORE
        if created >= self.after:
            return AFTER
        if self.tags.isdisjoint(rec.hashtags):
            return UNTAGGED
        if (
            self.peer_tags
            and not self.peer_tags.isdisjoint(rec.hashtags)
            and self.own_tags.isdisjoint(rec.hashtags)
        ):
            return PEER
        return None

    def count(self, tally: Tally, reason: str) -> None:
        if reason == REPOST:
            tally.reposts += 1
        elif reason == BEFORE:
            tally.before += 1
        elif reason == AFTER:
            tally.after += 1
        elif reason == PEER:
            tally.peers += 1
        else:
            tally.untagged += 1

    def describe(self, tally: Tally, repost_word: str = "repost") -> str:
        """One line for the team: `12 campaign posts; not counted: 9 before 19 Sep, ...`."""
        c = self.campaign
        tags = "/".join(f"#{t}" for t in c.hashtags)
        parts = [
            (tally.before, f"before {_day(c.start)}"),
            (tally.after, f"after {_day(c.end)}"),
            (tally.untagged, f"without {tags}"),
            (tally.peers, "of peer cities"),
            (tally.reposts, _plural(tally.reposts, repost_word)),
            (tally.known, "already known and unchanged"),
            (tally.older, "older than the observation already stored (kept as history)"),
            (tally.repeated, "repeating an earlier row"),
            (tally.rejected, "rejected"),
        ]
        line = f"{tally.campaign} campaign {'post' if tally.campaign == 1 else 'posts'}"
        missed = [f"{n} {what}" for n, what in parts if n]
        if missed:
            line += "; not counted: " + ", ".join(missed)
        if tally.blank:
            line += f"; {tally.blank} blank {'row' if tally.blank == 1 else 'rows'} skipped"
        return line

    def warning(self, tally: Tally) -> str | None:
        """Why a file gave no campaign post at all (None when it gave some, or was known already)."""
        if tally.campaign or tally.known or tally.older:
            return None
        counted = tally.rows - tally.blank
        if not counted:
            return "no campaign post: the file has no rows"
        reasons = {
            "before": tally.before,
            "after": tally.after,
            "untagged": tally.untagged,
            "peers": tally.peers,
            "reposts": tally.reposts,
            "rejected": tally.rejected,
        }
        c = self.campaign
        texts = {
            "before": f"before the campaign starts ({_day(c.start)})",
            "after": f"after the campaign ends ({_day(c.end)})",
            "untagged": "without a tracked hashtag (" + ", ".join(f"#{t}" for t in c.hashtags) + ")",
            "peers": "posts of peer cities ([[peers]]: kept for the share of voice)",
            "reposts": "reposts/retweets",
            "rejected": "rejected",
        }
        present = [(n, texts[k]) for k, n in reasons.items() if n]
        if len(present) == 1:
            return f"no campaign post: all {counted} rows are {present[0][1]}"
        return "no campaign post: " + ", ".join(f"{n} {text}" for n, text in present)


def _day(day: object) -> str:
    return f"{day:%-d %b}" if hasattr(day, "strftime") else str(day)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
