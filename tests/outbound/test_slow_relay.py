"""A relay that is slow to answer the final dot: wait as long as RFC 5321 says, or send twice.

The sink (a real aiosmtpd server) sleeps before its reply to the final dot, then accepts.
Giving up before that reply costs a whole batch sent again; waiting (relay_data_timeout,
ten minutes by default) costs nothing. The timeouts are shortened here, never the waits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlalchemy import select

from listserv.store import db
from listserv.store.schema import Delivery
from support.engine import RunningEngine
from support.mail import lmtp_send, make_post, parse
from support.waiting import wait_until

MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org", "dave@example.net"]
SLOW = 4.0  # seconds the relay takes to answer the final dot: twice the shortened command timeout


def deliveries(settings) -> list[tuple[str, str, str]]:
    engine = db.open_engine(settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Delivery.rcpt, Delivery.status, Delivery.last_reply)).all()
    engine.dispose()
    return [(rcpt, status, reply) for rcpt, status, reply in rows]


def copies_of(sink, message_id: str) -> Counter[str]:
    return Counter(rcpt for rcpt, data in sink.deliveries() if parse(data)["Message-ID"] == message_id)


def test_a_relay_slower_than_the_command_timeout_but_within_the_data_timeout_gets_each_post_once(
    settings, sink, make_list, clock
):
    settings = replace(settings, relay_command_timeout=2.0, connections=1)  # relay_data_timeout: 600 s, RFC 5321
    address = make_list("team", members=MEMBERS)
    sink.handler.data_delay, sink.handler.queue_then_wait = SLOW, True
    running = RunningEngine(settings, clock).start()
    try:
        assert (
            lmtp_send(running.lmtp, "alice@example.com", [address], make_post(msgid="<slow@x>"))[address][:3] == "250"
        )
        wait_until(lambda: {status for _, status, _ in deliveries(settings)} == {"sent"})
        sink.handler.data_delay = 0
        lmtp_send(running.lmtp, "alice@example.com", [address], make_post(msgid="<after@x>"))
        wait_until(lambda: len(copies_of(sink, "<after@x>")) == 3)  # anything still in flight has landed by now
    finally:
        running.stop()
    assert copies_of(sink, "<slow@x>") == Counter({member: 1 for member in MEMBERS[1:]})
    assert all("no reply" not in reply for _, _, reply in deliveries(settings))


def test_a_data_timeout_shorter_than_the_relay_defers_the_batch_and_it_goes_twice(settings, sink, make_list, clock):
    settings = replace(settings, relay_data_timeout=2.0, connections=1)
    address = make_list("team", members=MEMBERS)
    sink.handler.data_delay, sink.handler.queue_then_wait = SLOW, True
    running = RunningEngine(settings, clock).start()
    try:
        lmtp_send(running.lmtp, "alice@example.com", [address], make_post(msgid="<slow@x>"))
        wait_until(lambda: any("no reply within 2 s" in reply for _, _, reply in deliveries(settings)))
        assert {status for _, status, _ in deliveries(settings)} == {"deferred"}
        wait_until(lambda: len(sink.deliveries()) >= 3)  # the relay took it after all, once
        sink.handler.data_delay = 0
        wait_until(lambda: {status for _, status, _ in deliveries(settings)} == {"sent"})
    finally:
        running.stop()
    copies = copies_of(sink, "<slow@x>")  # the batch in flight when the relay sped up may make a third
    assert set(copies) == set(MEMBERS[1:]) and min(copies.values()) >= 2
