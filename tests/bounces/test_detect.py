"""What came back to LIST-bounces, read without the database: built reports and the real corpus."""

from __future__ import annotations

import email
from email import policy

import pytest

from bench.bounce_detection import measure
from listserv.bounces.detect import ReportKind, classify, member_of_tag
from support.corpora import corpora


def dsn(action: str, status: str, rcpt: str = "alice@example.org", original: str = "") -> bytes:
    original_line = f"Original-Recipient: rfc822;{original}\n" if original else ""
    return f"""From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: team-bounces@lists.example.org
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

{original_line}Final-Recipient: rfc822; {rcpt}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

From: team@lists.example.org
To: team@lists.example.org
Subject: hello

--B--
""".encode()


def read(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=policy.compat32)


@pytest.mark.parametrize(
    ("action", "status", "permanent", "hard"),
    [("failed", "5.1.1", True, True), ("failed", "5.7.1", True, False), ("delayed", "4.4.1", False, False),
     ("failed", "4.2.2", False, False)],
)  # fmt: skip
def test_a_delivery_status_report_is_read_field_by_field(action, status, permanent, hard):
    report = classify(read(dsn(action, status)))
    assert report.kind is ReportKind.BOUNCE
    assert report.failed == {"alice@example.org"}
    assert (report.permanent == {"alice@example.org"}) is permanent
    assert (report.hard == {"alice@example.org"}) is hard
    assert report.reason.startswith(status)


def test_a_delivered_or_relayed_action_is_no_failure():
    assert classify(read(dsn("relayed", "2.0.0"))).kind is ReportKind.OTHER


def test_original_recipient_is_kept_beside_the_final_one():
    from listserv.bounces.dsn import recipient_statuses

    (status,) = recipient_statuses(read(dsn("failed", "5.1.1", "alice@forward.example", "alice@example.org")))
    assert (status.address, status.original) == ("alice@forward.example", "alice@example.org")


@pytest.mark.parametrize(
    "headers",
    ["Auto-Submitted: auto-replied", "X-Autoreply: yes", "Precedence: auto_reply", "Subject: Out of Office: hello",
     "Subject: Automatic reply: hello", "Subject: Abwesenheitsnotiz"],
)  # fmt: skip
def test_auto_replies_are_never_bounces(headers):
    raw = f"From: alice@example.org\nTo: team-bounces@lists.example.org\n{headers}\n\nI am away until Monday.\n"
    assert classify(read(raw.encode())).kind is ReportKind.AUTO_REPLY


def test_a_feedback_report_is_a_complaint_naming_the_original_recipient():
    raw = b"""From: feedback@fbl.example.net
To: team-bounces@lists.example.org
Subject: FW: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <Carol@Example.NET>

--F
Content-Type: message/rfc822

From: team@lists.example.org
To: someone-else@example.net
List-Id: "Team" <Team.lists.example.org>
X-BeenThere: team@lists.example.org
Subject: hello

hi
--F--
"""
    report = classify(read(raw))
    assert (report.kind, report.complainant) == (ReportKind.COMPLAINT, "carol@example.net")
    assert report.reason == "feedback report (abuse)"
    assert report.lists == {"<team.lists.example.org>", "team@lists.example.org"}


@pytest.mark.parametrize(
    ("tag", "member"),
    [("alice=example.org", "alice@example.org"), ("a=b=example.org", "a=b@example.org"),
     ("alice+x=Example.ORG", "alice+x@example.org"), ("alice", None), ("=example.org", None),
     ("alice=localhost", None), ("", None)],
)  # fmt: skip
def test_the_verp_tag_names_the_member(tag, member):
    assert member_of_tag(tag) == member


def test_detection_on_sisimai_set_of_emails_reaches_its_floors():
    figures = measure(corpora("sisimai_set_of_emails"))
    assert figures.files == 632
    assert figures.consensus_found == figures.consensus_recipients == 486
    assert figures.sisimai_found >= 0.86 * figures.sisimai_recipients
    assert figures.extra_recipients <= 20
    assert figures.class_agree >= 0.96 * figures.class_compared
    assert figures.hard_agree >= 0.82 * figures.hard_compared
    assert figures.auto_replies == 6 and figures.auto_replies_as_bounce == 0
    assert figures.not_bounces == 3 and figures.not_bounces_as_bounce == 0
    assert figures.arf_complaints >= 13


def test_delivery_status_fields_written_into_a_text_part_are_read_too():
    raw = b"""From: MAILER-DAEMON@us-west-2.example.com
To: team-bounces@lists.example.org
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: text/plain

An error occurred while trying to deliver the mail to the following recipients:
kijitora@example.jp

Technical report:

Reporting-MTA: dsn; a27-85.smtp-out.example.com

Action: failed
Final-Recipient: rfc822; kijitora@example.jp
Diagnostic-Code: smtp; 550 5.1.1 <kijitora@example.jp>... User Unknown
Status: 5.1.1

--M
Content-Type: message/rfc822

From: team@lists.example.org
To: someone@example.net
Subject: hello

Final-Recipient: rfc822; not-this-one@example.net
Status: 5.1.1
--M--
"""
    report = classify(read(raw))
    assert (report.kind, report.permanent, report.hard) == (ReportKind.BOUNCE, {"kijitora@example.jp"},
                                                            {"kijitora@example.jp"})  # fmt: skip
