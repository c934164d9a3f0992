"""The inbox folder: export files dropped there are imported once and moved out of the way.

- A file still being written waits: it is taken only when its size and modification time did not
  change since the previous pass, or it has not been touched for SETTLE_SECONDS.
- A file is imported once by content hash (imported_files), even if copied in twice.
- Imported (also in part) -> `processed/`; rejected whole -> `failed/` with `<name>.why.txt` beside it.
- The move happens after the import committed; a kill between the two is healed by the next pass,
  which finds the hash already imported and just moves the file.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from monitor.config import Config

if TYPE_CHECKING:
    from monitor.ingest import FileResult

log = logging.getLogger(__name__)

SETTLE_SECONDS = 10.0
PROCESSED, FAILED = "processed", "failed"


@dataclass
class InboxPass:
    imported: list[Path] = field(default_factory=list)  # moved to processed/ (ok, partial or duplicate)
    failed: list[Path] = field(default_factory=list)  # moved to failed/
    waiting: list[Path] = field(default_factory=list)  # still being written
    rejected_rows: int = 0
    outcomes: list[FileResult] = field(default_factory=list)  # what each import did (what counted)

    @property
    def clean(self) -> bool:
        return not self.failed and not self.rejected_rows


class Inbox:
    """Remembers what each file looked like at the previous pass, to tell when writing has stopped."""

    def __init__(self, config: Config, engine: Engine, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.config = config
        self.engine = engine
        self.folder = config.sources.inbox.path
        self.settle_seconds = settle_seconds
        self._seen: dict[Path, tuple[int, int]] = {}

    def candidates(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.is_file() and not p.name.startswith((".", "~$")) and not p.name.endswith(".part")
        )

    def is_settled(self, path: Path, now: float) -> bool:
        stat = path.stat()
        shape = (stat.st_size, stat.st_mtime_ns)
        previous = self._seen.get(path)
        self._seen[path] = shape
        return previous == shape or now - stat.st_mtime >= self.settle_seconds

    def run_pass(self, should_stop: Callable[[], bool] = lambda: False) -> InboxPass:
        """Import every settled file once; a stop request ends the pass between files."""
        from monitor.ingest import ingest_file  # the importer pulls in the CSV machinery

        result = InboxPass()
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.candidates():
            if should_stop():
                break
            try:
                if not self.is_settled(path, time.time()):
                    log.info("inbox: %s is still being written; next pass", path.name)
                    result.waiting.append(path)
                    continue
                self._seen.pop(path, None)
                self._take(path, ingest_file(self.config, self.engine, path, skip_known=True), result)
            except FileNotFoundError:  # taken away by hand meanwhile: nothing to do
                log.info("inbox: %s went away while it was being handled; skipped", path.name)
        return result

    def _take(self, path: Path, outcome: FileResult, result: InboxPass) -> None:
        """Move an imported file out of the inbox, and say what happened to it."""
        if outcome.status != "already_imported":
            result.outcomes.append(outcome)
        if outcome.status == "rejected":
            target = _move(path, self.folder / FAILED)
            target.with_name(target.name + ".why.txt").write_text(outcome.message + "\n", encoding="utf-8")
            log.warning("inbox: %s rejected: %s (moved to %s/)", path.name, outcome.message, FAILED)
            result.failed.append(target)
            return
        result.imported.append(_move(path, self.folder / PROCESSED))
        result.rejected_rows += outcome.rejected_total
        if outcome.status == "already_imported":
            log.info("inbox: %s was imported before (same content); moved to %s/", path.name, PROCESSED)
            return
        c = outcome.counts
        log.info(
            "inbox: %s imported as %s: %d new, %d updated, %d unchanged, %d rejected; %s",
            path.name,
            outcome.format,
            c.new,
            c.updated,
            c.unchanged + c.older,
            outcome.rejected_total,
            outcome.counted,
        )
        if outcome.warning:
            log.warning("inbox: %s: %s", path.name, outcome.warning)


def _move(path: Path, folder: Path) -> Path:
    """Move without overwriting: a second file of the same name gets a time stamp."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    return path.rename(target)
