"""Transient faults are not poison: a full disk (or a database that fails) spends no attempts.

The disk fills for real on SQLite, and PostgreSQL raises its own disk_full (support/disk.py).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from listserv.inbound.ingest import make_receive
from listserv.mail.addresses import parse_recipient
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import db
from listserv.store.faults import is_resource_failure
from listserv.store.schema import Inbound, InboundStatus, Outbound
from listserv.work import Work
from listserv.worker.process import Worker
from support.clock import TestClock
from support.disk import FullDisk, fillable_database, mounted_tmpfs
from support.mail import make_post

ROUND = timedelta(seconds=3)  # longer than any pause below (fault_backoff_seconds=2)
MEMBERS = ["alice@example.com"] + [f"member{i}@example.org" for i in range(3000)]  # ~0.5 MB of deliveries to plan


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "small"
    with mounted_tmpfs(root) as problem:
        if problem:
            pytest.skip(problem)
        yield root


@pytest.fixture
def faulty(settings: Settings, make_list, tmp_path: Path) -> Iterator[tuple[Settings, FullDisk]]:
    """Settings whose database (with the list team@) can be made to fail as a full disk does."""
    make_list("team", members=MEMBERS)
    with fillable_database(settings, tmp_path) as made:
        yield made


def inbound_row(work: Work) -> Inbound:
    with work.sessions() as session:
        return session.scalars(select(Inbound)).one()


def test_a_full_disk_spends_no_attempts_and_the_node_gives_its_claim_back_without_a_restart(
    faulty, clock: TestClock, caplog
):
    settings, disk = faulty
    engine = db.open_engine(settings.database_url)
    work = Work(db.sessions(engine), settings, Templates(""), clock)
    address = "team@lists.example.test"
    receive = make_receive(work.sessions, settings.max_message_size, clock)
    assert receive(make_post(), parse_recipient(address, {address}), "alice@example.com", address)
    worker = Worker(work)
    caplog.set_level(logging.INFO, logger="listserv")

    disk.fail_processing()  # accepted just before the disk filled
    for _ in range(settings.max_tries + 2):
        assert worker.process_next() is False
        assert "holding inbound=" in caplog.text, "the claim was not taken, so nothing was tried"
        clock.advance(ROUND)
    row = inbound_row(work)
    assert row.status == InboundStatus.RECEIVED and row.attempts <= 1, "a full disk spent attempts"
    assert "processing paused" in caplog.text and "no space left" in caplog.text.lower()

    disk.fail_everything()  # now giving the claim back cannot be written either
    assert worker.process_next() is False
    clock.advance(ROUND)
    assert worker.process_next() is False
    assert "without spending its attempt" in caplog.text

    disk.heal()
    clock.advance(ROUND)  # far less than lease_seconds: no lease expires, no restart
    assert worker.process_next() is True
    row = inbound_row(work)
    assert row.status == InboundStatus.DONE and row.attempts == 1 and row.error == ""
    with work.sessions() as session:
        assert session.scalars(select(Outbound)).first() is not None
    assert f"gave back inbound={row.id}" in caplog.text
    engine.dispose()


def test_only_the_database_and_the_disk_failing_count_as_resource_failures(small_filesystem, tmp_path):
    path = small_filesystem / "full.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (b BLOB)")
    connection.commit()
    with open(small_filesystem / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * (1 << 20))
                filler.flush()
        except OSError:
            pass
    with pytest.raises(sqlite3.OperationalError) as full:
        connection.execute("INSERT INTO t VALUES (?)", (b"x" * (1 << 20),))
        connection.commit()
    connection.close()
    assert "full" in str(full.value) and is_resource_failure(full.value)

    refused = pytest.importorskip("psycopg")
    with pytest.raises(refused.OperationalError) as down:
        refused.connect("postgresql://postgres@127.0.0.1:1/test", connect_timeout=5)
    assert is_resource_failure(down.value)

    same = sqlite3.connect(tmp_path / "fine.db")
    same.execute("CREATE TABLE u (k INTEGER PRIMARY KEY)")
    same.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        same.execute("INSERT INTO u VALUES (1)")
    same.close()
    assert not is_resource_failure(duplicate.value)
    assert not is_resource_failure(IntegrityError("INSERT", {}, duplicate.value))
    assert not is_resource_failure(ValueError("a message the parser could not read"))
    assert is_resource_failure(OSError(errno.ENOSPC, "No space left on device"))
