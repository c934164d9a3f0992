"""Writes: bulk upsert of posts with their hashtags and metric snapshots, and the run log.

One batch is one transaction: its posts, hashtags, snapshots, rejected rows and the run's counters
commit together or not at all, so a kill loses nothing committed and leaves no half batch; the
upsert on (platform, post_key) makes re-running an import add no duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.models import CollectionRun, MetricSnapshot, PostHashtag, RejectedRow, SourceCheckpoint
from monitor.models import Post as PostModel
from monitor.records import PostRecord

BATCH_SIZE = 2000
METRICS = ("likes", "comments", "shares", "views")

# Core tables for bulk statements (no per-row ORM objects on the hot path).
posts_t = cast(Table, PostModel.__table__)
tags_t = cast(Table, PostHashtag.__table__)
snapshots_t = cast(Table, MetricSnapshot.__table__)
runs_t = cast(Table, CollectionRun.__table__)
rejects_t = cast(Table, RejectedRow.__table__)


@dataclass
class Rejection:
    """A row that could not be imported: where it was and why."""

    file: str
    line: int | None
    reason: str
    raw: str | None = None


@dataclass
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __iadd__(self, other: BatchCounts) -> BatchCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        return self

    @property
    def read(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def upsert_into(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT for the connection's database (SQLite or PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# ---------------------------------------------------------------------------------------------------------
# Run log


def start_run(engine: Engine, source: str, target: str | None, now: dt.datetime | None = None) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            runs_t.insert().values(source=source, target=target, started_at=now or utcnow(), status="running")
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    error: str | None = None,
    pages: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": now or utcnow(), "error": error}
    if pages is not None:
        values["pages"] = pages
    with engine.begin() as conn:
        conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))


def run_counts(engine: Engine, run_id: int) -> BatchCounts:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                runs_t.c.rows_new, runs_t.c.rows_updated, runs_t.c.rows_unchanged, runs_t.c.rows_rejected
            ).where(runs_t.c.id == run_id)
        ).one()
    return BatchCounts(*row)


# ---------------------------------------------------------------------------------------------------------
# Posts


def write_batch(
    engine: Engine,
    run_id: int,
    records: Sequence[PostRecord],
    tz: ZoneInfo,
    rejections: Sequence[Rejection] = (),
    now: dt.datetime | None = None,
    checkpoint: tuple[str, dict[str, Any]] | None = None,
) -> BatchCounts:
    """Store one batch in one transaction; optionally save a collector checkpoint with it."""
    now = now or utcnow()
    with engine.begin() as conn:
        counts = upsert_posts(conn, records, tz, run_id, now)
        if rejections:
            conn.execute(
                rejects_t.insert(),
                [
                    {"run_id": run_id, "file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}
                    for r in rejections
                ],
            )
            counts.rejected = len(rejections)
        conn.execute(
            update(runs_t)
            .where(runs_t.c.id == run_id)
            .values(
                rows_read=runs_t.c.rows_read + len(records) + len(rejections),
                rows_new=runs_t.c.rows_new + counts.new,
                rows_updated=runs_t.c.rows_updated + counts.updated,
                rows_unchanged=runs_t.c.rows_unchanged + counts.unchanged,
                rows_rejected=runs_t.c.rows_rejected + counts.rejected,
            )
        )
        if checkpoint is not None:
            save_checkpoint(conn, checkpoint[0], checkpoint[1], now)
    return counts


def upsert_posts(
    conn: Connection, records: Sequence[PostRecord], tz: ZoneInfo, run_id: int | None, now: dt.datetime
) -> BatchCounts:
    """Insert or update posts by (platform, post_key): the latest observation wins, an unknown (None)
    metric keeps the known one, and every change of metrics is kept as a snapshot."""
    counts = BatchCounts()
    if not records:
        return counts
    # The same post twice in one batch: the later row is the later observation.
    latest: dict[tuple[str, str], PostRecord] = {}
    for rec in records:
        latest[(rec.platform, rec.post_key)] = rec
    counts.unchanged += len(records) - len(latest)

    before = _existing_metrics(conn, latest.keys())
    rows = []
    for (platform, key), rec in latest.items():
        created = rec.created_at.astimezone(dt.UTC)
        rows.append(
            {
                "platform": platform,
                "post_key": key,
                "author_id": rec.author_id,
                "author_handle": rec.author_handle,
                "author_name": rec.author_name,
                "created_at": created,
                "local_date": created.astimezone(tz).date(),
                "text": rec.text,
                "url": rec.url,
                "likes": rec.likes,
                "comments": rec.comments,
                "shares": rec.shares,
                "views": rec.views,
                "is_repost": rec.is_repost,
                "source": rec.source,
                "first_seen_at": now,
                "last_seen_at": now,
                "last_run_id": run_id,
            }
        )
    stmt = upsert_into(conn, posts_t)
    keep_known = {
        name: func.coalesce(stmt.excluded[name], posts_t.c[name])
        for name in ("author_id", "author_handle", "author_name", "text", "url", *METRICS)
    }
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "post_key"],
        set_={
            **keep_known,
            "created_at": stmt.excluded.created_at,
            "local_date": stmt.excluded.local_date,
            "is_repost": stmt.excluded.is_repost,
            "source": stmt.excluded.source,
            "last_seen_at": stmt.excluded.last_seen_at,
            "last_run_id": stmt.excluded.last_run_id,
        },
    ).returning(posts_t.c.id, posts_t.c.platform, posts_t.c.post_key, *(posts_t.c[m] for m in METRICS))
    stored = {(r.platform, r.post_key): r for r in conn.execute(stmt, rows)}

    tag_rows: list[dict[str, Any]] = []
    snapshot_rows: list[dict[str, Any]] = []
    for pk, rec in latest.items():
        row = stored[pk]
        tag_rows.extend({"post_id": row.id, "tag": tag} for tag in rec.hashtags)
        metrics = tuple(getattr(row, m) for m in METRICS)
        old = before.get(pk)
        if old is None:
            counts.new += 1
        elif old != metrics:
            counts.updated += 1
        else:
            counts.unchanged += 1
            continue
        if any(v is not None for v in metrics):
            snapshot_rows.append(
                {"post_id": row.id, "observed_at": rec.observed_at or now, "run_id": run_id}
                | dict(zip(METRICS, metrics, strict=True))
            )
    if tag_rows:
        conn.execute(upsert_into(conn, tags_t).on_conflict_do_nothing(), tag_rows)
    if snapshot_rows:
        conn.execute(snapshots_t.insert(), snapshot_rows)
    return counts


def _existing_metrics(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int | None, ...]]:
    by_platform: dict[str, list[str]] = {}
    for platform, key in keys:
        by_platform.setdefault(platform, []).append(key)
    found: dict[tuple[str, str], tuple[int | None, ...]] = {}
    cols = [posts_t.c[m] for m in METRICS]
    for platform, post_keys in by_platform.items():
        for start in range(0, len(post_keys), 900):  # stay under SQLite's bound-parameter limit
            chunk = post_keys[start : start + 900]
            query = select(posts_t.c.post_key, *cols).where(
                posts_t.c.platform == platform, posts_t.c.post_key.in_(chunk)
            )
            for row in conn.execute(query):
                found[(platform, row[0])] = tuple(row[1:])
    return found


# ---------------------------------------------------------------------------------------------------------
# Collector checkpoints


def load_checkpoint(engine: Engine, source: str) -> dict[str, Any]:
    with engine.connect() as conn:
        state = conn.execute(select(SourceCheckpoint.state).where(SourceCheckpoint.source == source)).scalar()
    return json.loads(state) if state else {}


def save_checkpoint(
    conn: Connection, source: str, state: dict[str, Any], now: dt.datetime | None = None
) -> None:
    table = cast(Table, SourceCheckpoint.__table__)
    stmt = upsert_into(conn, table).values(
        source=source, state=json.dumps(state, sort_keys=True), updated_at=now or utcnow()
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
        )
    )
