"""Failures of the machine around us (a full disk, a read-only database, a file where a folder
belongs, a storage URL that cannot work) as one line that says what failed and what to do.

The CLI turns any OSError or database error that reaches it into `describe(exc)` and exit status 1
(done in part: what was committed before stays); storage URL problems are found before the database
is opened and raised as ConfigError (exit 2). Library callers can use `describe` the same way.
"""

from __future__ import annotations

import errno
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, SQLAlchemyError

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.redaction import printable, redact

SQLITE_MAGIC = b"SQLite format 3\x00"
# The package to install for a database driver module SQLAlchemy could not import.
DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "asyncpg": "asyncpg",
    "pg8000": "pg8000",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "pyodbc": "pyodbc",
    "oracledb": "oracledb",
    "cx_Oracle": "oracledb",
}


def describe(exc: BaseException) -> str | None:
    """One line for an OSError or a database error; None for anything else (a bug: let it show)."""
    if isinstance(exc, OSError):
        return _os_line(exc)
    if isinstance(exc, DatabaseError):
        return _database_line(exc)
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {_first_line(exc)}"
    return None


def _os_line(exc: OSError) -> str:
    where = printable(exc.filename) if exc.filename else "a file"
    if exc.filename2:
        where += f" -> {printable(exc.filename2)}"
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (
            f"{where}: the disk is full ({exc.strerror}); free some space and run the command again "
            "(what was stored before is kept)"
        )
    if code == errno.EROFS:
        return f"{where}: the file system is read-only; point the config at a writable folder"
    if code in (errno.EACCES, errno.EPERM):
        return f"{where}: permission denied; give this user access to it, or choose another path"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"{where}: a file stands where a folder is needed; move it away or choose another path"
    if code == errno.EISDIR:
        return f"{where}: is a folder where a file is needed; choose a file path"
    if code == errno.ENOENT:
        return f"{where}: no such file or folder"
    return f"{where}: {exc.strerror or exc}"


def _database_line(exc: DatabaseError) -> str:
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "full" in text:
        return (
            "the database's disk is full (database or disk is full); free some space and run the "
            "command again (what was committed before is kept)"
        )
    if "readonly" in text or "read-only" in text or "read only" in text:
        return (
            "the database is read-only (attempt to write a readonly database); make the database file "
            "and its folder writable for this user, or point [storage] url at a writable copy"
        )
    if "unable to open database file" in text:
        return (
            "cannot open the database file (unable to open database file); check that its folder "
            "exists and is writable, and [storage] url"
        )
    if "locked" in text or "busy" in text:
        return "the database stayed locked by another process (database is locked); try again shortly"
    if "not a database" in text:
        return "the database file is not a database; point [storage] url at the right file"
    if "disk i/o error" in text:
        return "the disk failed while writing the database (disk I/O error); check the disk and try again"
    return f"database error: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


# ---------------------------------------------------------------------------------------------------------
# [storage] url


def storage_url(config: Config) -> URL:
    """The parsed [storage] url; ConfigError when it is not a URL, or a SQLite URL that points at a
    folder, under a file, or at a file that is not a SQLite database."""
    try:
        url = make_url(config.storage.url)
    except ArgumentError:
        raise ConfigError(
            config.path,
            "storage.url",
            "is not a database URL",
            'write it as "sqlite:///data/monitor.db" or "postgresql+psycopg://user@host/dbname"',
        ) from None
    database = url.database
    if (
        url.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        _check_sqlite_path(config, Path(database))
    return url


def _check_sqlite_path(config: Config, path: Path) -> None:
    if path.is_dir():
        raise ConfigError(
            config.path,
            "storage.url",
            f"{path} is a folder, not a database file",
            f'name a file inside it, e.g. "sqlite:///{path / "monitor.db"}"',
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    config.path,
                    "storage.url",
                    f"{parent} is a file, so the database {path.name} cannot be created under it",
                    "choose a database path in a folder",
                )
            break
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise ConfigError(
                config.path,
                "storage.url",
                f"{path} is not a SQLite database",
                "point it at the campaign database, or at a new file name to start one",
            )


def open_storage(config: Config) -> Engine:
    """The engine for [storage] url, every foreseeable problem as a ConfigError naming the key."""
    from monitor.db import open_engine

    url = storage_url(config)
    try:
        return open_engine(config.storage.url)
    except NoSuchModuleError:
        raise ConfigError(
            config.path,
            "storage.url",
            f"unknown kind of database {url.drivername!r}",
            'use "sqlite:///..." or "postgresql+psycopg://..."',
        ) from None
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        package = DRIVER_PACKAGES.get(module, module or "the database driver")
        raise ConfigError(
            config.path,
            "storage.url",
            f"the driver for {url.drivername!r} is not installed (no module {module!r})",
            f"install it: pip install '{package}'",
        ) from None
    except DatabaseError as exc:
        if "not a database" in str(exc.orig).lower():
            raise ConfigError(
                config.path,
                "storage.url",
                f"{url.database} is not a SQLite database",
                "point it at the campaign database, or at a new file name to start one",
            ) from None
        raise
