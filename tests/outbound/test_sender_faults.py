"""A batch the relay took while the disk filled: its replies wait in memory, are recorded once
there is room, and the batch is not sent again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from listserv.inbound.ingest import make_receive
from listserv.mail.addresses import parse_recipient
from listserv.outbound.relay import Relay, open_relay
from listserv.outbound.send import Sender
from listserv.outbound.smtp_client import SMTPReply, Transaction
from listserv.render import Templates
from listserv.store import db
from listserv.store.schema import Batch, Delivery
from listserv.work import Work
from listserv.worker.process import Worker
from support.disk import FullDisk, fillable_database
from support.mail import make_post

TEAM = "team@lists.example.test"
MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org", "dave@example.net"]


class FillingRelay:
    """The real relay to the sink; the disk fills while the batch is on the wire."""

    def __init__(self, relay: Relay, disk: FullDisk) -> None:
        self.relay, self.disk, self.armed = relay, disk, True

    async def _fill(self) -> None:
        if self.armed:
            self.armed = False
            await asyncio.to_thread(self.disk.fail_everything)

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        replies = await self.relay.send(mail_from, rcpts, data)
        await self._fill()
        return replies

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        replies = await self.relay.send_many(transactions)
        await self._fill()
        return replies

    async def close(self) -> None:
        await self.relay.close()


def test_replies_that_cannot_be_recorded_are_kept_and_the_batch_is_not_sent_twice(
    settings, make_list, sink, clock, tmp_path: Path, caplog
):
    make_list("team", members=MEMBERS)
    caplog.set_level(logging.INFO, logger="listserv")
    with fillable_database(settings, tmp_path) as (settings, disk):
        engine = db.open_engine(settings.database_url)
        work = Work(db.sessions(engine), settings, Templates(""), clock)
        receive = make_receive(work.sessions, settings.max_message_size, clock)
        assert receive(make_post(), parse_recipient(TEAM, {TEAM}), "alice@example.com", TEAM)
        assert Worker(work).process_next() is True
        relay = FillingRelay(open_relay(settings), disk)
        sender = Sender(work, relay)

        def batches() -> list[str]:
            with work.sessions() as session:
                return [str(status) for status in session.scalars(select(Batch.status))]

        async def run() -> None:
            try:
                assert await sender.send_next() is False  # sent; the disk filled before it was recorded
                assert len(sink.deliveries()) == 3 and batches() == ["sending"]
                assert "its replies are kept until they can be recorded" in caplog.text
                await asyncio.to_thread(disk.heal)
                clock.advance(timedelta(seconds=3))  # past the pause, far short of lease_seconds
                await sender.send_next()
            finally:
                await relay.close()

        asyncio.run(run())
        with work.sessions() as session:
            states = {rcpt: status for rcpt, status in session.execute(select(Delivery.rcpt, Delivery.status))}
        finished = batches()
        engine.dispose()
    assert states == {member: "sent" for member in MEMBERS[1:]} and finished == ["done"]
    assert sorted(rcpt for rcpt, _ in sink.deliveries()) == sorted(MEMBERS[1:])  # each once
