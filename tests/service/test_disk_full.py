"""The disk fills under a running server (a real 20 MB tmpfs): intake answers 452, processing waits
without spending attempts, and once there is room every accepted post reaches every member once."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from listserv.store.schema import Inbound
from support.disk import SmallFilesystem, fillable_database
from support.engine import RunningEngine
from support.mail import lmtp_send, make_post, parse

TEAM = "team@lists.example.test"
MEMBERS = ["alice@example.com"] + [f"member{i}@example.org" for i in range(3000)]


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_a_disk_that_fills_under_a_running_server_loses_and_quarantines_nothing(
    settings, make_list, sink, clock, tmp_path: Path, caplog
):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip(
            "the disk fills for real under SQLite; PostgreSQL's disk_full: tests/worker/test_resource_faults.py"
        )
    caplog.set_level(logging.INFO, logger="listserv")
    make_list("team", members=MEMBERS)
    with fillable_database(settings, tmp_path) as (settings, disk):
        assert isinstance(disk, SmallFilesystem)
        engine = disk.engine
        running = RunningEngine(settings, clock).start()
        try:
            disk.fail_processing()  # room to accept a post, not to plan its 3,000 deliveries
            assert lmtp_send(running.lmtp, "alice@example.com", [TEAM], make_post(msgid="<first@x>"))[TEAM][:3] == "250"
            wait_until(lambda: caplog.text.count("processing paused") > settings.max_tries, timeout=120)

            disk.fail_everything()
            refused = lmtp_send(running.lmtp, "alice@example.com", [TEAM], make_post(msgid="<second@x>"))
            assert refused[TEAM] == "452 4.3.1 Insufficient system storage, please retry"

            disk.heal()  # the operator frees space; the MTA sends the refused post again
            assert (
                lmtp_send(running.lmtp, "alice@example.com", [TEAM], make_post(msgid="<second@x>"))[TEAM][:3] == "250"
            )
            wait_until(lambda: len(sink.deliveries()) >= 2 * (len(MEMBERS) - 1), timeout=300)
        finally:
            running.stop()
        with engine.connect() as connection:
            rows = connection.execute(select(Inbound.status, Inbound.attempts)).all()
    assert sorted(rows) == [("done", 1), ("done", 1)], "a full disk spent attempts or quarantined mail"
    copies = Counter((rcpt, parse(data)["Message-ID"]) for rcpt, data in sink.deliveries())
    assert set(copies.values()) == {1} and len(copies) == 2 * (len(MEMBERS) - 1)
