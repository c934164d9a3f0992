"""Every platform is a platform everywhere: keys, config, roster, report colours, demo samples."""

from __future__ import annotations

from collectors.csv_formats import KEY_READERS
from monitor import config, records, roster
from reports.palette import OTHER_COLOUR, PLATFORM_COLOURS


def test_the_five_platforms_are_known_everywhere() -> None:
    assert records.PLATFORMS == ("facebook", "instagram", "twitter", "tiktok", "threads")
    assert set(config.PLATFORMS) == set(records.PLATFORMS)  # [[formats]] platform = ...
    assert set(roster.PLATFORMS) == set(records.PLATFORMS)  # roster account columns
    assert set(roster.PLATFORM_TITLES) == set(records.PLATFORMS)
    assert set(KEY_READERS) == set(records.PLATFORMS)
    assert all(p in roster.HEADER.split(",") for p in records.PLATFORMS)


def test_each_platform_has_its_own_chart_colour() -> None:
    colours = [PLATFORM_COLOURS[p] for p in records.PLATFORMS]
    assert len(set(colours)) == len(colours)
    assert OTHER_COLOUR not in colours
