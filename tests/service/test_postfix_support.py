"""The throwaway-Postfix helper works on its own: outbound sink and front -> LMTP."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from support.postfix import Postfix, free_port, is_available, make_instance_dir

pytestmark = pytest.mark.skipif(not is_available(), reason="needs root and Postfix (/usr/sbin/postfix) installed")


def _message(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "alice@example.org"
    msg["To"] = to
    msg["Subject"] = "postfix helper check"
    msg["Message-ID"] = "<helper-check@example.org>"
    msg.set_content("hello\n")
    return msg.as_bytes()


@pytest.fixture
def instance_dir() -> Iterator[Path]:
    path = make_instance_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


class RecordingHandler:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.received = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.received.set()
        # LMTP: one reply per accepted recipient, in order
        return "\r\n".join("250 2.0.0 Ok" for _ in envelope.rcpt_tos)


async def _shutdown(server: asyncio.Server) -> None:
    server.close()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:  # sessions whose client never sent QUIT
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()
    await asyncio.sleep(0)


@pytest.fixture
def lmtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    handler, port = RecordingHandler(), free_port()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: LMTP(handler, loop=loop), "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield handler, port
    finally:
        asyncio.run_coroutine_threadsafe(_shutdown(server), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_outbound_sink_delivers_each_recipient_to_its_own_maildir(instance_dir: Path) -> None:
    with Postfix(instance_dir, "outbound", free_port()) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            client.sendmail(
                "list-bounces+x=example.net@lists.example.test",
                ["Bob@Example.net", "carol@example.com"],
                _message("list@lists.example.test"),
            )
            client.mail("list-bounces@lists.example.test")
            for domain, code in (("reject", 550), ("defer", 450)):
                assert client.rcpt(f"x@{domain}.example.test")[0] == code
            client.rset()

        messages = sink.wait_for(2)

        assert sorted(messages) == ["bob@example.net", "carol@example.com"]
        for (raw,) in messages.values():
            assert raw.startswith(b"Return-Path: <list-bounces+x=example.net@lists.example.test>")
            assert b"Subject: postfix helper check" in raw
        sink.purge()
        assert sink.maildir_messages() == {}


def test_front_hands_list_mail_to_lmtp_and_refuses_relaying(
    instance_dir: Path, lmtp_server: tuple[RecordingHandler, int]
) -> None:
    handler, lmtp_port = lmtp_server
    front = Postfix(instance_dir, "front", free_port(), lmtp=("127.0.0.1", lmtp_port))
    with front:
        with smtplib.SMTP("127.0.0.1", front.port, timeout=10) as client:
            client.sendmail(
                "alice@example.org",
                ["team@lists.example.test", "team-request@lists.example.test"],
                _message("team@lists.example.test"),
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("alice@example.org", ["victim@elsewhere.example"], b"x\r\n")

        assert refused.value.recipients["victim@elsewhere.example"][0] == 554
        assert handler.received.wait(10), front.queue() + front.log()[-2000:]
        (envelope,) = handler.envelopes
        assert envelope.mail_from == "alice@example.org"
        assert sorted(envelope.rcpt_tos) == [
            "team-request@lists.example.test",
            "team@lists.example.test",
        ]
        assert envelope.original_content is not None
        assert b"Message-ID: <helper-check@example.org>" in envelope.original_content
        # both recipients got their own LMTP reply: nothing left waiting in the queue
        deadline = time.monotonic() + 10
        while "Mail queue is empty" not in front.queue():
            assert time.monotonic() < deadline, front.queue()
            time.sleep(0.1)
        assert front.log().count("status=sent") == 2
