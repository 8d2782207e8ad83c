"""Opening the database: durable settings, one writer at a time on SQLite, migrations."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from listserv.errors import DatabaseError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class _SerializedConnection(sqlite3.Connection):
    """A SQLite connection that holds its engine's writer lock from BEGIN to COMMIT/ROLLBACK.

    SQLite has one writer; its busy handler polls with 1-100 ms sleeps, which caps a
    busy process at a few hundred transactions a second. Threads of one process queue
    on this lock instead and are woken the moment the writer commits. Other processes
    (`listserv inject`) still meet the busy handler.
    """

    writers: threading.RLock
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
    url = normalize_url(url)
    if url.startswith("sqlite"):
        factory = type("SerializedConnection", (_SerializedConnection,), {"writers": threading.RLock()})
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
    command.upgrade(_alembic_config(engine), "heads")


def pending_migrations(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != heads


def require_current_schema(engine: Engine) -> None:
    if pending_migrations(engine):
        raise DatabaseError("the database needs migrating: run `listserv init` first")


def explain(error: OperationalError) -> DatabaseError:
    """A database failure as one line an operator can act on."""
    text = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    lower = text.lower()
    if "no such table" in lower or ("relation" in lower and "does not exist" in lower):
        return DatabaseError(f"the database has no listserv tables ({text}): run `listserv init` first")
    if "readonly" in lower or "read-only" in lower:
        return DatabaseError(f"the database is read-only ({text}): make its file and folder writable")
    if "unable to open database file" in lower:
        return DatabaseError(f"cannot open the database file ({text}): check that its folder exists and is "
                             "writable, or set database_url")  # fmt: skip
    if "connection refused" in lower or "could not connect" in lower or "connection failed" in lower:
        return DatabaseError(f"cannot reach the database ({text}): is PostgreSQL running at database_url?")
    return DatabaseError(f"database error: {text}")
