"""Helpers for moderation conversations: find what the sink received, wait for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import Message

from support.mail import parse

DOMAIN = "lists.example.test"
LIST = f"team@{DOMAIN}"
FAC = "fran@fac.example.org"
FAC2 = "gus@example.net"
MEMBERS = ["alice@example.com", "bob@example.com"]
OUTSIDER = "olga@outside.example"


def wait_until(check: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def mails(sink, rcpt: str, subject_start: str = "") -> list[Message]:
    found = [parse(data) for to, data in sink.deliveries() if to == rcpt]
    return [m for m in found if str(m["Subject"] or "").startswith(subject_start)]


def wait_mail(sink, rcpt: str, subject_start: str, count: int = 1) -> list[Message]:
    """The first `count` mails to rcpt whose subject starts so (waiting for them)."""
    found = wait_until(lambda: (lambda m: m if len(m) >= count else None)(mails(sink, rcpt, subject_start)))
    assert isinstance(found, list)
    return found[:count]


def notice_for(sink, facilitator: str = FAC, index: int = 0) -> Message:
    return wait_mail(sink, facilitator, "Held for review", index + 1)[index]


def post_copies(sink, message_id: str) -> list[str]:
    """Recipients of the distributed post with this Message-ID."""
    return sorted(
        to
        for to, data in sink.deliveries()
        if parse(data)["Message-ID"] == message_id and parse(data)["X-BeenThere"] == LIST
    )


def wait_post(sink, message_id: str, count: int) -> list[str]:
    found = wait_until(lambda: (lambda r: r if len(r) >= count else None)(post_copies(sink, message_id)))
    assert isinstance(found, list)
    return found


def settle(seconds: float = 1.0) -> None:
    time.sleep(seconds)


def body_text(message: Message) -> str:
    part = message
    while part.is_multipart():
        part = part.get_payload(0)
    return part.get_payload(decode=True).decode(part.get_content_charset("utf-8"))
