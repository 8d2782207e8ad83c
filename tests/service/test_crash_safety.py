"""Kill -9 the real server during fan-out and intake; restart; nothing accepted is lost."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import pytest

from listserv.store import admin, db
from support.clock import DEFAULT_START as NOW
from support.mail import lmtp_send, make_post
from support.process import ServeProcess, kill_during_fanout

MEMBERS = [f"member{i:04d}@example.com" for i in range(1000)]


def import_members(settings, address: str, members: list[str]) -> None:
    engine = db.open_engine(settings.database_url)
    with db.sessions(engine)() as session, session.begin():
        list_id = admin.get_list(session, address).id
        admin.insert_members(session, list_id, [(m, "") for m in members], NOW)
    engine.dispose()


@pytest.fixture
def crash_settings(settings):
    return replace(settings, batch_size=20, connections=2, lease_seconds=2)


def test_a_server_killed_mid_fanout_finishes_after_restart_with_bounded_duplicates(
    crash_settings, sink, make_list, tmp_path
):
    address = make_list("team")
    import_members(crash_settings, address, MEMBERS)
    deliveries = kill_during_fanout(crash_settings, sink, address, MEMBERS, tmp_path / "serve.log", 0.05, 100)
    counts = Counter(rcpt for rcpt, _ in deliveries)
    assert set(counts) == set(MEMBERS[1:])
    duplicates = sum(n - 1 for n in counts.values())
    # at most one batch (one SMTP transaction) in flight per connection when killed
    assert duplicates <= crash_settings.batch_size * crash_settings.connections, duplicates


def test_every_post_answered_250_before_a_kill_is_distributed_after_restart(crash_settings, sink, make_list, tmp_path):
    address = make_list("team", members=["a@example.com", "b@example.com"])
    sink.handler.data_delay = 0.2
    server = ServeProcess(crash_settings, tmp_path / "serve.log").start()
    accepted = []
    try:
        for index in range(20):
            post = make_post("a@example.com", to=address, msgid=f"<crash{index}@example.com>")
            if lmtp_send(server.lmtp, "a@example.com", [address], post)[address].startswith("250"):
                accepted.append(f"<crash{index}@example.com>")
        server.kill()
        sink.handler.data_delay = 0
        server.start()
        deadline = time.monotonic() + 90
        while received_ids(sink) != set(accepted) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    assert len(accepted) == 20
    assert received_ids(sink) == set(accepted)


def received_ids(sink) -> set[str]:
    return {
        line.split(b": ", 1)[1].strip().decode()
        for _, data in sink.deliveries()
        for line in data.split(b"\r\n")
        if line.lower().startswith(b"message-id:")
    }
