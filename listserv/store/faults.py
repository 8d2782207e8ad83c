"""Transient faults: the database (or the disk under it) failing, as opposed to a message failing.

A resource failure says nothing about the message being processed: disk full, a disk I/O
error, the database locked for too long, PostgreSQL unreachable, restarting or out of
connections, a connection lost mid-transaction. The worker backs off and tries again
without spending one of the message's attempts; only other errors count toward quarantine.
"""

from __future__ import annotations

import errno
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, DisconnectionError, PendingRollbackError

from listserv.store.db import database_failure

# What SQLite (and PostgreSQL, in its words) says when the resource, not the statement, fails.
RESOURCE_WORDS = re.compile(
    r"disk is full|no space left|disk i/o error|database is locked|unable to open database file"
    r"|could not (extend|write|connect)|connection (refused|failed|is (lost|closed))|server closed the connection"
    r"|terminating connection|the database system is|too many clients|out of memory|timeout expired",
    re.IGNORECASE,
)
RESOURCE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM, errno.EMFILE, errno.ENFILE})
FIRST_BACKOFF = timedelta(seconds=1)


def is_resource_failure(error: BaseException) -> bool:
    """True when ERROR (or what caused it) is the database or the disk failing."""
    seen: BaseException | None = error
    for _ in range(5):  # the error, and a few of its causes
        if seen is None:
            return False
        if _resource(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _resource(error: BaseException) -> bool:
    if isinstance(error, DisconnectionError):
        return True
    if isinstance(error, PendingRollbackError):  # the connection was lost in an earlier statement
        return "can't reconnect" in str(error).lower()
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or (error.orig is not None and _resource(error.orig))
    if isinstance(error, OSError):
        return error.errno in RESOURCE_ERRNOS or isinstance(error, ConnectionError)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
        return True  # PostgreSQL down, restarting, disk full, connection lost, serialisation failure
    if isinstance(error, sqlite3.Error):
        return bool(RESOURCE_WORDS.search(str(error)))
    return False


CONFLICT_STATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_conflict(error: BaseException) -> bool:
    """True when PostgreSQL rolled the transaction back to break a deadlock or a serialisation
    conflict with another node: nothing was written, and running the same step again is right."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) in CONFLICT_STATES:
            return True
        orig = getattr(seen, "orig", None)
        if orig is not None and getattr(orig, "sqlstate", None) in CONFLICT_STATES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def describe_failure(error: BaseException, url: str = "") -> str:
    """One line for the log: what failed (the database named as in URL, without its password) and what to do."""
    explained = database_failure(error, url)
    return str(explained) if explained is not None else f"{type(error).__name__}: {error}"


@dataclass
class Backoff:
    """While the database fails: wait 1 s, then twice as long each time, up to `longest`."""

    longest: timedelta
    failures: int = 0
    resume_at: datetime | None = field(default=None)

    def waiting(self, now: datetime) -> bool:
        return self.resume_at is not None and now < self.resume_at

    def failed(self, now: datetime) -> timedelta:
        delay = min(FIRST_BACKOFF * (1 << min(self.failures, 30)), self.longest)
        self.failures += 1
        self.resume_at = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.resume_at = 0, None
