"""Building test messages and talking LMTP over a raw socket (smtplib.LMTP reads one DATA reply)."""

from __future__ import annotations

import socket
from datetime import timezone
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import format_datetime

from support.clock import start_moment

# Posts are dated when the tests' clock starts: the digest's windows and threading read Date.
DATE = format_datetime(start_moment().replace(tzinfo=timezone.utc))


def make_post(
    sender: str = "alice@example.com",
    to: str = "team@lists.example.test",
    subject: str = "Hello",
    body: str = "Hi all,\nhow do you run your retrospectives?\n",
    msgid: str = "<p1@example.com>",
    extra: str = "",
    date: str = DATE,
) -> bytes:
    headers = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n"
    headers += f"Date: {date}\r\n" + extra
    return (headers + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def parse(data: bytes) -> Message:
    return BytesParser(policy=policy.compat32).parsebytes(data)


def lmtp_send(address: tuple[str, int], mail_from: str, rcpts: list[str], data: bytes) -> dict[str, str]:
    """One LMTP transaction; returns each recipient's reply line (RCPT refusal or DATA reply)."""
    with socket.create_connection(address, timeout=30) as sock:
        stream = sock.makefile("rwb")

        def reply() -> str:
            lines = []
            while True:
                line = stream.readline().decode().rstrip("\r\n")
                lines.append(line)
                if line[3:4] != "-":
                    return "\n".join(lines)

        def command(text: str) -> str:
            stream.write(text.encode() + b"\r\n")
            stream.flush()
            return reply()

        reply()
        command("LHLO test.example")
        command(f"MAIL FROM:<{mail_from}>")
        results: dict[str, str] = {}
        accepted = []
        for rcpt in rcpts:
            answer = command(f"RCPT TO:<{rcpt}>")
            if answer.startswith("250"):
                accepted.append(rcpt)
            else:
                results[rcpt] = answer
        if accepted:
            assert command("DATA").startswith("354")
            body = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            body = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in body.split(b"\r\n"))
            stream.write(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
            stream.flush()
            for rcpt in accepted:
                results[rcpt] = reply()
        command("QUIT")
        return results
