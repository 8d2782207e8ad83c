"""A sender reads a fan-out's message once, not once per batch; each batch still gets it whole."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import event

from listserv.inbound.ingest import make_receive
from listserv.mail.addresses import parse_recipient
from listserv.outbound.relay import open_relay
from listserv.outbound.send import Sender
from listserv.worker.process import Worker
from support.mail import make_post

TEAM = "team@lists.example.test"


def test_a_fan_out_of_several_batches_reads_its_message_once_per_sender(work, make_list, sink, clock):
    members = [f"m{i:02d}@example.org" for i in range(7)]
    make_list("team", members=members)
    work = dataclasses.replace(work, settings=dataclasses.replace(work.settings, batch_size=2))
    receive = make_receive(work.sessions, work.settings.max_message_size, clock)
    assert receive(make_post(sender=members[0]), parse_recipient(TEAM, {TEAM}), members[0], TEAM)
    assert Worker(work).process_next() is True
    reads: list[str] = []
    bind = work.sessions().get_bind()
    listener = lambda conn, cursor, statement, *rest: reads.append(statement)  # noqa: E731
    event.listen(bind, "before_cursor_execute", listener)
    relay = open_relay(work.settings)
    sender = Sender(work, relay)

    async def run() -> int:
        sent = 0
        try:
            while await sender.send_next():
                sent += 1
        finally:
            await relay.close()
        return sent

    try:
        assert asyncio.run(run()) == 3  # 6 recipients, 2 a batch
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    assert sum("outbound.raw" in statement for statement in reads) == 1
    received = sink.wait_for(6)
    assert sorted(rcpt for rcpt, _ in received) == members[1:]
    assert len({data for _, data in received}) == 1  # the same message in every batch
