"""The inbox folder: export files dropped there are imported once, when complete, and moved away.

When a file is complete (docs/deployment.md, "How the inbox decides a file is complete"):
- Nothing about it changed for `settle_seconds` ([sources.inbox] settle_seconds, default 60): neither
  its modification time nor its status-change time (ctime, which the kernel sets on every write,
  rename or time-stamp change, so a copier that restores the original mtime cannot fake it).
- If an earlier pass saw it, its size, mtime and ctime are the same as then.
- It did not change while it was read: size, mtime and ctime are compared before and after the
  import; a file that changed stays in the inbox and is read again once it settles (the rows already
  stored are upserted again, so nothing is doubled).
- A file that changes after it was moved to `processed/` (an in-place writer that paused longer than
  the settle time, then went on writing into the moved file) is imported again from there, for an
  hour after the move; what to watch is kept in `.campaign-monitor-inbox.json`, so cron passes
  (`collect --source inbox`) see it too.

What the inbox takes:
- Regular files only. Temporary names (`~$*`, `*.part`, `*.crdownload`, `*.tmp`, ...) and hidden files
  are ignored; a symbolic link is never followed (it could point out of the inbox, at a secret); a
  folder, a FIFO or a file that cannot be read is skipped with one log line saying why, and every
  other file is still imported on the same pass.
- A file is imported once by content hash (imported_files), even if copied in twice.
- Imported (also in part) -> `processed/`; rejected whole -> `failed/` with `<name>.why.txt` beside it.
  The reason never quotes the file's content.
- The move happens after the import committed; a kill between the two is healed by the next pass,
  which finds the hash already imported and just moves the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.redaction import printable, scrub

if TYPE_CHECKING:
    from monitor.ingest import FileResult

log = logging.getLogger(__name__)

SETTLE_SECONDS = 60.0
WATCH_SECONDS = 3600.0  # how long a moved file is watched for writes that continued after the move
PROCESSED, FAILED = "processed", "failed"
STATE_FILE = ".campaign-monitor-inbox.json"
# Names office tools, browsers and copy programs give a file while it is being written.
TEMP_PREFIXES = (".", "~$", "~")
TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", "~", ".filepart")

Shape = tuple[int, int, int]  # size, mtime_ns, ctime_ns


def is_temporary_name(name: str) -> bool:
    """True for hidden files and the names files have while a program is still writing them."""
    lowered = name.casefold()
    return lowered.startswith(TEMP_PREFIXES) or lowered.endswith(TEMP_SUFFIXES)


def shape_of(st: os.stat_result) -> Shape:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass
class InboxPass:
    imported: list[Path] = field(default_factory=list)  # moved to processed/ (ok, partial or duplicate)
    failed: list[Path] = field(default_factory=list)  # moved to failed/
    waiting: list[Path] = field(default_factory=list)  # still being written
    skipped: list[Path] = field(default_factory=list)  # links, folders, unreadable files: left in place
    reimported: list[Path] = field(default_factory=list)  # files in processed/ that changed after the move
    rejected_rows: int = 0
    outcomes: list[FileResult] = field(default_factory=list)  # what each import did (what counted)

    @property
    def clean(self) -> bool:
        return not self.failed and not self.rejected_rows and not self.skipped


class Inbox:
    """Remembers what each file looked like at the previous pass, to tell when writing has stopped.

    `settle_seconds` (default: the config's) and `clock` (seconds since the epoch, like time.time) are
    injectable so tests need not wait."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        settle_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.engine = engine
        self.folder = config.sources.inbox.path
        self.settle_seconds = (
            config.sources.inbox.settle_seconds if settle_seconds is None else settle_seconds
        )
        self.clock = clock
        self._seen: dict[str, Shape] = {}
        self._told: set[tuple[str, str]] = set()

    # -- what is in the folder ---------------------------------------------------------------------------

    def candidates(self, result: InboxPass | None = None) -> list[Path]:
        """The regular files to consider, by name; what is skipped gets one log line (once per name)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir()):
            name = path.name
            if is_temporary_name(name) or name in (PROCESSED, FAILED):
                continue
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._skip(path, f"cannot be read ({exc.strerror})", result)
                continue
            if stat.S_ISLNK(st.st_mode):
                self._skip(
                    path,
                    "is a symbolic link; links are not followed out of the inbox: copy the file itself in",
                    result,
                )
            elif stat.S_ISDIR(st.st_mode):
                self._skip(path, "is a folder; put its export files into the inbox itself", result)
            elif not stat.S_ISREG(st.st_mode):
                self._skip(path, "is not a regular file (a pipe or a device); nothing to import", result)
            else:
                found.append(path)
        return found

    def _skip(self, path: Path, why: str, result: InboxPass | None) -> None:
        if result is not None:
            result.skipped.append(path)
        if (path.name, why) not in self._told:
            self._told.add((path.name, why))
            log.warning("inbox: %s %s; skipped", printable(path.name), why)

    def is_settled(self, path: Path, now: float) -> bool:
        """Nothing changed for settle_seconds, and nothing since the previous pass (module docstring)."""
        st = path.lstat()
        shape = shape_of(st)
        previous = self._seen.get(path.name)
        self._seen[path.name] = shape
        quiet = now - max(st.st_mtime, st.st_ctime) >= self.settle_seconds
        return quiet and (previous is None or previous == shape)

    # -- a pass --------------------------------------------------------------------------------------------

    def run_pass(self, should_stop: Callable[[], bool] = lambda: False) -> InboxPass:
        """Import every complete file once; a stop request ends the pass between files."""
        result = InboxPass()
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(
                self.config.path,
                "sources.inbox.path",
                f"{self.folder} is a file, not a folder",
                "point it at a folder (it is created when missing), or move the file away",
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        self._recheck_moved(state, result, should_stop)
        for path in self.candidates(result):
            if should_stop():
                break
            try:
                if not self.is_settled(path, self.clock()):
                    log.info("inbox: %s is still being written; next pass", printable(path.name))
                    result.waiting.append(path)
                    continue
                self._import(path, state, result)
            except FileNotFoundError:  # taken away by hand meanwhile: nothing to do
                log.info("inbox: %s went away while it was being handled; skipped", printable(path.name))
            except (PermissionError, IsADirectoryError) as exc:
                self._skip(path, f"cannot be read ({exc.strerror}): give this user read access", result)
        self._save_state(state)
        return result

    def _import(self, path: Path, state: dict[str, Any], result: InboxPass) -> None:
        from monitor.ingest import ingest_file, unreadable_reason  # the importer pulls in the CSV machinery

        unreadable = unreadable_reason(path)
        if unreadable:  # left in place (not failed/): once readable, the next pass takes it
            self._skip(path, unreadable, result)
            return
        before = shape_of(path.lstat())
        outcome = ingest_file(self.config, self.engine, path, skip_known=True)
        after = shape_of(path.lstat())
        if after != before:
            # Written to while we read it: what was read is stored; the whole is read once it settles.
            self._seen[path.name] = after
            log.warning(
                "inbox: %s changed while it was read; it is read again once it stops changing",
                printable(path.name),
            )
            result.waiting.append(path)
            return
        self._seen.pop(path.name, None)
        target = self._take(path, outcome, result)
        if target is not None:
            state["moved"][target.name] = [*shape_of(target.lstat()), self.clock()]

    def _recheck_moved(
        self, state: dict[str, Any], result: InboxPass, should_stop: Callable[[], bool]
    ) -> None:
        """Import again a processed file that changed after it was moved (its writer went on)."""
        from monitor.ingest import ingest_file

        now = self.clock()
        moved: dict[str, list[float]] = state["moved"]
        for name, (size, mtime_ns, ctime_ns, moved_at) in list(moved.items()):
            if should_stop():
                return
            path = self.folder / PROCESSED / name
            try:
                st = path.lstat()
            except OSError:
                del moved[name]
                continue
            shape = shape_of(st)
            if shape == (size, mtime_ns, ctime_ns):
                if now - moved_at > WATCH_SECONDS:
                    del moved[name]
                continue
            if not stat.S_ISREG(st.st_mode) or now - max(st.st_mtime, st.st_ctime) < self.settle_seconds:
                continue  # still being written: next pass
            log.warning(
                "inbox: %s changed after it was imported (its writer went on); importing it again",
                printable(name),
            )
            outcome = ingest_file(self.config, self.engine, path, skip_known=True)
            moved[name] = [*shape_of(path.lstat()), now]
            result.reimported.append(path)
            result.rejected_rows += outcome.rejected_total
            self._log_outcome(path, outcome)

    def _take(self, path: Path, outcome: FileResult, result: InboxPass) -> Path | None:
        """Move an imported file out of the inbox, and say what happened to it."""
        if outcome.status != "already_imported":
            result.outcomes.append(outcome)
        name = printable(path.name)
        if outcome.status == "rejected":
            target = _move(path, self.folder / FAILED)
            # The reason names the problem, never the content (a file may hold anything).
            reason = scrub(printable(outcome.message)) or ""
            target.with_name(target.name + ".why.txt").write_text(reason + "\n", encoding="utf-8")
            log.warning("inbox: %s rejected: %s (moved to %s/)", name, reason, FAILED)
            result.failed.append(target)
            return None
        target = _move(path, self.folder / PROCESSED)
        result.imported.append(target)
        result.rejected_rows += outcome.rejected_total
        if outcome.status == "already_imported":
            log.info("inbox: %s was imported before (same content); moved to %s/", name, PROCESSED)
        else:
            self._log_outcome(path, outcome)
        return target

    def _log_outcome(self, path: Path, outcome: FileResult) -> None:
        if outcome.status == "already_imported":
            return
        c = outcome.counts
        log.info(
            "inbox: %s imported as %s: %d new, %d updated, %d unchanged, %d rejected; %s",
            printable(path.name),
            outcome.format,
            c.new,
            c.updated,
            c.unchanged + c.older,
            outcome.rejected_total,
            outcome.counted,
        )
        if outcome.warning:
            log.warning("inbox: %s: %s", printable(path.name), outcome.warning)

    # -- what to watch, across processes ----------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
            entries = data["moved"].items()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {"moved": {}}
        moved = {
            str(name): [int(v[0]), int(v[1]), int(v[2]), float(v[3])]
            for name, v in entries
            if isinstance(v, list) and len(v) == 4 and all(isinstance(x, int | float) for x in v)
        }
        return {"moved": moved}

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.folder / STATE_FILE
        if not state["moved"] and not path.exists():
            return
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)


def _move(path: Path, folder: Path) -> Path:
    """Move without overwriting: a second file of the same name gets a time stamp."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() or target.is_symlink():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    return path.rename(target)
