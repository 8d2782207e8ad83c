"""Mail the list writes itself: never to automatic senders (RELIABILITY 10), always marked automatic."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from listserv.mail.message import ListInfo, ParsedMessage
from listserv.mail.parse import decode_value, parse_bytes
from listserv.outbound.notices import build_notice, forward_to_facilitators, may_answer
from support.clock import DEFAULT_START as NOW

PERSON = ParsedMessage(
    message_id="<p1@example.com>", in_reply_to="", references=(), subject="help", sender="alice@example.com",
    sender_name="Alice", auto_submitted="", precedence="", list_ids=(), been_there=(), defects=(),
)  # fmt: skip
TEAM = ListInfo(id=1, address="team@lists.example.org", name="Team")


def test_a_person_writing_from_their_own_address_may_be_answered():
    assert may_answer("alice@example.com", PERSON)


@pytest.mark.parametrize("auto_submitted", ["no", ""])
def test_auto_submitted_no_is_a_person(auto_submitted):
    assert may_answer("alice@example.com", replace(PERSON, auto_submitted=auto_submitted))


@pytest.mark.parametrize(
    "envelope_sender",
    [
        "",
        "<>",
        "MAILER-DAEMON",
        "mailer-daemon@mx.example.com",
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.com",
        "team-bounces@lists.example.org",
        "other-bounces@lists.example.net",
        "other-bounces+alice=example.com@lists.example.net",
        "Other-Bounces+X@lists.example.net",
        "other-request@lists.example.net",
        "other-owner@lists.example.net",
        "<other-bounces@lists.example.net>",
    ],
)
def test_null_senders_daemons_and_list_service_addresses_are_never_answered(envelope_sender):
    assert not may_answer(envelope_sender, PERSON)


@pytest.mark.parametrize(
    "sender",
    ["", "mailer-daemon@mx.example.com", "postmaster@example.com", "news-bounces@example.net",
     "news-bounces+123@example.net", "digest-request@example.net"],
)  # fmt: skip
def test_a_notice_is_never_sent_to_an_automatic_from_address_either(sender):
    # notices go to the From address, so a forged or automatic From is checked too
    assert not may_answer("alice@example.com", replace(PERSON, sender=sender))


@pytest.mark.parametrize("auto_submitted", ["auto-replied", "auto-generated", "auto-notified", "no-but-really"])
def test_auto_submitted_mail_is_never_answered(auto_submitted):
    assert not may_answer("alice@example.com", replace(PERSON, auto_submitted=auto_submitted))


@pytest.mark.parametrize("precedence", ["bulk", "list", "junk", "auto_reply"])
def test_bulk_and_list_precedence_is_never_answered(precedence):
    assert not may_answer("alice@example.com", replace(PERSON, precedence=precedence))


def test_a_notice_is_automatic_list_mail_in_reply_to_the_message():
    wire = build_notice(TEAM, "alice@example.com", "Not distributed: Grüße", "Your post was not sent.\n", NOW,
                        in_reply_to="<p1@example.com>")  # fmt: skip
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", wire) and wire.endswith(b"\r\n")
    notice = parse_bytes(wire)
    assert notice["Auto-Submitted"] == "auto-replied"
    assert notice["From"] == "Team <team-owner@lists.example.org>" and notice["To"] == "alice@example.com"
    assert notice["In-Reply-To"] == "<p1@example.com>" and notice["References"] == "<p1@example.com>"
    assert decode_value(notice["Subject"]) == "Not distributed: Grüße"
    assert notice["X-BeenThere"] == "team-owner@lists.example.org" and len(notice.get_all("X-BeenThere")) == 1
    assert notice["List-Id"] == '"Team" <team.lists.example.org>' and notice["Precedence"] == "list"
    assert notice["Message-ID"].endswith("@lists.example.org>")
    assert notice.get_payload(decode=True) == b"Your post was not sent.\n".replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Team, Inc.", '"Team, Inc." <team-owner@lists.example.org>'),
     ('Say "hi"', '"Say \\"hi\\"" <team-owner@lists.example.org>'),
     ("Team\r\nBcc: victim@example.com", '"Team Bcc: victim@example.com" <team-owner@lists.example.org>')],
)  # fmt: skip
def test_the_list_name_in_a_notices_from_is_quoted_so_it_stays_one_address(name, expected):
    notice = parse_bytes(build_notice(replace(TEAM, name=name), "alice@example.com", "s", "t\n", NOW))
    assert notice["From"] == expected and notice["Bcc"] is None


def test_a_non_ascii_list_name_is_encoded_in_the_notices_from():
    notice = parse_bytes(build_notice(replace(TEAM, name="Équipe"), "alice@example.com", "s", "t\n", NOW))
    assert decode_value(notice["From"]) == "Équipe <team-owner@lists.example.org>"


def test_a_forward_to_the_facilitators_is_passed_on_with_a_loop_marker():
    message = parse_bytes(b"From: bob@example.com\nSubject: question\nMessage-ID: <q@example.com>\n\nhello\n")
    wire = forward_to_facilitators(message, TEAM)
    forwarded = parse_bytes(wire)
    assert forwarded["X-BeenThere"] == "team-owner@lists.example.org"
    assert forwarded["Subject"] == "question" and forwarded["Message-ID"] == "<q@example.com>"
    assert b"\r\n\r\nhello\r\n" in wire and not re.search(rb"(?<!\r)\n", wire)
