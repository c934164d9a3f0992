"""Writes: bulk upsert of posts with their hashtags and metric snapshots, and the run log.

One batch is one transaction: its posts, hashtags, snapshots, rejected rows and the run's counters
commit together or not at all, so a kill loses nothing committed and leaves no half batch; the
upsert on (platform, post_key) makes re-running an import add no duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, bindparam, case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor import run_owners
from monitor.models import Account, CollectionRun, MetricSnapshot, PostHashtag, RejectedRow, SourceCheckpoint
from monitor.models import Post as PostModel
from monitor.records import PostRecord
from monitor.redaction import scrub

BATCH_SIZE = 5000  # rows per transaction: fewer commits, still bounded memory
METRICS = ("likes", "comments", "shares", "views")

# Core tables for bulk statements (no per-row ORM objects on the hot path).
posts_t = cast(Table, PostModel.__table__)
tags_t = cast(Table, PostHashtag.__table__)
snapshots_t = cast(Table, MetricSnapshot.__table__)
runs_t = cast(Table, CollectionRun.__table__)
rejects_t = cast(Table, RejectedRow.__table__)
accounts_t = cast(Table, Account.__table__)


@dataclass
class Rejection:
    """A row that could not be imported: where it was and why (and, for a file, its content hash and
    header, and the row's post when its key could be read, so a later clean import resolves it)."""

    file: str
    line: int | None
    reason: str
    raw: str | None = None
    sha256: str | None = None
    header: str | None = None
    platform: str | None = None
    post_key: str | None = None


@dataclass
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    older: int = 0  # observations older than the stored one: kept as snapshots, metrics not reverted
    # Post keys of this batch that the same run already stored in an earlier batch (a file that
    # repeats a post): the store sees it for free in the lookup it makes anyway.
    stored_earlier_in_run: list[str] = field(default_factory=list)
    # (platform, key) of this batch's posts that were stored already with the same metrics, or from a
    # later observation: the import summary says they were known (monitor/counting.py).
    unchanged_keys: set[tuple[str, str]] = field(default_factory=set)
    older_keys: set[tuple[str, str]] = field(default_factory=set)

    def __iadd__(self, other: BatchCounts) -> BatchCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.older += other.older
        self.stored_earlier_in_run += other.stored_earlier_in_run
        return self  # the key sets are per batch: a whole file's would not stay in bounded memory

    @property
    def read(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected + self.older


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def upsert_into(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT for the connection's database (SQLite or PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# ---------------------------------------------------------------------------------------------------------
# Run log


def start_run(engine: Engine, source: str, target: str | None, now: dt.datetime | None = None) -> int:
    """Log a new `running` run owned by this process. Runs left `running` by a process that died
    are marked `interrupted` first (monitor.run_owners): every command that writes heals them."""
    run_owners.sweep(engine, runs_t, now or utcnow())
    with engine.begin() as conn:
        result = conn.execute(
            runs_t.insert().values(
                source=source, target=scrub(target), started_at=now or utcnow(), status="running"
            )
        )
        run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    run_owners.hold(engine, run_id)
    return run_id


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    error: str | None = None,
    pages: int | None = None,
    now: dt.datetime | None = None,
    counted: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": now or utcnow(), "error": scrub(error)}
    if pages is not None:
        values["pages"] = pages
    if counted is not None:
        values["counted"] = counted
    with engine.begin() as conn:
        conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))
    run_owners.release(engine, run_id)


def mark_interrupted(engine: Engine, source_prefix: str, now: dt.datetime | None = None) -> int:
    """Close the runs left `running` by a process that died (call it only while holding the run lock
    that the processes writing these runs take). Returns how many were marked `interrupted`."""
    with engine.begin() as conn:
        result = conn.execute(
            update(runs_t)
            .where(runs_t.c.status == "running", runs_t.c.source.startswith(source_prefix))
            .values(status="interrupted", finished_at=now or utcnow())
        )
    return int(result.rowcount or 0)


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
    observed: dt.datetime | None = None,
    resolves: Sequence[int] = (),
    sha256: str | None = None,
) -> BatchCounts:
    """Store one batch in one transaction; optionally save a collector checkpoint with it.

    `observed` is when the batch's records were observed, for those that do not say it themselves
    (default: now); the metrics of the latest observation win (DESIGN 5). A rejection of a file row
    already rejected (same content hash and line) is not stored again; the stored rejects of posts
    this batch imports cleanly (from other file content than `sha256`), and the reject ids in
    `resolves` (rows of a `rejects --csv` file that now imported), are marked resolved.
    """
    now = now or utcnow()
    with engine.begin() as conn:
        counts = upsert_posts(conn, records, tz, run_id, now, observed)
        if rejections:
            conn.execute(
                upsert_into(conn, rejects_t).on_conflict_do_nothing(),
                [
                    {
                        "run_id": run_id,
                        "file": scrub(r.file),
                        "line": r.line,
                        "reason": scrub(r.reason),
                        "raw": scrub(r.raw),
                        "sha256": r.sha256,
                        "header": scrub(r.header),
                        "platform": r.platform,
                        "post_key": r.post_key,
                    }
                    for r in rejections
                ],  # fmt: skip
            )
            counts.rejected = len(rejections)
        if records or resolves:
            resolve_rejects(conn, run_id, records, sha256, resolves)
        conn.execute(
            update(runs_t)
            .where(runs_t.c.id == run_id)
            .values(
                rows_read=runs_t.c.rows_read + len(records) + len(rejections),
                rows_new=runs_t.c.rows_new + counts.new,
                rows_updated=runs_t.c.rows_updated + counts.updated,
                rows_unchanged=runs_t.c.rows_unchanged + counts.unchanged + counts.older,
                rows_rejected=runs_t.c.rows_rejected + counts.rejected,
            )
        )
        if checkpoint is not None:
            save_checkpoint(conn, checkpoint[0], checkpoint[1], now)
    return counts


