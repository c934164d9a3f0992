"""SQLAlchemy 2.0 typed models (DESIGN 3). Times are stored as UTC; days as local campaign dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "post_key", name="uq_posts_platform_key"),
        Index("ix_posts_local_date", "local_date"),
        # Partial indexes of the posts whose account is half known (a handle without an id, or an id
        # without a handle): tiny or empty, so free at import, and they make filling in the other half
        # (store.learn_accounts) a lookup instead of a scan.
        Index(
            "ix_posts_handle_without_id",
            "platform",
            text("lower(author_handle)"),
            sqlite_where=text("author_id IS NULL"),
            postgresql_where=text("author_id IS NULL"),
        ),
        Index(
            "ix_posts_id_without_handle",
            "platform",
            "author_id",
            sqlite_where=text("author_handle IS NULL"),
            postgresql_where=text("author_handle IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    post_key: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str | None] = mapped_column(String(64))
    author_handle: Mapped[str | None] = mapped_column(String(128))
    author_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    likes: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    is_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id"))
    # When the stored metrics were observed (DESIGN 5: the latest observation wins); NULL in rows
    # written before this column existed, read as last_seen_at.
    observed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PostHashtag(Base):
    __tablename__ = "post_hashtags"
    # WITHOUT ROWID: the primary key is the table, one b-tree fewer to write on every import.
    __table_args__ = (Index("ix_post_hashtags_tag", "tag", "post_id"), {"sqlite_with_rowid": False})

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(140), primary_key=True)  # case-folded, no '#'


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_snapshots_post", "post_id", "observed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    observed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    likes: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id"))


class CollectionRun(Base):
    """One import of a file, one pass of an API collector, or one scheduled job."""

    __tablename__ = "collection_runs"
    __table_args__ = (Index("ix_collection_runs_source", "source", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # format name, "x_api", "job:inbox", ...
    target: Mapped[str | None] = mapped_column(Text)  # file path or API base (never a token)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        String(16), default="running"
    )  # running ok partial failed rate_limited
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_new: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    counted: Mapped[str | None] = mapped_column(Text)  # what counted, for people (the import summary)


class RejectedRow(Base):
    """A row that could not be imported. One per file content and line (importing the same file again
    adds none); `resolved_run_id` is set when the row's post later imports cleanly."""

    __tablename__ = "rejected_rows"
    __table_args__ = (
        Index(
            "uq_rejected_rows_file_line",
            "sha256",
            "line",
            unique=True,
            sqlite_where=text("sha256 IS NOT NULL"),
            postgresql_where=text("sha256 IS NOT NULL"),
        ),
        Index("ix_rejected_rows_post", "platform", "post_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("collection_runs.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)  # as a text editor numbers it; header is line 1
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the file's content; None for API items
    header: Mapped[str | None] = mapped_column(Text)  # the file's header line, to write the row back
    platform: Mapped[str | None] = mapped_column(String(16))  # the row's post, when its key was readable
    post_key: Mapped[str | None] = mapped_column(String(64))
    resolved_run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))


class ImportedFile(Base):
    __tablename__ = "imported_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VoteReminder(Base):
    __tablename__ = "vote_reminders"
    __table_args__ = (UniqueConstraint("local_date", "channel", name="uq_vote_reminders_day_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date)
    campaign_day: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sending sent failed missed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The time the day's reminder was due: the drawn one when [reminders] at lists several times.
    planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DigestDelivery(Base):
    """The morning digest: one row per local day it is sent on and channel (the outbox's rows)."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("local_date", "channel", name="uq_digest_deliveries_day_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date)  # the day it is sent; it reports on the day before
    channel: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sending sent failed missed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """One alert on one channel: (kind, key, local day, channel) is sent at most once, so one cause
    alerts once a day (kind: source_failed, source_recovered, inbox_failed, ...; key: what it is about)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("kind", "key", "local_date", "channel", name="uq_alerts_kind_key_day_channel"),
        Index("ix_alerts_day", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    local_date: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sending sent failed missed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Account(Base):
    """An account seen with both its handle and its id on a platform (e.g. by CrowdTangle or twarc), used
    to complete the posts of sources that give only one of the two (Twitter Analytics: the handle;
    Meta Business Suite: the id), so one account is counted once whatever exported it."""

    __tablename__ = "accounts"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    handle: Mapped[str] = mapped_column(String(128), primary_key=True)  # lower-case, without '@'
    author_id: Mapped[str] = mapped_column(String(64), index=True)


class Setting(Base):
    """Facts the stored data depends on, e.g. the time zone its local days were computed in."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SourceCheckpoint(Base):
    """Where an API collector stopped (newest id, pagination token, cached ids), as JSON text."""

    __tablename__ = "source_checkpoints"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VoteReading(Base):
    """What the team read on the campaign website at a moment: the city's votes, suggestions, rank.

    Counts never go down: a lower reading is stored only as a correction, which marks the earlier
    readings it contradicts `corrected` (kept, not deleted) and names itself in their corrected_by."""

    __tablename__ = "vote_readings"
    __table_args__ = (Index("ix_vote_readings_read_at", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[dt.date] = mapped_column(Date)
    votes: Mapped[int] = mapped_column(Integer)
    suggestions: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="cli")  # "cli" or "import:<file name>"
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("vote_readings.id"))


class Submission(Base):
    """A post link a member submitted ("setor link") through a form, a WhatsApp group or the bot.

    `member` is the roster name (compared with `member_key`), NULL when the sender is not on the
    roster; `origin` identifies the message or form answer the link came from, so importing the same
    sheet or a later chat export again adds only what is new. States: seen (the post is in `posts`),
    waiting (not yet seen) and refused (`reason` says why). Message text is kept as written and only
    ever escaped when shown.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("origin", name="uq_submissions_origin"),
        Index("ix_submissions_post", "platform", "post_key"),
        Index("ix_submissions_member", "member_key", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(16))  # form | whatsapp | telegram
    member: Mapped[str | None] = mapped_column(Text)
    member_key: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(Text)  # as the channel names them
    link: Mapped[str] = mapped_column(Text)  # as sent
    platform: Mapped[str | None] = mapped_column(String(16))
    post_key: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)  # canonical, without tracking parameters
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # seen | waiting | refused
    reason: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)  # the message or form cell, as written
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BotOffset(Base):
    """The next `getUpdates` offset of a Telegram bot (by the bot's numeric id, never its token)."""

    __tablename__ = "bot_offsets"

    bot: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BotReply(Base):
    """The bot's answer to one incoming update, stored with the offset before it is sent, so a
    restart sends an answer that was due and never sends one twice. It always goes to the chat the
    update came from, as a reply to its message."""

    __tablename__ = "bot_replies"
    __table_args__ = (UniqueConstraint("bot", "update_id", name="uq_bot_replies_update"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bot: Mapped[str] = mapped_column(String(64))
    update_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # supergroups: -100..., beyond 32 bits
    message_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
