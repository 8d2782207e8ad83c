"""Talking to a running engine by mail the way a person does: send, wait for the answer, reply to it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from email.utils import make_msgid, parseaddr

from sqlalchemy import func, select, text

from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import db
from listserv.store.schema import Batch, Inbound
from listserv.work import Work
from support.clock import TestClock
from support.mail import DATE, lmtp_send, parse
from support.sink import Sink


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(message.get_content_charset("utf-8"), "replace").replace("\r\n", "\n")
    return str(message.get_payload())


class Mailbox:
    """What the sink received, consumed one message at a time."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.taken: set[int] = set()

    def _match(self, to: str, subject: str) -> tuple[int, Message] | None:
        for index, (rcpt, data) in enumerate(self.sink.deliveries()):
            if index in self.taken or rcpt != to:
                continue
            message = parse(data)
            if subject.lower() in str(message.get("Subject", "")).lower():
                return index, message
        return None

    def expect(self, to: str, subject: str = "", timeout: float = 20.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self._match(to, subject)
            if found is not None:
                self.taken.add(found[0])
                return found[1]
            time.sleep(0.02)
        seen = [(r, parse(d)["Subject"]) for i, (r, d) in enumerate(self.sink.deliveries()) if i not in self.taken]
        raise AssertionError(f"no mail to {to} with {subject!r}; unread: {seen}")

    def unread(self) -> list[tuple[str, str]]:
        return [(r, str(parse(d)["Subject"])) for i, (r, d) in enumerate(self.sink.deliveries())
                if i not in self.taken]  # fmt: skip


def settle(settings: Settings, timeout: float = 20.0) -> None:
    """Wait until every received message is processed and every batch sent, twice in a row."""
    engine = db.open_engine(settings.database_url)
    try:
        deadline, calm = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.execute(
                    select(func.count()).select_from(Inbound).where(Inbound.status == "received")
                ).scalar()
                sending = connection.execute(
                    select(func.count()).select_from(Batch).where(Batch.status != "done")
                ).scalar()
            calm = calm + 1 if not waiting and not sending else 0
            if calm >= 3:
                time.sleep(0.2)
                return
            time.sleep(0.1)
        raise AssertionError("the engine did not settle")
    finally:
        engine.dispose()


def send(
    address: tuple[str, int],
    sender: str,
    rcpt: str,
    subject: str,
    body: str = "",
    extra: str = "",
    mail_from: str | None = None,
) -> str:
    """A plain message from `sender` to `rcpt`; returns its Message-ID."""
    msgid = make_msgid(domain="example.com")
    data = (
        (
            f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n"
            f"Date: {DATE}\r\n{extra}\r\n{body}"
        )
        .replace("\r\n", "\n")
        .replace("\n", "\r\n")
    )
    reply = lmtp_send(address, sender if mail_from is None else mail_from, [rcpt], data.encode("utf-8"))
    assert reply[rcpt].startswith("250"), reply
    return msgid


def reply_to(address: tuple[str, int], message: Message, sender: str, text: str = "",
             extra: str = "") -> str:  # fmt: skip
    """Reply as a mail client does: to Reply-To (else From), 'Re: ' subject, the original quoted."""
    target = parseaddr(str(message.get("Reply-To") or message["From"]))[1]
    subject = str(message["Subject"])
    quoted = "\n".join("> " + line for line in body_of(message).splitlines())
    body = f"{text}\n\nOn Sunday the list wrote:\n{quoted}\n-- \nSent from my phone\n"
    extra = f"In-Reply-To: {message['Message-ID']}\r\n" + extra
    return send(address, sender, target, f"Re: {subject}", body, extra)


def run_job(clock: TestClock, settings: Settings, job: Callable[[Work], int], now: datetime) -> int:
    """Run a periodic job at `now`, moving the engine's clock there first, so what it queues is due."""
    if now > clock():
        clock.advance(now - clock())
    engine = db.open_engine(settings.database_url)
    try:
        return job(Work(db.sessions(engine), settings, Templates(settings.templates_dir), lambda: now))
    finally:
        engine.dispose()


def sql(settings: Settings, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = db.open_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()