def resolve_rejects(
    conn: Connection,
    run_id: int,
    records: Sequence[PostRecord],
    sha256: str | None = None,
    ids: Sequence[int] = (),
) -> None:
    """Mark resolved the open rejects whose post this batch stored, unless they come from the same
    file content (a file that has the post on a good line and a bad one still has the bad one)."""
    open_rejects = rejects_t.c.resolved_run_id.is_(None)
    if ids:
        conn.execute(
            update(rejects_t)
            .where(open_rejects, rejects_t.c.id.in_(list(ids)))
            .values(resolved_run_id=run_id)
        )
    if (
        conn.execute(
            select(rejects_t.c.id).where(open_rejects, rejects_t.c.post_key.is_not(None)).limit(1)
        ).first()
        is None
    ):
        return  # nothing to resolve: the common case costs one look-up
    by_platform: dict[str, list[str]] = {}
    for rec in records:
        by_platform.setdefault(rec.platform, []).append(rec.post_key)
    for platform, keys in by_platform.items():
        for start in range(0, len(keys), 900):
            query = (
                update(rejects_t)
                .where(
                    open_rejects,
                    rejects_t.c.platform == platform,
                    rejects_t.c.post_key.in_(keys[start : start + 900]),
                )
                .where(rejects_t.c.run_id != run_id)
                .values(resolved_run_id=run_id)
            )
            if sha256:
                query = query.where((rejects_t.c.sha256 != sha256) | rejects_t.c.sha256.is_(None))
            conn.execute(query)


# Column order of the bulk row tuples.
POST_COLUMNS = (
    "platform", "post_key", "author_id", "author_handle", "author_name", "created_at", "local_date", "text",
    "url", "likes", "comments", "shares", "views", "is_repost", "source", "first_seen_at", "last_seen_at",
    "last_run_id", "observed_at",
)  # fmt: skip
KEEP_KNOWN = ("author_id", "author_handle", "author_name", "text", "url", *METRICS)
OBSERVED = ("created_at", "local_date", "is_repost", "source", "observed_at")  # of the latest observation
ALWAYS = ("last_seen_at", "last_run_id")  # the last time any source delivered the post

# The stored post is replaced by a row observed at the same time or later (ties: the later import);
# an older observation only fills in what is unknown (DESIGN 5: the latest observation wins).
_NEWER = "excluded.observed_at >= coalesce(posts.observed_at, posts.last_seen_at)"

