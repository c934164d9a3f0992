"""`campaign-monitor init`: a starter config.toml and the folders it names."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def starter_config_text() -> str:
    return files("monitor").joinpath("templates/config.toml").read_text(encoding="utf-8")


def write_starter(directory: Path) -> list[Path]:
    """Create config.toml (never overwriting one) and data/inbox, out. Returns what was created."""
    directory.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    config = directory / "config.toml"
    if not config.exists():
        config.write_text(starter_config_text(), encoding="utf-8")
        created.append(config)
    for sub in ("data/inbox", "out"):
        folder = directory / sub
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(folder)
    return created
