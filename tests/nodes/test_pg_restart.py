"""PostgreSQL stopped and started again under two running nodes (a private cluster, never the
shared server): intake answers 4xx while it is down, and the nodes recover alone, with
nothing lost and nothing sent twice."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from test_multinode import (
    FAST_NODES,
    check_stored_once,
    delivered,
    expected_pairs,
    send_until_accepted,
    wait_for_all,
)

from listserv.settings import Settings
from listserv.store import admin, db
from support.clock import TestClock
from support.mail import lmtp_send, make_post
from support.pgcluster import PgCluster, available
from support.process import ServeProcess


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    if not os.environ.get("LISTSERV_TEST_PG_URL"):
        pytest.skip("multi-node tests run with PostgreSQL (set LISTSERV_TEST_PG_URL)")
    if why := available():
        pytest.skip(why)
    running = PgCluster().init()
    yield running
    running.destroy()


def make_team(settings: Settings, members: list[str], clock: TestClock) -> str:
    engine = db.open_engine(settings.database_url)
    db.upgrade(engine)
    with db.sessions(engine)() as session, session.begin():
        row = admin.create_list(session, "team@lists.example.test", "Team", "A test community", clock())
        for email in members:
            admin.add_member(session, row.id, email, clock())
    engine.dispose()
    return "team@lists.example.test"


def test_postgresql_restarted_mid_run_intake_answers_4xx_and_the_nodes_recover_alone(cluster, settings, sink,
                                                                                     tmp_path, clock):  # fmt: skip
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("runs once, on its own cluster")
    settings = replace(settings, database_url=cluster.url, connections=1, batch_size=10, fault_backoff_seconds=2)
    members = [f"r{i:02d}@example.com" for i in range(30)]
    address = make_team(settings, members, clock)
    nodes = [ServeProcess(settings, tmp_path / f"node{i}.log", FAST_NODES).start() for i in range(2)]
    posts = [(f"<restart{i}@example.com>".encode(), members[i % len(members)]) for i in range(80)]

    def send(index: int) -> int:
        msgid, sender = posts[index]
        data = make_post(sender, to=address, subject=f"Post {index}", msgid=msgid.decode())
        return send_until_accepted(nodes, index, address, sender, data)

    try:
        for index in range(40):
            send(index)
        sink.wait_for(200, timeout=60)  # the fan-out is under way
        cluster.stop("fast")
        msgid, sender = posts[40]
        down = lmtp_send(nodes[0].lmtp, sender, [address], make_post(sender, to=address, msgid=msgid.decode()))
        assert down[address].startswith("4"), down
        time.sleep(3)  # the workers and senders meet the failure and back off
        cluster.start()
        for index in range(40, len(posts)):
            send(index)
        want = expected_pairs(posts, members)
        wait_for_all(want, sink)
        time.sleep(1.0)
        assert all(node.process and node.process.poll() is None for node in nodes), "a node did not survive"
    finally:
        for node in nodes:
            node.stop()
    seen = delivered(sink)
    assert set(seen) == want and max(seen.values()) == 1, [pair for pair, n in seen.items() if n > 1][:5]
    check_stored_once(settings, len(posts))