# The SQLite statements, run through the driver's executemany: the bulk path (DESIGN 7) skips
# SQLAlchemy's per-row parameter processing, so values are given in the forms SQLAlchemy itself
# stores (see _sqlite_time).
_SQLITE_UPSERT = (
    f"INSERT INTO posts (id, {', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' * (len(POST_COLUMNS) + 1))}) "
    "ON CONFLICT (platform, post_key) DO UPDATE SET "
    + ", ".join(
        [
            f"{c} = CASE WHEN {_NEWER} THEN coalesce(excluded.{c}, posts.{c}) "
            f"ELSE coalesce(posts.{c}, excluded.{c}) END"
            for c in KEEP_KNOWN
        ]
        + [f"{c} = CASE WHEN {_NEWER} THEN excluded.{c} ELSE posts.{c} END" for c in OBSERVED]
        + [f"{c} = excluded.{c}" for c in ALWAYS]
    )
)
_SQLITE_TAGS = "INSERT INTO post_hashtags (post_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING"
_SQLITE_SNAPSHOTS = (
    "INSERT INTO metric_snapshots (post_id, observed_at, run_id, likes, comments, shares, views) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# An older observation imported again (the same old export twice) is not a second snapshot.
_SQLITE_OLDER_SNAPSHOTS = (
    "INSERT INTO metric_snapshots (post_id, observed_at, run_id, likes, comments, shares, views) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS "
    "(SELECT 1 FROM metric_snapshots WHERE post_id = ?1 AND observed_at = ?2)"
)


def _sqlite_time(instant: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores: naive UTC with microseconds."""
    return instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def driver_bulk(conn: Connection) -> bool:
    """Whether to use the SQLite bulk path; other databases go through SQLAlchemy Core."""
    return conn.dialect.name == "sqlite"


def upsert_posts(
    conn: Connection,
    records: Sequence[PostRecord],
    tz: ZoneInfo,
    run_id: int | None,
    now: dt.datetime,
    observed: dt.datetime | None = None,
) -> BatchCounts:
    """Insert or update posts by (platform, post_key): the latest observation wins (a record's
    `observed_at`, else `observed`, else `now`; ties: this import), an unknown (None) metric keeps
    the known one, and every observation that changes what is known is kept as a snapshot."""
    counts = BatchCounts()
    if not records:
        return counts
    default_seen = (observed or now).astimezone(dt.UTC)
    # The same post twice in one batch: the later observation wins (the later row on a tie).
    latest: dict[tuple[str, str], PostRecord] = {}
    for rec in records:
        pk = (rec.platform, rec.post_key)
        if pk in latest:
            earlier = latest[pk]
            if (rec.observed_at or default_seen) < (earlier.observed_at or default_seen):
                continue
        latest[pk] = rec
    counts.unchanged += len(records) - len(latest)

    stored = _lookup(conn, latest.keys())
    counts.stored_earlier_in_run = [
        key for (_, key), found in stored.items() if run_id is not None and found.last_run_id == run_id
    ]
    sqlite = driver_bulk(conn)
    stamp: Any = _sqlite_time(now) if sqlite else now
    default_stamp: Any = _sqlite_time(default_seen) if sqlite else default_seen
    post_ids = {key: found.id for key, found in stored.items()}
    if sqlite:
        # The ids of new posts are given, not looked up after the insert: this transaction began
        # IMMEDIATE, so it holds SQLite's write lock and nobody else can take these ids meanwhile.
        next_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM posts").scalar_one()
        for pk in latest:
            if pk not in post_ids:
                post_ids[pk] = next_id
                next_id += 1
    accounts = complete_accounts(conn, latest.values())
    rows = []
    for pk, rec in latest.items():
        author_id, author_handle = accounts.complete(rec)
        created: Any = rec.created_at.astimezone(dt.UTC)
        local_date: Any = created.astimezone(tz).date()
        if rec.observed_at is None:
            seen: Any = default_stamp
        else:
            seen = _sqlite_time(rec.observed_at) if sqlite else rec.observed_at.astimezone(dt.UTC)
        if sqlite:
            created, local_date = (
                created.replace(tzinfo=None).isoformat(" ", "microseconds"),
                local_date.isoformat(),
            )
        rows.append(
            (pk[0], pk[1], author_id, author_handle, rec.author_name, created, local_date, rec.text,
             rec.url, rec.likes, rec.comments, rec.shares, rec.views, rec.is_repost, rec.source, stamp, stamp,
             run_id, seen)
        )  # fmt: skip
    if sqlite:
        # A stored post gets id NULL: it conflicts on (platform, post_key) and keeps its own id.
        conn.exec_driver_sql(
            _SQLITE_UPSERT,
            [(None if pk in stored else post_ids[pk], *row) for pk, row in zip(latest, rows, strict=True)],
        )
    else:
        stmt = upsert_into(conn, posts_t)
        newer = stmt.excluded.observed_at >= func.coalesce(posts_t.c.observed_at, posts_t.c.last_seen_at)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["platform", "post_key"],
                set_={
                    c: case(
                        (newer, func.coalesce(stmt.excluded[c], posts_t.c[c])),
                        else_=func.coalesce(posts_t.c[c], stmt.excluded[c]),
                    )
                    for c in KEEP_KNOWN
                }
                | {c: case((newer, stmt.excluded[c]), else_=posts_t.c[c]) for c in OBSERVED}
                | {c: stmt.excluded[c] for c in ALWAYS},
            ),
            [dict(zip(POST_COLUMNS, r, strict=True)) for r in rows],
        )
        new_keys = [k for k in latest if k not in stored]
        post_ids.update((key, found.id) for key, found in _lookup(conn, new_keys).items())

    tag_rows: list[tuple[int, str]] = []
    snapshot_rows: list[tuple[Any, ...]] = []
    older_rows: list[tuple[Any, ...]] = []
    for (pk, rec), row in zip(latest.items(), rows, strict=True):
        post_id = post_ids[pk]
        tag_rows.extend((post_id, tag) for tag in rec.hashtags)
        observed_metrics: tuple[int | None, ...] = (rec.likes, rec.comments, rec.shares, rec.views)
        old = stored.get(pk)
        seen = row[-1]  # the observation time, as stored
        if old is None:
            counts.new += 1
            metrics = observed_metrics
        elif seen < old.observed_at:
            # An older observation: history, not the current state (an unknown is filled in).
            if observed_metrics == old.metrics or all(v is None for v in observed_metrics):
                counts.unchanged += 1
                counts.unchanged_keys.add(pk)
            else:
                counts.older += 1
                counts.older_keys.add(pk)
                older_rows.append((post_id, seen, run_id, *observed_metrics))
            continue
        else:
            # What the upsert stored: a known value replaces, an unknown one keeps the old.
            metrics = tuple(
                o if o is not None else b for o, b in zip(observed_metrics, old.metrics, strict=True)
            )
            if metrics == old.metrics:
                counts.unchanged += 1
                counts.unchanged_keys.add(pk)
                continue
            counts.updated += 1
        if any(v is not None for v in metrics):
            snapshot_rows.append((post_id, seen, run_id, *metrics))
    if sqlite:
        if tag_rows:
            conn.exec_driver_sql(_SQLITE_TAGS, tag_rows)
        if snapshot_rows:
            conn.exec_driver_sql(_SQLITE_SNAPSHOTS, snapshot_rows)
        if older_rows:
            conn.exec_driver_sql(_SQLITE_OLDER_SNAPSHOTS, older_rows)
    else:
        if tag_rows:
            conn.execute(
                upsert_into(conn, tags_t).on_conflict_do_nothing(),
                [{"post_id": p, "tag": t} for p, t in tag_rows],
            )
        names = ("post_id", "observed_at", "run_id", *METRICS)
        if snapshot_rows:
            conn.execute(snapshots_t.insert(), [dict(zip(names, r, strict=True)) for r in snapshot_rows])
        for row in older_rows:
            values = dict(zip(names, row, strict=True))
            known = select(snapshots_t.c.id).where(
                snapshots_t.c.post_id == values["post_id"], snapshots_t.c.observed_at == values["observed_at"]
            )
            if conn.execute(known.limit(1)).first() is None:
                conn.execute(snapshots_t.insert().values(**values))
    return counts


# ---------------------------------------------------------------------------------------------------------
# Accounts: one account, whatever exported it


def handle_key(handle: str | None) -> str | None:
    """The form handles are compared in: without '@', lower-case (as SQL's lower() does it)."""
    if not handle:
        return None
    key = handle.strip().lstrip("@").lower()
    return key or None


@dataclass
class AccountBook:
    """What a batch knows of its accounts: handle -> id and id -> handle, per platform."""

    ids: dict[tuple[str, str], str]
    handles: dict[tuple[str, str], str]

    def complete(self, rec: PostRecord) -> tuple[str | None, str | None]:
        """The record's (author_id, author_handle), the missing half filled in when the account is known."""
        author_id, handle = rec.author_id, rec.author_handle
        if author_id is None and (key := handle_key(handle)) is not None:
            author_id = self.ids.get((rec.platform, key))
        elif handle is None and author_id is not None:
            handle = self.handles.get((rec.platform, author_id))
        return author_id, handle


def complete_accounts(conn: Connection, records: Iterable[PostRecord]) -> AccountBook:
    """Learn the accounts this batch shows with both handle and id, fill in older posts that had only
    one half of a newly learned account, and return the book that completes this batch's records."""
    pairs: dict[tuple[str, str], str] = {}  # (platform, handle) -> id, as this batch shows them
    wanted_handles: set[tuple[str, str]] = set()
    wanted_ids: set[tuple[str, str]] = set()
    for rec in records:
        key = handle_key(rec.author_handle)
        if key is not None and rec.author_id is not None:
            pairs[(rec.platform, key)] = rec.author_id
        elif key is not None:
            wanted_handles.add((rec.platform, key))
        elif rec.author_id is not None:
            wanted_ids.add((rec.platform, rec.author_id))
    if not (pairs or wanted_handles or wanted_ids):
        return AccountBook({}, {})
    known = _known_accounts(conn, set(pairs) | wanted_handles, wanted_ids)
    new = [{"platform": p, "handle": h, "author_id": i} for (p, h), i in pairs.items() if (p, h) not in known]
    if new:
        conn.execute(upsert_into(conn, accounts_t).on_conflict_do_nothing(), new)
        # Posts stored earlier with only one half of these accounts (partial indexes: no scan).
        conn.execute(
            text(
                "UPDATE posts SET author_id = :author_id WHERE platform = :platform AND author_id IS NULL"
                " AND lower(author_handle) = :handle"
            ),
            new,
        )
        conn.execute(
            text(
                "UPDATE posts SET author_handle = :handle WHERE platform = :platform"
                " AND author_handle IS NULL AND author_id = :author_id"
            ),
            new,
        )
    ids = known | pairs
    return AccountBook(ids=ids, handles={(p, i): h for (p, h), i in ids.items()})


def _known_accounts(
    conn: Connection, handles: set[tuple[str, str]], ids: set[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(platform, handle) -> id of the stored accounts with one of these handles or ids."""
    found: dict[tuple[str, str], str] = {}
    for platform in {p for p, _ in handles} | {p for p, _ in ids}:
        for column, values in (
            (accounts_t.c.handle, sorted(h for p, h in handles if p == platform)),
            (accounts_t.c.author_id, sorted(i for p, i in ids if p == platform)),
        ):
            for start in range(0, len(values), 900):
                query = select(accounts_t.c.handle, accounts_t.c.author_id).where(
                    accounts_t.c.platform == platform, column.in_(values[start : start + 900])
                )
                found.update(((platform, h), i) for h, i in conn.execute(query))
    return found


class StoredPost(NamedTuple):
    id: int
    metrics: tuple[int | None, ...]  # likes, comments, shares, views
    last_run_id: int | None
    observed_at: Any  # when its metrics were observed (SQLite bulk path: the stored text)


def _lookup(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredPost]:
    """(platform, post_key) -> what is stored of the posts that exist already."""
    by_platform: dict[str, list[str]] = {}
    for platform, key in keys:
        by_platform.setdefault(platform, []).append(key)
    found: dict[tuple[str, str], StoredPost] = {}
    seen = func.coalesce(posts_t.c.observed_at, posts_t.c.last_seen_at)
    columns = (
        posts_t.c.post_key,
        posts_t.c.id,
        posts_t.c.last_run_id,
        seen,
        *(posts_t.c[m] for m in METRICS),
    )
    query = select(*columns).where(
        posts_t.c.platform == bindparam("platform"), posts_t.c.post_key.in_(bindparam("keys", expanding=True))
    )
    bulk_columns = "post_key, id, last_run_id, coalesce(observed_at, last_seen_at), " + ", ".join(METRICS)
    for platform, post_keys in by_platform.items():
        for start in range(0, len(post_keys), 900):  # stay under SQLite's bound-parameter limit
            chunk = post_keys[start : start + 900]
            if driver_bulk(conn):  # no per-value compilation
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT {bulk_columns} FROM posts WHERE platform = ? AND post_key IN ({marks})"
                rows = conn.connection.driver_connection.execute(sql, (platform, *chunk))  # type: ignore[union-attr]
            else:
                rows = conn.execute(query, {"platform": platform, "keys": chunk})
            for row in rows:
                observed_at = row[3]
                if isinstance(observed_at, dt.datetime) and observed_at.tzinfo is None:
                    observed_at = observed_at.replace(tzinfo=dt.UTC)  # coalesce() loses the column type
                found[(platform, row[0])] = StoredPost(row[1], tuple(row[4:]), row[2], observed_at)
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
