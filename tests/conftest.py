"""Shared fixtures: a real config file and a real SQLite database under tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

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
url = "sqlite:///data/monitor.db"
"""


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write config.toml in tmp_path: the base campaign plus any extra TOML text."""

    def write(extra: str = "", language: str = "id") -> Path:
        path = tmp_path / "config.toml"
        path.write_text(BASE_CONFIG.format(language=language) + "\n" + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def config_path(write_config: Callable[..., Path]) -> Path:
    return write_config()


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture
def engine(config: Config) -> Engine:
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
