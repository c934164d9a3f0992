"""Cleaning up after a report build that was killed: its staging folders and temporary files.

Every temporary name a build makes carries the id of the process that made it
(`.staging-<day>-p<pid>-<hex>`, `.copy-...`, `.old-...`, `.latest-p<pid>-<hex>`,
`.<file>.p<pid>.<rand>.tmp`),
so the next build can tell a leftover of a dead process from the work of a build running right now
beside it. Names from before this scheme are removed once they are an hour old.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

LEGACY_AGE_SECONDS = 3600.0
_FOLDER = re.compile(r"^\.(?:staging|copy|old|latest)-(?:.*-)?p(\d+)-[0-9a-f]{8}$")
_LEGACY_FOLDER = re.compile(r"^\.(?:staging|copy|old|latest)-.*[0-9a-f]{8}$")
_TEMP_FILE = re.compile(r"^\..+\.p(\d+)\.[A-Za-z0-9_]{8}\.tmp$")
_LEGACY_TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def temp_tag() -> str:
    """The part of a temporary name that says which process made it."""
    return f"p{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(folder: Path, now: float | None = None) -> list[Path]:
    """Remove what killed builds left in `folder`; returns what was removed."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        name = path.name
        if not name.startswith("."):
            continue
        match = _FOLDER.match(name) or _TEMP_FILE.match(name)
        if match:
            orphan = not _alive(int(match.group(1)))
        elif _LEGACY_FOLDER.match(name) or _LEGACY_TEMP_FILE.match(name):
            try:
                orphan = now - path.lstat().st_mtime > LEGACY_AGE_SECONDS
            except OSError:
                continue
        else:
            continue
        if not orphan:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d leftover(s) of an interrupted report build in %s", len(removed), folder)
    return removed
