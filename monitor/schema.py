"""The schema's version (Alembic, monitor/migrations): create, recognise, check, upgrade.

- An empty database gets today's schema at once (create_all, stamped with the head revision: the
  Alembic recipe for a new database; a test keeps the revisions equal to the models).
- A database made before migrations (create_all, no `alembic_version` table) is the revision whose
  tables it has (PRE_MIGRATION): the first release's are the baseline, 0001.
- Every command refuses a database whose revision is not the head, with one line naming
  `campaign-monitor db upgrade`; `upgrade` brings it to the head without touching a row it keeps.

Creating and upgrading hold a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so
several processes starting on one empty database at once create it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from monitor.db import LOCK_SCHEMA, readonly, where, write_lock
from monitor.errors import DatabaseError
from monitor.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
# The tables of the first release (made by create_all, before migrations): their presence without an
# alembic_version table means the baseline revision.
BASELINE_TABLES = (
    "accounts", "collection_runs", "imported_files", "metric_snapshots", "post_hashtags", "posts",
    "rejected_rows", "settings", "source_checkpoints", "vote_reminders",
)  # fmt: skip
# What create_all made before migrations, newest first: with all of a revision's tables (and no
# alembic_version) a database is at that revision.
PRE_MIGRATION = (
    (
        "0004",
        (
            *BASELINE_TABLES,
            "alerts",
            "bot_offsets",
            "bot_replies",
            "digest_deliveries",
            "submissions",
            "vote_readings",
        ),
    ),
    ("0002", (*BASELINE_TABLES, "bot_offsets", "bot_replies", "submissions")),
    (BASELINE, BASELINE_TABLES),
)
UPGRADE_HINT = "back it up, then run `campaign-monitor db upgrade`"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this release's models are at (one head: see monitor/migrations/README.md)."""
    revision = scripts().get_current_head()
    if revision is None:  # pragma: no cover - the baseline always exists
        raise DatabaseError("no schema revisions found in monitor/migrations")
    return revision


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # what alembic_version says, or BASELINE for a first-release database
    empty: bool  # no tables of ours at all
    legacy: bool  # made by create_all before migrations (no alembic_version)

    @property
    def current(self) -> bool:
        return self.revision == head()


def schema_state(conn: Connection) -> SchemaState:
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        return SchemaState(revision, empty=False, legacy=False)
    if tables & set(BASELINE_TABLES):
        revision = next((rev for rev, names in PRE_MIGRATION if set(names) <= tables), BASELINE)
        return SchemaState(revision, empty=False, legacy=True)
    return SchemaState(None, empty=True, legacy=False)


def _known(revision: str | None) -> bool:
    try:
        return revision is not None and scripts().get_revision(revision) is not None
    except Exception:
        return False


def ensure_schema(engine: Engine) -> None:
    """Create the schema of an empty database; refuse one that is not at the head revision."""
    from monitor.db import connection_error

    try:
        with readonly(engine).connect() as conn:
            state = schema_state(conn)
        if state.empty:
            with engine.begin() as conn:
                write_lock(conn, LOCK_SCHEMA)
                state = schema_state(conn)  # again, under the lock: another process may have made it
                if state.empty:
                    Base.metadata.create_all(conn)
                    MigrationContext.configure(conn).stamp(scripts(), "head")
                    return
    except Exception as error:
        from sqlalchemy import exc

        if isinstance(error, exc.DBAPIError) and (problem := connection_error(error, engine.url)):
            raise problem from None
        raise
    if state.current:
        return
    if not _known(state.revision):
        raise DatabaseError(
            f"the database {where(engine.url)} has schema revision {state.revision}, which this "
            f"campaign-monitor does not know (it knows up to {head()}): install the release that made it"
        )
    raise DatabaseError(
        f"the database {where(engine.url)} has an older schema (revision {state.revision}, this release "
        f"needs {head()}): {UPGRADE_HINT}"
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the head revision; returns (revision before, revision after)."""
    from alembic import command

    with engine.begin() as conn:
        write_lock(conn, LOCK_SCHEMA)
        state = schema_state(conn)
        if state.empty:
            Base.metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(scripts(), "head")
            return None, head()
        if not _known(state.revision):
            raise DatabaseError(
                f"the database {where(engine.url)} has schema revision {state.revision}, which this "
                "campaign-monitor does not know: install the release that made it"
            )
        if state.legacy:
            if state.revision == BASELINE:
                # The first release made these by create_all: complete any missing one of them.
                baseline = [Base.metadata.tables[name] for name in BASELINE_TABLES]
                Base.metadata.create_all(conn, tables=baseline)
            MigrationContext.configure(conn).stamp(scripts(), state.revision or BASELINE)
        command.upgrade(alembic_config(conn), "head")
    return state.revision, head()


def current(engine: Engine) -> SchemaState:
    with readonly(engine).connect() as conn:
        return schema_state(conn)
