"""Bounces as MTAs write them, delivered over LMTP to LIST-bounces (or its VERP form)."""

from __future__ import annotations

from email.utils import make_msgid

from support.mail import lmtp_send

DOMAIN = "lists.example.test"
TEAM, BOUNCES = f"team@{DOMAIN}", f"team-bounces@{DOMAIN}"


def dsn(rcpt: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery status notification as Postfix writes one."""
    return f"""From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: {BOUNCES}
Subject: Undelivered Mail Returned to Sender
Message-ID: {make_msgid(domain="mx.example.org")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org.

<{rcpt}>: host mx.example.org said: 550 {status} <{rcpt}>: Recipient address rejected

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {rcpt}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{rcpt}>: Recipient address rejected: User unknown

--B
Content-Type: text/rfc822-headers

From: alice@example.com
To: {TEAM}
Subject: hello

--B--
""".encode()


def bounce(engine, data: bytes, tag: str = "") -> None:
    rcpt = f"team-bounces+{tag}@{DOMAIN}" if tag else BOUNCES
    assert lmtp_send(engine.lmtp, "", [rcpt], data)[rcpt].startswith("250")
