"""Kill -9 the server during signed, per-member fan-out: after a restart each member has a copy,
every copy verifies, and duplicates stay within one SMTP transaction per connection."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

from listserv.store import admin, db
from support.clock import DEFAULT_START as NOW
from support.dkim_check import dkimpy_verifies
from support.mail import lmtp_send, make_post
from support.process import ServeProcess

MEMBERS = [f"member{i:03d}@example.com" for i in range(300)]


def test_a_kill_during_signed_fanout_delivers_each_member_a_verified_copy(signing_settings, sink, make_list, tmp_path,
                                                                         dns_server):  # fmt: skip
    settings = replace(signing_settings, batch_size=20, connections=2, lease_seconds=2)
    address = make_list("team")
    engine = db.open_engine(settings.database_url)
    with db.sessions(engine)() as session, session.begin():
        admin.insert_members(session, admin.get_list(session, address).id, [(m, "") for m in MEMBERS], NOW)
    engine.dispose()
    sink.handler.data_delay = 0.02  # per personalised copy: slow enough for the kill to land mid-fan-out
    server = ServeProcess(settings, tmp_path / "serve.log").start()
    try:
        reply = lmtp_send(server.lmtp, MEMBERS[0], [address], make_post(MEMBERS[0], to=address))
        assert reply[address].startswith("250")
        sink.wait_for(40, timeout=30)
        server.kill()
        assert len(sink.deliveries()) < len(MEMBERS) - 1, "the kill came too late to test anything"
        sink.handler.data_delay = 0
        server.start()
        deadline = time.monotonic() + 90
        while len({rcpt for rcpt, _ in sink.deliveries()}) < len(MEMBERS) - 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        server.stop()
    counts = Counter(rcpt for rcpt, _ in sink.deliveries())
    assert set(counts) == set(MEMBERS[1:])
    assert sum(n - 1 for n in counts.values()) <= settings.batch_size * settings.connections
    assert all(dkimpy_verifies(data, dns_server) for _, data in sink.deliveries())
