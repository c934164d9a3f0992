"""The exceptions a user can meet. Each message says what is wrong and how to fix it.

CampaignMonitorError
 +-- ConfigError          config.toml is missing, malformed or has a bad value (exit 2)
 +-- UsageError           a command was called with arguments that cannot work (exit 2)
 +-- ExportFormatError    a file is not an export we know (the file is rejected whole)
 +-- SourceError          a platform API failed after retries (the run is recorded as failed)
      +-- RateLimited     the platform asked us to wait until reset_at
 +-- AlreadyRunning       another `run` holds the database lock
 +-- DatabaseError        the database cannot be used: unsupported, unreachable, refused, outdated (exit 2)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path


class CampaignMonitorError(Exception):
    """Base class: an expected error, printed as one line without a traceback."""


class ConfigError(CampaignMonitorError):
    def __init__(self, path: Path | str | None, key: str | None, problem: str, hint: str = "") -> None:
        self.path, self.key, self.problem, self.hint = path, key, problem, hint
        where = f"{path}" if path else "config"
        if key:
            where += f": [{key.rsplit('.', 1)[0]}] {key.rsplit('.', 1)[-1]}" if "." in key else f": {key}"
        msg = f"{where}: {problem}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class UsageError(CampaignMonitorError):
    pass


class ExportFormatError(CampaignMonitorError):
    pass


class SourceError(CampaignMonitorError):
    pass


class RateLimited(SourceError):
    def __init__(self, source: str, reset_at: dt.datetime | None, detail: str = "") -> None:
        self.source, self.reset_at = source, reset_at
        when = reset_at.isoformat(timespec="seconds") if reset_at else "an unknown time"
        super().__init__(f"{source}: rate limited until {when}{': ' + detail if detail else ''}")


class AlreadyRunning(CampaignMonitorError):
    def __init__(self, message: str, pid: str = "unknown") -> None:
        self.pid = pid
        super().__init__(message)


class DatabaseError(CampaignMonitorError):
    """The database cannot be opened or used as it is; the message names what to check."""
