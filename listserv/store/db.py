"""Opening the database: durable settings, one writer at a time on SQLite, migrations."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from listserv.errors import DatabaseError
from listserv.store.writer_lock import WriterLock

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The database as an operator recognises it, without its password: the SQLite file's
    absolute path, or the URL."""
    path = sqlite_path(url)
    if path is not None:
        return str(path.absolute())
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "database_url"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database, an in-memory one or a `file:` URI."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or "uri" in parsed.query:
        return None
    return Path(name)


def check_file(url: str, create: bool = False) -> None:
    """For a SQLite URL, refuse before connecting what would fail or leave litter: a file that is
    not there (unless CREATE, for `listserv init`), a missing folder, a file or folder we cannot write.
    SQLite writes beside its file (-wal, -shm), so the folder must be writable too."""
    path = sqlite_path(url)
    if path is None:
        return
    where = path.absolute()
    if not path.exists():
        if not create:
            raise DatabaseError(f"no database at {where}: run `listserv init` first (or set database_url)")
        if not where.parent.is_dir():
            raise DatabaseError(f"cannot create the database {where}: its folder does not exist; "
                                "create it or set database_url")  # fmt: skip
    if not os.access(where.parent, os.W_OK | os.X_OK):
        raise DatabaseError(f"the database folder {where.parent} is read-only: make it writable for this user "
                            "(SQLite writes its journal beside the file), or set database_url")  # fmt: skip
    if path.exists() and not os.access(where, os.R_OK | os.W_OK):
        raise DatabaseError(f"the database {where} is read-only: make the file writable for this user")


class _SerializedConnection(sqlite3.Connection):
    """A SQLite connection that holds its engine's writer lock (store/writer_lock.py) from BEGIN
    to COMMIT/ROLLBACK."""

    writers: WriterLock
    holding = False

    def acquire(self) -> None:
        self.writers.acquire()
        self.holding = True

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            self.writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()


def open_engine(url: str) -> Engine:
    """An engine for URL (nothing is connected yet); DatabaseError if it cannot be made."""
    try:
        return _create_engine(normalize_url(url))
    except (ArgumentError, ImportError) as error:  # a malformed URL, an unknown or missing driver
        raise DatabaseError(f"cannot use database_url {describe(url)} ({error}): give sqlite:///PATH "
                            "or postgresql://USER@HOST:PORT/NAME") from None  # fmt: skip


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        writers = WriterLock(sqlite_path(url))
        factory = type("SerializedConnection", (_SerializedConnection,), {"writers": writers})
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30, "factory": factory})
        _make_sqlite_durable(engine)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


