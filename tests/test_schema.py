"""Migrations (Alembic): the revisions equal the models on both databases, a database made before
migrations upgrades with its rows intact, an outdated or unknown schema is refused in one line, and
several processes starting on one empty database create it once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, inspect, text

from monitor import schema
from monitor.cli import main
from monitor.config import load_config
from monitor.db import open_engine
from monitor.errors import DatabaseError
from monitor.models import Base


def run_cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    return result.exit_code, result.output


@pytest.fixture
def bare(config_path: Path) -> Iterator[Engine]:
    """An engine on this test's empty database, nothing created."""
    engine = open_engine(load_config(config_path).storage.url, create=False)
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list[object]:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect the expression index on lower(author_handle): Alembic says it skips it.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_one_head() -> None:
    # Two branches each adding a revision after the same parent give two heads: renumber yours onto
    # main's head when you merge (monitor/migrations/README.md).
    assert len(schema.scripts().get_heads()) == 1


def test_upgrade_from_empty_equals_the_models(bare: Engine) -> None:
    with bare.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "head")
    assert differences(bare) == []
    with bare.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == schema.head()
        # The one index autogenerate cannot compare on SQLite, checked by name on both.
        names = (
            "SELECT indexname FROM pg_indexes"
            if bare.dialect.name == "postgresql"
            else "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
        assert "ix_posts_handle_without_id" in conn.execute(text(names)).scalars().all()


def test_first_use_creates_the_schema_at_head(config_path: Path) -> None:
    engine = open_engine(load_config(config_path).storage.url)
    try:
        assert differences(engine) == []
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == schema.head()
    finally:
        engine.dispose()
    code, output = run_cli(config_path, "db", "current")
    assert code == 0 and f"revision {schema.head()} (head)" in output


def make_first_release_database(engine: Engine) -> None:
    """What create_all of the first release made (the baseline, without alembic_version), with rows."""
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), schema.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text(
                "INSERT INTO collection_runs (id, source, target, started_at, status, rows_read, rows_new,"
                " rows_updated, rows_unchanged, rows_rejected, pages)"
                " VALUES (1, 'crowdtangle', 'old.csv', '2022-09-20 01:00:00', 'ok', 1, 1, 0, 0, 0, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO posts (id, platform, post_key, author_handle, created_at, local_date, likes,"
                " is_repost, source, first_seen_at, last_seen_at, last_run_id) VALUES (1, 'instagram', 'Cx1',"
                " 'kim', '2022-09-20 01:00:00', '2022-09-20', 7, false, 'crowdtangle', '2022-09-20 02:00:00',"
                " '2022-09-20 02:00:00', 1)"
            )
        )
        conn.execute(text("INSERT INTO post_hashtags (post_id, tag) VALUES (1, 'welovecities')"))
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('campaign.timezone', 'Asia/Jakarta')"))


def test_a_first_release_database_is_recognised_and_upgraded_with_its_rows(
    config_path: Path, bare: Engine
) -> None:
    make_first_release_database(bare)
    assert "alembic_version" not in inspect(bare).get_table_names()

    code, output = run_cli(config_path, "db", "current")
    assert code == 1 and f"revision {schema.BASELINE} (made before migrations" in output
    code, output = run_cli(config_path, "status")  # later revisions added tables: upgrade first
    assert code == 2 and "campaign-monitor db upgrade" in output, output

    code, output = run_cli(config_path, "db", "upgrade")
    assert code == 0, output
    assert f"from revision {schema.BASELINE} to {schema.head()}" in output
    code, output = run_cli(config_path, "status")
    assert code == 0 and "instagram" in output, output
    assert differences(bare) == []
    with bare.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == schema.head()
        assert conn.execute(text("SELECT post_key, likes FROM posts")).all() == [("Cx1", 7)]
        assert conn.execute(text("SELECT tag FROM post_hashtags")).scalars().all() == ["welovecities"]
        assert conn.execute(text("SELECT count(*) FROM collection_runs")).scalar_one() == 1
    code, output = run_cli(config_path, "db", "upgrade")  # again: nothing to do
    assert code == 0 and "already at revision" in output


