"""Kill -9 the server during signed, per-member fan-out: after a restart each member has a copy,
every copy verifies, and duplicates stay within one SMTP transaction per connection."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from listserv.store import admin, db
from support.clock import DEFAULT_START as NOW
from support.dkim_check import dkimpy_verifies
from support.process import kill_during_fanout

MEMBERS = [f"member{i:03d}@example.com" for i in range(300)]


def test_a_kill_during_signed_fanout_delivers_each_member_a_verified_copy(signing_settings, sink, make_list, tmp_path,
                                                                         dns_server):  # fmt: skip
    settings = replace(signing_settings, batch_size=20, connections=2, lease_seconds=2)
    address = make_list("team")
    engine = db.open_engine(settings.database_url)
    with db.sessions(engine)() as session, session.begin():
        admin.insert_members(session, admin.get_list(session, address).id, [(m, "") for m in MEMBERS], NOW)
    engine.dispose()
    # per personalised copy: slow enough for the kill to land mid-fan-out
    deliveries = kill_during_fanout(settings, sink, address, MEMBERS, tmp_path / "serve.log", 0.02, 40)
    counts = Counter(rcpt for rcpt, _ in deliveries)
    assert set(counts) == set(MEMBERS[1:])
    assert sum(n - 1 for n in counts.values()) <= settings.batch_size * settings.connections
    assert all(dkimpy_verifies(data, dns_server) for _, data in deliveries)
