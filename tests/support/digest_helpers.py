"""Helpers for the digest tests: a list with readers in each mode, posts through LMTP, runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.digest.gather import load_digest_settings
from listserv.digest.issue import IssueOutcome
from listserv.digest.run import run_digests
from listserv.digest.schedule import next_due
from listserv.membership.cli import set_membership
from listserv.store import admin
from listserv.store.schema import Delivery, Inbound, InboundStatus, Post
from listserv.work import Work
from support.clock import TestClock
from support.mail import lmtp_send, make_post, parse

MOMENTS = [  # (start of the tests' clock, naive UTC; the list's time zone)
    pytest.param((datetime(2026, 12, 6, 23, 30),), "UTC", id="sunday-night"),
    pytest.param((datetime(2027, 4, 30, 23, 50),), "UTC", id="month-end"),
    pytest.param((datetime(2026, 12, 31, 23, 45),), "UTC", id="year-end"),
    pytest.param((datetime(2027, 3, 27, 23, 30),), "Europe/Paris", id="spring-forward-paris"),  # 2027-03-28 01:00Z
    pytest.param((datetime(2026, 11, 1, 5, 30),), "America/New_York", id="fall-back-new-york"),  # 2026-11-01 06:00Z
]
DOMAIN = "lists.example.test"
LIST = f"team@{DOMAIN}"
ALICE, BOB, CAROL, DAN, ERIN = (f"{n}@example.com" for n in ("alice", "bob", "carol", "dan", "erin"))
FAC = "fac@example.org"


class World:
    """The running engine, its database and the sink, as the digest tests use them."""

    def __init__(self, engine: object, sink: object, settings: object) -> None:
        self.engine, self.sink, self.settings = engine, sink, settings
        self.work: Work = engine.work  # type: ignore[attr-defined]
        self.sessions: Callable[[], Session] = self.work.sessions
        self.templates = self.work.templates
        self.seen = 0

    def now(self) -> datetime:
        """The engine's clock."""
        return self.work.now()

    def at(self, delta: timedelta) -> datetime:
        """Move the engine's clock on by delta (what a job queues then is due); the new now."""
        self.work.clock.advance(delta)  # type: ignore[attr-defined]
        return self.now()

    def list_id(self, address: str = LIST) -> int:
        with self.sessions() as session:
            return admin.get_list(session, address).id

    def set_delivery(self, email: str, mode: str, address: str = LIST) -> None:
        with self.sessions() as session, session.begin():
            set_membership(session, admin.get_list(session, address).id, email, "delivery", mode, self.now())

    def post(self, sender: str, subject: str, body: str, msgid: str, extra: str = "", rcpt: str = LIST) -> None:
        data = make_post(
            sender, rcpt, subject, body, msgid, extra, format_datetime(self.now().replace(tzinfo=timezone.utc))
        )
        reply = lmtp_send(self.engine.lmtp, sender, [rcpt], data)  # type: ignore[attr-defined]
        assert reply[rcpt].startswith("250"), reply
        self.wait_processed()

    def send(self, sender: str, rcpt: str, data: bytes) -> None:
        reply = lmtp_send(self.engine.lmtp, sender, [rcpt], data)  # type: ignore[attr-defined]
        assert reply[rcpt].startswith("250"), reply
        self.wait_processed()

    def wait_processed(self, timeout: float = 20.0) -> None:
        """Until the worker has nothing left waiting (replies re-queued as posts included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as session:
                waiting = session.scalar(
                    select(func.count()).select_from(Inbound).where(Inbound.status == InboundStatus.RECEIVED)
                )
            if not waiting:
                return
            time.sleep(0.05)
        raise AssertionError("the worker did not finish")

    def settle(self, timeout: float = 20.0) -> list[tuple[str, bytes]]:
        """Wait until every queued delivery is done; returns the mail that arrived since last looked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as session:
                pending = session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "deferred")))
                )
            if not pending:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("deliveries still pending")
        found = self.sink.deliveries()  # type: ignore[attr-defined]
        fresh = found[self.seen :]
        self.seen = len(found)
        return fresh

    def post_id(self, msgid: str) -> int:
        with self.sessions() as session:
            found = session.scalar(select(Post.id).where(Post.message_id == msgid))
            assert found is not None, msgid
            return found

    def next_issue_at(self) -> datetime:
        """A minute after the first weekly due time at which today's posts are two days old: the
        issue then holds them all, and an unanswered question counts as unanswered, whatever day
        and hour the tests' clock starts at."""
        with self.sessions() as session:
            schedule = load_digest_settings(session, self.list_id()).schedule
        return next_due(schedule, self.now() + timedelta(days=2)) + timedelta(minutes=1)

    def run(self, now: datetime | None = None, force: bool = False) -> list[IssueOutcome]:
        """A digest run at `now` (default: next_issue_at)."""
        moment = now or self.next_issue_at()
        if moment > self.now():  # time passes for the engine too: what the run queues is due
            self.work.clock.advance(moment - self.now())  # type: ignore[attr-defined]
        return run_digests(replace(self.work, clock=lambda: moment), None, force)

    def new_mail(self, count: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
        """The next `count` deliveries the sink receives after those already looked at."""
        found = self.sink.wait_for(self.seen + count, timeout)  # type: ignore[attr-defined]
        fresh = found[self.seen :]
        self.seen = len(found)
        return fresh

    def mail_to(self, rcpt: str, mails: list[tuple[str, bytes]]) -> list[Message]:
        return [parse(data) for to, data in mails if to == rcpt]


def text_of(message: Message, subtype: str = "plain") -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")
    raise AssertionError(f"no text/{subtype} part")


@pytest.fixture(name="clock")
def dated_clock(request: pytest.FixtureRequest) -> TestClock:
    """The engine's clock, starting at the MOMENT the test is parametrised with (indirect)."""
    return TestClock(request.param[0])


@pytest.fixture(name="world")
def dated_world(engine: object, sink: object, settings: object, make_list: Callable[..., str], zone: str) -> World:
    """A list in `zone` with a reader in each mode: Carol summary, Dan MIME, Erin plain; Alice and Bob each post."""
    make_list("team", members=[ALICE, BOB, CAROL, DAN, ERIN], facilitators=(FAC,), timezone=zone)
    w = World(engine, sink, settings)
    for email, mode in {CAROL: "summary", DAN: "mime-digest", ERIN: "plain-digest"}.items():
        w.set_delivery(email, mode)
    return w
