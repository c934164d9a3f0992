"""Shared fixtures: a real config file and a real database: a SQLite file under tmp_path and, when
`--postgresql URL` (or $CAMPAIGN_MONITOR_TEST_POSTGRESQL) names a PostgreSQL server, a fresh database
on it too. Every test that uses `database` (through `config`, `write_config` or `engine`) runs on each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import Config, load_config
from monitor.db import open_engine

DATA = Path(__file__).parent / "data"

BASE_CONFIG = """\
[campaign]
name = "We Love Cities 2022 - Kota Probolinggo"
city = "Probolinggo"
start = 2022-09-19
end = 2022-10-31
timezone = "Asia/Jakarta"
hashtags = ["WeLoveProbolinggo", "#welovecities"]
vote_url = "https://www.welovecities.org"
language = "{language}"

[storage]
url = "{url}"
"""

SQLITE_URL = "sqlite:///data/monitor.db"  # relative to the config file: tmp_path/data/monitor.db
PG_ENV = "CAMPAIGN_MONITOR_TEST_POSTGRESQL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgresql",
        metavar="URL",
        default=os.environ.get(PG_ENV) or None,
        help=f"also run the database tests on PostgreSQL: a URL allowed to CREATE DATABASE (or ${PG_ENV})",
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): two test processes per core, at most 8. A test mostly waits
    (child processes starting, locks, servers, a browser), so one per core would leave cores idle.
    PYTEST_XDIST_AUTO_NUM_WORKERS overrides it, as in pytest-xdist."""
    if (given := os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").strip()).isdigit():
        return int(given)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(8, 2 * cores)


# Modules whose module-scoped fixtures are expensive (a whole demo, full reports): all their tests go
# to one test process, which computes each fixture once. The others go test by test to whichever
# process is free. (pytest-xdist's own xdist_group marks do not reach its scheduler on pytest 9.2.)
ONE_PROCESS_MODULES = {"tests/test_demo.py", "tests/test_report_numbers.py"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_PROCESS_MODULES else nodeid

    return Scheduler(config, log)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends = ["sqlite"]
    # sqlite_only: a test of SQLite's own files (a folder, a read-only file, a full disk under it).
    if metafunc.config.getoption("postgresql") and not metafunc.definition.get_closest_marker("sqlite_only"):
        backends.append("postgresql")
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", backends, indirect=True)
    if "postgresql_url" in metafunc.fixturenames:  # tests of PostgreSQL alone: none without a server
        given = metafunc.config.getoption("postgresql")
        metafunc.parametrize("postgresql_url", [given] if given else [], ids=["postgresql"][: bool(given)])
    if "module_database" in metafunc.fixturenames:
        metafunc.parametrize("module_database", backends, indirect=True, scope="module")


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The [storage] url of this test's own empty database: a SQLite file beside the config, or a
    fresh PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield SQLITE_URL
        return
    with fresh_postgresql_database(request.config.getoption("postgresql")) as url:
        yield url


@pytest.fixture(scope="module")
def module_database(request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """`database` for module-scoped fixtures: a function giving a new empty database's url at each
    call (SQLite: the relative url, so one per config folder), all dropped at the module's end."""
    if request.param == "sqlite":
        yield lambda: SQLITE_URL
        return
    with contextlib.ExitStack() as stack:
        admin = request.config.getoption("postgresql")
        yield lambda: stack.enter_context(fresh_postgresql_database(admin))


@contextlib.contextmanager
def fresh_postgresql_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of `admin_url` (CREATE DATABASE ... FILE_COPY: about 0.1 s),
    dropped afterwards even if a test left connections open."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"cm_test_{uuid.uuid4().hex[:12]}"
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")  # type: ignore[arg-type]
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.fixture
def write_config(tmp_path: Path, database: str) -> Callable[..., Path]:
    """Write config.toml in tmp_path: the base campaign on this test's database plus any extra TOML."""

    def write(extra: str = "", language: str = "id") -> Path:
        path = tmp_path / "config.toml"
        text = BASE_CONFIG.format(language=language, url=database)
        path.write_text(text + "\n" + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def config_path(write_config: Callable[..., Path]) -> Path:
    return write_config()


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture
def engine(config: Config) -> Iterator[Engine]:
    eng = open_engine(config.storage.url)
    yield eng
    eng.dispose()


@pytest.fixture
def calendar(config: Config) -> CampaignCalendar:
    """The calendar frozen at 2022-10-01 12:00 local (campaign day 13)."""
    return CampaignCalendar(
        config.campaign, fixed_clock(dt.datetime(2022, 10, 1, 12, 0, tzinfo=config.campaign.tz))
    )


@pytest.fixture(autouse=True)
def _forget_remembered_secrets() -> Iterator[None]:
    """Loading a config remembers its *_env values for redaction (monitor.redaction); one test's
    secrets must not change what the next test's messages say."""
    from monitor.redaction import forget_secrets

    yield
    forget_secrets()
