"""config.toml: defaults, paths relative to the file, and one clear error per mistake (exit 2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_and_relative_paths(config_path: Path, database: str) -> None:
    cfg = load_config(config_path)
    base = config_path.parent
    assert cfg.campaign.start == dt.date(2022, 9, 19) and cfg.campaign.end == dt.date(2022, 10, 31)
    assert cfg.campaign.tracked_hashtags == {"weloveprobolinggo", "welovecities"}
    assert cfg.campaign.hashtags == ("WeLoveProbolinggo", "welovecities")
    if database.startswith("sqlite"):  # a relative SQLite path is relative to the config's folder
        assert cfg.storage.url == f"sqlite:///{base / 'data/monitor.db'}"
    else:  # a server URL is kept as written
        assert cfg.storage.url == database
    assert cfg.reports.out_dir == base / "out"
    assert cfg.reports.daily_at == dt.time(23, 30)
    assert cfg.reminders.at == dt.time(7, 0) and cfg.reminders.channels == ("log",)
    assert cfg.sources.inbox.path == base / "data/inbox" and cfg.sources.inbox.every_minutes == 5
    assert not cfg.sources.twitter.enabled and cfg.sources.twitter.api_base == "https://api.x.com"
    assert cfg.roster.path == base / "roster.csv"
    assert cfg.logging.file is None and cfg.formats == ()


def test_repo_config_and_starter_load() -> None:
    repo = load_config(REPO / "config.toml")
    assert repo.campaign.city == "Probolinggo" and repo.campaign.timezone == "Asia/Jakarta"
    assert (REPO / "config.toml").read_text() == (REPO / "monitor/templates/config.toml").read_text()


def test_custom_format_section(write_config) -> None:
    path = write_config(
        '[[formats]]\nname = "kim-sheet"\nplatform = "instagram"\nid = "Link"\ntime = "Tanggal"\n'
        'time_format = "%d/%m/%Y %H:%M"\nlikes = "Suka"\n'
    )
    (fmt,) = load_config(path).formats
    assert (fmt.name, fmt.platform, fmt.id, fmt.time_format, fmt.likes, fmt.shares) == (
        "kim-sheet",
        "instagram",
        "Link",
        "%d/%m/%Y %H:%M",
        "Suka",
        "",
    )


@pytest.mark.parametrize(
    ("replace", "extra", "key", "words"),
    [
        (("start = 2022-09-19", "start = 2022-13-01"), "", "line 4", "not valid TOML"),
        (("start = 2022-09-19", 'start = "19/09/2022"'), "", "[campaign] start", "YYYY-MM-DD"),
        (("end = 2022-10-31", "end = 2022-09-01"), "", "[campaign] end", "before"),
        (('timezone = "Asia/Jakarta"', 'timezone = "Asia/Probolinggo"'), "", "[campaign] timezone", "IANA"),
        (('timezone = "Asia/Jakarta"', 'timezone = "Asia"'), "", "[campaign] timezone", "IANA"),
        (('hashtags = ["WeLoveProbolinggo", "#welovecities"]', "hashtags = []"), "", "hashtags", "empty"),
        (("city =", "citty ="), "", "[campaign] citty", "did you mean 'city'"),
        (None, '[reminders]\nat = "7am"\n', "[reminders] at", "HH:MM"),
        (None, '[reminders]\nchannels = ["sms"]\n', "[reminders] channels", "unknown channel"),
        (None, '[reminders]\ntemplate = "Hari {day} {kota}"\n', "[reminders] template", "{kota}"),
        (None, '[reminders]\ntemplate = "Hari {day:%d}"\n', "[reminders] template", "cannot be filled in"),
        (None, '[reminders]\ntemplate = "Hari {city:d}"\n', "[reminders] template", "cannot be filled in"),
        (None, "[sources.inbox]\nevery_minutes = 0\n", "every_minutes", "from 0.01 to 10080"),
        (None, "[sources.facebook]\nenabled = true\n", "pages", "is empty"),
        (None, '[sources.threads]\nsearch_mode = "HASHTAG"\n', "[sources.threads] search_mode", "TAG"),
        (None, "[sources.threads]\ndaily_queries = 0\n", "daily_queries", "from 1 to"),
        (
            None,
            '[[formats]]\nname = "zeeschuimer"\nplatform = "tiktok"\nid = "a"\ntime = "b"\n',
            "name",
            "a built-in JSON format",
        ),
        (None, "[unknown]\n", "unknown", "unknown key"),
    ],
)
def test_config_errors_name_the_key(write_config, replace, extra, key, words) -> None:
    path = write_config(extra)
    if replace:
        path.write_text(path.read_text().replace(*replace))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert key in str(err.value) and words in str(err.value)
    assert str(path) in str(err.value)


def test_bad_config_exits_2_with_one_line(write_config) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('timezone = "Asia/Jakarta"', 'timezone = "WIB"'))
    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert "unknown time zone 'WIB'" in result.output and "Traceback" not in result.output


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 2 and "campaign-monitor init" in result.output


def test_config_from_environment(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_MONITOR_CONFIG", str(config_path))
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert "We Love Cities 2022" in result.output


def test_init_writes_a_loadable_starter(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "kota")])
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "kota" / "config.toml")
    assert cfg.sources.inbox.path.is_dir() and cfg.reports.out_dir.is_dir()
    again = CliRunner().invoke(main, ["init", str(tmp_path / "kota")])
    assert "already exists" in again.output


def test_changing_the_time_zone_of_a_used_database_is_refused(config_path: Path) -> None:
    assert CliRunner().invoke(main, ["--config", str(config_path), "status"]).exit_code == 0
    config_path.write_text(config_path.read_text().replace("Asia/Jakarta", "Asia/Makassar"))
    result = CliRunner().invoke(main, ["--config", str(config_path), "status"])
    assert result.exit_code == 2
    assert "computed in 'Asia/Jakarta'" in result.output and "new database" in result.output
