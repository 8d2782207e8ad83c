"""The nodes' registry on a real database: heartbeats, claims recorded per node, the claims of a
dead process freed at once, stale leases named."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

from sqlalchemy import select

from listserv.store import admin, db, nodes, queries
from listserv.store.schema import Batch, BatchStatus
from listserv.work import Work


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_dead_neighbours_claims_are_freed_a_live_ones_kept_and_status_names_them(work: Work) -> None:
    now = work.now()
    here = nodes.identity("")
    gone = nodes.Identity("gone", here.host, dead_pid())
    alive = nodes.Identity("alive", here.host, os.getppid())
    with work.sessions() as session, session.begin():
        lst = admin.create_list(session, "team@lists.example.test", "Team", "", now)
        for index in range(2):  # two notices: a batch each
            outbound = queries.insert_outbound(session, dict(list_id=lst.id, kind="notice", mail_from="x@example.org",
                                                             raw=b"x", personalized=False, created_at=now))  # fmt: skip
            queries.add_deliveries(session, outbound, [f"m{index}@example.com"], now)
        for who in (gone, alive, here):
            nodes.beat(session, who, now, "", now)
    claims = {}
    engine = db.open_engine(work.settings.database_url)
    for who in (gone, alive):
        with nodes.claiming_sessions(engine, who.name)() as session, session.begin():
            claims[who.name] = queries.claim_batch(session, now, timedelta(minutes=5))
    engine.dispose()
    assert all(claims.values())
    later = now + timedelta(seconds=30)
    with work.sessions() as session:
        shown = {n.name: (n.state, n.batches_held) for n in nodes.load_nodes(session, later, timedelta(seconds=60))}
        stale = nodes.stale_leases(session, later, [name for name, (state, _) in shown.items() if state == "live"])
    assert shown["gone"] == ("dead", 1) and shown["alive"] == ("live", 1)
    assert [(s.kind, s.node, s.why) for s in stale] == [("batch", "gone", "node not live")]
    with work.sessions() as session, session.begin():
        assert nodes.release_dead_neighbours(session, here) == ["gone"]
    with work.sessions() as session:
        rows = dict(session.execute(select(Batch.lease_node, Batch.status)).all())
    assert rows == {None: BatchStatus.PENDING, "alive": BatchStatus.SENDING}


def test_a_clean_stop_frees_what_the_node_holds(work: Work) -> None:
    now, me = work.now(), nodes.identity("solo")
    with work.sessions() as session, session.begin():
        nodes.beat(session, me, now, "digests", now)
    with work.sessions() as session, session.begin():
        assert nodes.stopped(session, me, now) == 0
    with work.sessions() as session:
        (state,) = [n.state for n in nodes.load_nodes(session, now, timedelta(seconds=60)) if n.name == "solo"]
    assert state == "stopped"
