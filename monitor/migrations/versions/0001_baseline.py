"""baseline: the schema of the first release

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Equal to the schema that create_all made before migrations (databases without an alembic_version
table are this revision). The partial index on lower(author_handle) is written by hand: autogenerate
cannot compare expression indexes on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=128), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("platform", "handle"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_author_id"), ["author_id"], unique=False)

    op.create_table(
        "collection_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("started_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_new", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collection_runs", schema=None) as batch_op:
        batch_op.create_index("ix_collection_runs_source", ["source", "started_at"], unique=False)

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "source_checkpoints",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", monitor.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "vote_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("campaign_day", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("sent_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("local_date", "channel", name="uq_vote_reminders_day_channel"),
    )
    op.create_table(
        "imported_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", monitor.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["collection_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("post_key", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("author_handle", sa.String(length=128), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=True),
        sa.Column("created_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("shares", sa.Integer(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=True),
        sa.Column("is_repost", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["collection_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "post_key", name="uq_posts_platform_key"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posts_id_without_handle",
            ["platform", "author_id"],
            unique=False,
            sqlite_where=sa.text("author_handle IS NULL"),
            postgresql_where=sa.text("author_handle IS NULL"),
        )
        batch_op.create_index("ix_posts_local_date", ["local_date"], unique=False)
        batch_op.create_index(
            "ix_posts_handle_without_id",
            ["platform", sa.text("lower(author_handle)")],
            unique=False,
            sqlite_where=sa.text("author_id IS NULL"),
            postgresql_where=sa.text("author_id IS NULL"),
        )

    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["collection_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejected_rows_run_id"), ["run_id"], unique=False)

    op.create_table(
        "metric_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("shares", sa.Integer(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["collection_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_metric_snapshots_post", ["post_id", "observed_at"], unique=False)

    op.create_table(
        "post_hashtags",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=140), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "tag"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("post_hashtags", schema=None) as batch_op:
        batch_op.create_index("ix_post_hashtags_tag", ["tag", "post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("post_hashtags", schema=None) as batch_op:
        batch_op.drop_index("ix_post_hashtags_tag")

    op.drop_table("post_hashtags")
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_snapshots_post")

    op.drop_table("metric_snapshots")
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejected_rows_run_id"))

    op.drop_table("rejected_rows")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_local_date")
        batch_op.drop_index("ix_posts_handle_without_id")
        batch_op.drop_index(
            "ix_posts_id_without_handle",
            sqlite_where=sa.text("author_handle IS NULL"),
            postgresql_where=sa.text("author_handle IS NULL"),
        )

    op.drop_table("posts")
    op.drop_table("imported_files")
    op.drop_table("vote_reminders")
    op.drop_table("source_checkpoints")
    op.drop_table("settings")
    with op.batch_alter_table("collection_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_runs_source")

    op.drop_table("collection_runs")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_author_id"))

    op.drop_table("accounts")
