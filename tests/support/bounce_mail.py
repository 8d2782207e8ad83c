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


def arf(complainant: str, list_headers: str = f'List-Id: "Team" <team.{DOMAIN}>\nX-BeenThere: {TEAM}\n') -> bytes:
    """A feedback-loop report (RFC 5965) as a mailbox provider sends one, the original's headers inside."""
    return f"""From: feedback@fbl.example.net
To: {BOUNCES}
Subject: Abuse report
Message-ID: {make_msgid(domain="fbl.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: {complainant}

--F
Content-Type: text/rfc822-headers

From: alice@example.com
To: {TEAM}
Subject: [team] Hello
{list_headers}
--F--
""".encode()