def _make_sqlite_durable(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.connection.dbapi_connection.acquire()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # one writer; no upgrade deadlocks
        except BaseException:
            connection.connection.dbapi_connection.rollback()
            raise


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_durability(engine: Engine) -> None:
    """Refuse a PostgreSQL server that could lose committed mail."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        fsync = connection.execute(text("SHOW fsync")).scalar()
        commit = connection.execute(text("SHOW synchronous_commit")).scalar()
    if fsync != "on" or commit not in ("on", "remote_write", "remote_apply"):
        raise DatabaseError(
            f"PostgreSQL must run with fsync=on and synchronous_commit=on "
            f"(has fsync={fsync}, synchronous_commit={commit}): accepted mail could be lost"
        )


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revisions (idempotent).

    Each feature's migrations form a branch from the core revision, so there may be
    several heads; all of them are applied.
    """
    config = _alembic_config(engine)
    _refuse_unknown_revisions(engine, ScriptDirectory.from_config(config))
    command.upgrade(config, "heads")


def _current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _refuse_unknown_revisions(engine: Engine, scripts: ScriptDirectory) -> set[str]:
    """The database's revisions; DatabaseError if a newer listserv migrated it."""
    current = _current_revisions(engine)
    unknown = current - {script.revision for script in scripts.walk_revisions()}
    if unknown:
        raise DatabaseError(
            f"the database {describe(engine.url.render_as_string(hide_password=False))} was migrated by a newer "
            f"listserv (revision {', '.join(sorted(unknown))}): run that version, or restore a backup"
        )
    return current


def pending_migrations(engine: Engine) -> bool:
    scripts = ScriptDirectory.from_config(_alembic_config(engine))
    return _refuse_unknown_revisions(engine, scripts) != set(scripts.get_heads())


def require_current_schema(engine: Engine) -> None:
    """DatabaseError unless the schema is at the newest revisions: every command but `init` needs that."""
    scripts = ScriptDirectory.from_config(_alembic_config(engine))
    current = _refuse_unknown_revisions(engine, scripts)
    if current == set(scripts.get_heads()):
        return
    name = describe(engine.url.render_as_string(hide_password=False))
    if not current:
        raise DatabaseError(f"the database {name} has no listserv tables: run `listserv init` first")
    raise DatabaseError(f"the database {name} needs migrating: run `listserv init` first")


# What a database failure means, by its first line (the first pattern that matches), and what to do.
ADVICE = (
    (r'database ".*" does not exist', "the database {name} does not exist ({reason}): create it, or fix database_url"),
    (r'role ".*" does not exist|password authentication failed|no password supplied|authentication failed',
     "PostgreSQL refused the login to {name} ({reason}): check the user and password in database_url"),
    (r'no such (table|column)|(relation|column) ".*" does not exist',
     "the database {name} lacks listserv tables ({reason}): run `listserv init` first"),
    (r"readonly database",
     "the database {name} is read-only ({reason}): make the file and its folder writable for this user"),
    (r"read-only transaction|recovery is in progress",
     "the database {name} takes no writes ({reason}): point database_url at the primary server"),
    (r"unable to open database file",
     "cannot open the database file {name} ({reason}): check that its folder exists and is writable"),
    (r"not a database", "{name} is not a SQLite database ({reason}): check database_url"),
    (r"database is locked", "the database {name} stayed locked by another process ({reason}): try again"),
    (r"disk is full|no space left", "no space left for the database {name} ({reason}): free some disk space"),
    (r"connection refused|could not connect|connection failed|resolve host|translate host|timeout expired|timed out"
     r"|server closed the connection|terminating connection|network is unreachable|no route to host"
     r"|connection is (lost|closed)",
     "cannot reach the database {name} ({reason}): check that PostgreSQL is running there and that "
     "database_url names the right host and port"),
)  # fmt: skip
MEANINGS = tuple((re.compile(pattern, re.IGNORECASE), advice) for pattern, advice in ADVICE)


def explain(error: BaseException, url: str = "") -> DatabaseError:
    """A database failure (SQLAlchemy's or the driver's) as one line an operator can act on."""
    return _meaning(error, url) or DatabaseError(f"the database {_name(url)} failed: {_reason(error)}")


def database_failure(error: BaseException, url: str = "") -> DatabaseError | None:
    """The one line for ERROR if it is the database failing (unreachable, refused, read-only,
    missing tables), from SQLAlchemy or straight from sqlite3 or psycopg; None for anything else,
    such as a constraint violated by a bug, which deserves its traceback."""
    if isinstance(error, (OperationalError, InterfaceError)) or _driver_failure(error):
        return explain(error, url)
    if isinstance(error, DBAPIError) or isinstance(error, sqlite3.DatabaseError) or _driver_error(error):
        return _meaning(error, url)
    return None


def _driver_failure(error: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")
    failures: tuple[type[BaseException], ...] = (sqlite3.OperationalError, sqlite3.InterfaceError)
    if psycopg is not None:
        failures += (psycopg.OperationalError, psycopg.InterfaceError)
    return isinstance(error, failures)


def _driver_error(error: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, psycopg.Error)


def _meaning(error: BaseException, url: str) -> DatabaseError | None:
    reason = _reason(error)
    for pattern, advice in MEANINGS:
        if pattern.search(reason):
            return DatabaseError(advice.format(name=_name(url), reason=reason))
    return None


def _reason(error: BaseException) -> str:
    """The first line of what the driver said."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return lines[0].strip() if lines else type(cause).__name__


def _name(url: str) -> str:
    return describe(url) if url else "at database_url"
