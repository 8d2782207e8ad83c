"""Several `listserv serve` nodes on one PostgreSQL, as real subprocesses, into a real aiosmtpd
sink: kill -9 at random moments loses nothing and sends nothing twice (but the transaction
in flight), and `listserv status` shows the nodes and a killed node's stale lease."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from listserv.settings import Settings
from listserv.store import db
from listserv.store.schema import Batch, BatchStatus, Inbound, Post
from support.mail import lmtp_send, make_post
from support.process import ServeProcess, serve_env
from support.sink import Sink
from support.waiting import wait_until

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)
FAST_NODES = {"LISTSERV_HEARTBEAT_SECONDS": "1", "LISTSERV_NODE_DEAD_SECONDS": "5"}


@pytest.fixture
def pg_settings(settings: Settings) -> Settings:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several nodes share a PostgreSQL (set LISTSERV_TEST_PG_URL)")
    return replace(settings, connections=1, batch_size=100, lease_seconds=30, poll_seconds=0.2)


def delivered(sink: Sink) -> Counter[tuple[bytes, str]]:
    """How many times each (post's Message-ID, recipient) reached the sink."""
    seen: Counter[tuple[bytes, str]] = Counter()
    for message in sink.messages:
        found = MESSAGE_ID.search(message.data)
        assert found, message.data[:500]
        seen.update((found.group(1), rcpt) for rcpt in message.rcpts)
    return seen


def send_until_accepted(nodes: list[ServeProcess], first: int, address: str, sender: str, data: bytes) -> int:
    """As an MTA does: try one node, then the other, until one answers 250. Returns the 4xx answers seen."""
    refused, deadline = 0, time.monotonic() + 120
    for attempt in range(10_000):
        node = nodes[(first + attempt) % len(nodes)]
        try:
            reply = lmtp_send(node.lmtp, sender, [address], data)[address]
        except OSError:
            reply = "connection failed"
        if reply.startswith("250"):
            return refused
        refused += reply.startswith("4")
        assert time.monotonic() < deadline and not reply.startswith("5"), reply
        time.sleep(0.2)
    raise AssertionError("never accepted")


def expected_pairs(posts: list[tuple[bytes, str]], members: list[str]) -> set[tuple[bytes, str]]:
    return {(msgid, member) for msgid, sender in posts for member in members if member != sender}


def wait_for_all(want: set[tuple[bytes, str]], sink: Sink, stall: float = 60.0) -> None:
    """Until every wanted delivery arrived; fails when none arrives for STALL seconds (a shared
    machine may be slow, but a lost post stops the count for good)."""
    count, moved = -1, time.monotonic()
    while True:
        seen = set(delivered(sink))
        if want <= seen:
            return
        if len(seen) != count:
            count, moved = len(seen), time.monotonic()
        lost = sorted({msgid for msgid, _ in want - seen})
        assert time.monotonic() - moved < stall, f"{len(want - seen)} deliveries missing, of posts {lost[:10]}"
        time.sleep(0.2)


def check_stored_once(settings: Settings, count: int) -> None:
    engine = db.open_engine(settings.database_url)
    try:
        with db.sessions(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Inbound)) == count
            per_id = session.execute(select(Post.message_id, func.count()).group_by(Post.message_id)).all()
            assert len(per_id) == count and {n for _, n in per_id} == {1}
    finally:
        engine.dispose()


def test_two_nodes_killed_at_random_moments_deliver_every_post_once(pg_settings, sink, make_list, tmp_path):
    members = [f"m{i:03d}@example.com" for i in range(200)]
    address = make_list("team", members=members)
    nodes = [ServeProcess(pg_settings, tmp_path / f"node{i}.log", FAST_NODES).start() for i in range(2)]
    posts = [(f"<multi{i}@example.com>".encode(), members[i % len(members)]) for i in range(300)]
    rng, kills = random.Random(1616), []

    def killer() -> None:
        for _ in range(5):
            time.sleep(rng.uniform(0.5, 3.0))
            node = nodes[rng.randrange(2)]
            node.kill()
            kills.append(len(sink.messages))
            node.start()

    try:
        chaos = threading.Thread(target=killer)
        chaos.start()
        with ThreadPoolExecutor(4) as pool:
            jobs = [pool.submit(send_until_accepted, nodes, i, address, sender,
                                make_post(sender, to=address, subject=f"Post {i}", msgid=msgid.decode()))
                    for i, (msgid, sender) in enumerate(posts)]  # fmt: skip
            for job in jobs:
                job.result(timeout=180)
        chaos.join(timeout=180)
        want = expected_pairs(posts, members)
        wait_for_all(want, sink)
        time.sleep(1.0)  # anything sent twice arrives now
    finally:
        for node in nodes:
            node.stop()
    seen = delivered(sink)
    extra = sum(n - 1 for n in seen.values())
    assert len(kills) == 5 and set(seen) == want
    assert extra <= len(kills) * pg_settings.batch_size, f"{extra} copies too many after {len(kills)} kills"
    check_stored_once(pg_settings, len(posts))


def status_rows(settings: Settings, node: ServeProcess) -> list[dict[str, object]]:
    env = serve_env(settings, node.lmtp_port, node.smtp_port)
    done = subprocess.run([sys.executable, "-m", "listserv", "status", "--json"], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_status_shows_two_live_nodes_then_a_killed_nodes_stale_lease(pg_settings, sink, make_list, tmp_path):
    members = [f"s{i:02d}@example.com" for i in range(40)]
    address = make_list("team", members=members)
    settings = replace(pg_settings, batch_size=5)
    slow = {"LISTSERV_HEARTBEAT_SECONDS": "30", "LISTSERV_NODE_DEAD_SECONDS": "90"}  # no takeover meanwhile
    nodes = [ServeProcess(settings, tmp_path / f"node{i}.log", slow).start() for i in range(2)]
    sink.handler.data_delay = 3.0  # each node's sender holds a batch for a while
    engine = db.open_engine(settings.database_url)
    try:
        live = [row for row in status_rows(settings, nodes[0]) if "state" in row]
        assert [row["state"] for row in live] == ["live", "live"]
        assert {row["pid"] for row in live} == {node.process.pid for node in nodes if node.process}
        assert lmtp_send(nodes[0].lmtp, members[0], [address], make_post(members[0], to=address))[address][:3] == "250"

        def holder() -> str | None:
            with db.sessions(engine)() as session:
                query = select(Batch.lease_node).where(
                    Batch.status == BatchStatus.SENDING, Batch.lease_node.is_not(None)
                )
                return session.scalars(query.limit(1)).first()

        wait_until(lambda: holder() is not None, timeout=30, what="no batch was claimed")
        name = holder()
        victim = next(node for node in nodes if node.process and name and name.endswith(f":{node.process.pid}"))
        victim.kill()
        rows = status_rows(settings, nodes[0])
    finally:
        sink.handler.data_delay = 0
        for node in nodes:
            node.stop()
        engine.dispose()
    states = {row["node"]: row["state"] for row in rows if "state" in row}
    assert states[name] == "dead" and sorted(states.values()) == ["dead", "live"]
    stale = [row for row in rows if row.get("stale") == "batch"]
    assert stale and all(row["node"] == name and row["why"] == "node not live" for row in stale)
