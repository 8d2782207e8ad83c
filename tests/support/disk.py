"""A disk that fills up, for tests of transient faults.

On SQLite the disk really fills: the database lives on a small tmpfs (`mounted_tmpfs`) and a
filler file takes the rest. On PostgreSQL the real server raises its own disk-full error
(SQLSTATE 53100) from a trigger on the tables that processing (or the bookkeeping) writes.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from listserv.settings import Settings
from listserv.store import db


@contextmanager
def mounted_tmpfs(root: Path, size: str = "20m") -> Iterator[str]:
    """Mount a tmpfs of SIZE at ROOT; yields "" or, when it cannot be mounted, why not."""
    root.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        yield f"cannot mount a {size} tmpfs to fill (needs root): {mounted.stderr.decode().strip()}"
        return
    try:
        yield ""
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


class FullDisk:
    """The fault, three ways: processing cannot write; nothing can be written; healed."""

    def fail_processing(self) -> None: ...
    def fail_everything(self) -> None: ...
    def heal(self) -> None: ...


class SmallFilesystem(FullDisk):
    """A 20 MB tmpfs holding the SQLite database, and a filler file that takes the rest."""

    def __init__(self, root: Path, engine: Engine) -> None:
        self.root, self.engine, self.filler = root, engine, root / "filler"

    def _checkpoint(self) -> None:
        """Empty the WAL file: SQLite reuses its space, and a write must then grow it."""
        for _ in range(200):  # a running engine's readers may hold the WAL for a moment
            raw = self.engine.raw_connection()
            try:
                busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                raw.close()
            if busy == 0:
                return
            time.sleep(0.05)
        raise AssertionError("the WAL could not be checkpointed")

    def _fill(self, leave: int) -> None:
        with open(self.filler, "ab") as handle:
            try:
                while True:
                    free = _free_bytes(self.root)
                    if free <= leave:
                        break
                    handle.write(b"\0" * min(1 << 20, max(free - leave, 4096)))
                    handle.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC

    def fail_processing(self) -> None:
        self._checkpoint()
        self._fill(leave=96 * 1024)  # room for a claim, not for planning 3,000 deliveries

    def fail_everything(self) -> None:
        self.heal()  # the checkpoint may need room: the engine's jobs can have used the last bytes
        self._checkpoint()
        self._fill(leave=0)

    def heal(self) -> None:
        self.filler.unlink(missing_ok=True)


class FullTablespace(FullDisk):
    """PostgreSQL raising disk_full (53100), as it does when it cannot extend a table's file."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as connection:
            connection.execute(text(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; "
                "END $$"
            ))  # fmt: skip

    def _fail(self, table: str, event: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(f"CREATE TRIGGER full_{table} BEFORE {event} ON {table} "
                                    "FOR EACH ROW EXECUTE FUNCTION disk_full()"))  # fmt: skip

    def fail_processing(self) -> None:
        self._fail("outbound", "INSERT")

    def fail_everything(self) -> None:
        for table in ("inbound", "batches", "deliveries"):
            self._fail(table, "UPDATE")

    def heal(self) -> None:
        with self.engine.begin() as connection:
            for table in ("outbound", "inbound", "batches", "deliveries"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS full_{table} ON {table}"))


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@contextmanager
def fillable_database(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, FullDisk]]:
    """SETTINGS with their (migrated, filled in) database where a full disk can be made: the SQLite
    file copied onto a small tmpfs, or the PostgreSQL schema as it is. Skips if it cannot mount."""
    settings = replace(settings, lease_seconds=3600, fault_backoff_seconds=2)
    if settings.database_url.startswith("postgresql"):
        engine = db.open_engine(settings.database_url)
        yield settings, FullTablespace(engine)
        engine.dispose()
        return
    root = tmp_path / "small"
    with mounted_tmpfs(root) as problem:
        if problem:
            pytest.skip(problem)
        path = db.sqlite_path(settings.database_url)
        assert path is not None
        source, target = sqlite3.connect(path), sqlite3.connect(root / "listserv.db")
        source.backup(target)
        source.close()
        target.close()
        settings = replace(settings, database_url=f"sqlite:///{root}/listserv.db")
        engine = db.open_engine(settings.database_url)
        try:
            yield settings, SmallFilesystem(root, engine)
        finally:
            engine.dispose()