def test_a_database_made_by_create_all_just_before_migrations_is_their_revision(
    config_path: Path, bare: Engine
) -> None:
    # main had the submissions tables (issue 17) before migrations: create_all made them too.
    with bare.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0002")
        conn.execute(text("DROP TABLE alembic_version"))
    code, output = run_cli(config_path, "db", "current")
    assert "revision 0002" in output and "made before migrations" in output
    code, output = run_cli(config_path, "db", "upgrade")
    assert code == 0 and "0002" in output, output
    assert differences(bare) == []


@pytest.fixture
def later_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A copy of the migrations with one more revision (as the next release will have): returns its id."""
    copy = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    parent = schema.head()
    (copy / "versions" / "9001_notes.py").write_text(
        f'''"""a later release adds a table"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("release_notes", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("release_notes")
''',
        encoding="utf-8",
    )
    monkeypatch.setattr(schema, "MIGRATIONS", copy)
    schema.scripts.cache_clear()
    yield "9001"
    schema.scripts.cache_clear()


def test_an_outdated_schema_is_refused_in_one_line_until_upgraded(
    config_path: Path, bare: Engine, later_release: str
) -> None:
    make_first_release_database(bare)
    code, output = run_cli(config_path, "status")
    assert code == 2
    assert output.strip().count("\n") == 0, output  # one line, no traceback
    assert f"older schema (revision {schema.BASELINE}, this release needs {later_release})" in output
    assert "campaign-monitor db upgrade" in output
    code, output = run_cli(config_path, "db", "current")
    assert code == 1 and f"this release needs {later_release}" in output

    code, output = run_cli(config_path, "db", "upgrade")
    assert code == 0 and f"from revision {schema.BASELINE} to {later_release}" in output
    assert "release_notes" in inspect(bare).get_table_names()
    with bare.connect() as conn:
        assert conn.execute(text("SELECT likes FROM posts")).scalar_one() == 7
    code, output = run_cli(config_path, "status")
    assert code == 0, output


def test_a_schema_from_a_newer_release_is_refused(config_path: Path, bare: Engine) -> None:
    with bare.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "head")
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(DatabaseError, match="revision f00d, which this campaign-monitor does not know"):
        open_engine(load_config(config_path).storage.url).dispose()
    code, output = run_cli(config_path, "db", "upgrade")
    assert code == 2 and "install the release that made it" in output


def test_processes_starting_at_once_on_an_empty_database_create_it_once(
    config_path: Path, bare: Engine, tmp_path: Path
) -> None:
    command_line = [sys.executable, "-m", "monitor", "--config", str(config_path), "status"]
    env = {**os.environ, "CAMPAIGN_MONITOR_NOW": "2022-10-01T07:00:00+07:00"}
    procs = [
        subprocess.Popen(
            command_line, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert differences(bare) == []
    with bare.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT key, value FROM settings")).all() == [
            ("campaign.timezone", "Asia/Jakarta")
        ]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u@localhost/db", "mysql is not supported"),
        ("postgresql+psycopg2://u@localhost/db", "postgresql+psycopg2 is not supported"),
        ("sqlite+pysqlcipher:///x.db", "sqlite+pysqlcipher is not supported"),
    ],
)
def test_other_databases_are_refused_in_one_line(
    write_config: Callable[..., Path], url: str, says: str
) -> None:
    path = write_config()
    path.write_text(path.read_text(encoding="utf-8").replace('url = "', f'url = "{url}" #'), encoding="utf-8")
    code, output = run_cli(path, "status")
    assert code == 2 and says in output and "postgresql://" in output
    assert output.strip().count("\n") == 0, output
