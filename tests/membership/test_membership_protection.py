"""Subscription bombing and automatic mail: requests that must not turn into mail."""

from __future__ import annotations

from support.conversation import Mailbox, reply_to, send, settle, sql
from support.mail import lmtp_send

DOMAIN = "lists.example.test"
JOIN = f"team-join@{DOMAIN}"


def test_asking_to_join_again_and_again_sends_one_confirmation(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    for index in range(5):
        send(engine.lmtp, "carol@example.org", JOIN, f"join {index}")
        send(engine.lmtp, "carol@example.org", f"team-request@{DOMAIN}", "subscribe", f"attempt {index}")
    box.expect("carol@example.org", "confirm ")
    settle(settings)
    assert box.unread() == []


def test_one_address_gets_a_few_confirmations_an_hour_whatever_the_list(engine, sink, settings, make_list):
    for name in ("a", "b", "c", "d", "e"):
        make_list(name)
    for name in ("a", "b", "c", "d", "e"):
        send(engine.lmtp, "victim@example.org", f"{name}-join@{DOMAIN}", "join")
    settle(settings)
    assert len(sink.deliveries()) == settings.confirm_limit_per_address == 3


def test_one_sender_asking_for_many_addresses_is_cut_off(engine, sink, settings, make_list):
    make_list("team")
    for index in range(settings.confirm_limit_per_sender + 3):
        send(engine.lmtp, f"victim{index}@example.org", JOIN, "join", mail_from="bomber@example.net")
    settle(settings)
    assert len(sink.deliveries()) == settings.confirm_limit_per_sender == 10
    requested = sql(settings, "SELECT count(*) FROM tokens WHERE requested_by = 'bomber@example.net'")
    assert requested == [(10,)]


def test_null_senders_daemons_and_automatic_mail_are_ignored(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"])
    send(engine.lmtp, "carol@example.org", JOIN, "join", mail_from="")
    send(engine.lmtp, "MAILER-DAEMON@mx.example.org", JOIN, "Undelivered Mail Returned to Sender")
    send(engine.lmtp, "dave@example.org", JOIN, "Out of office", extra="Auto-Submitted: auto-replied\r\n")
    send(engine.lmtp, "erin@example.org", JOIN, "join", extra="Precedence: bulk\r\n")
    send(engine.lmtp, "alice@example.com", f"team-leave@{DOMAIN}", "Away", extra="Auto-Submitted: auto-replied\r\n")
    settle(settings)
    assert sink.deliveries() == []
    assert sql(settings, "SELECT email FROM members") == [("alice@example.com",)]


def test_an_out_of_office_reply_to_a_confirmation_does_not_confirm(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    confirmation = box.expect("carol@example.org", "confirm ")
    reply_to(engine.lmtp, confirmation, "carol@example.org", "I am away until Monday.",
             extra="Auto-Submitted: auto-replied\r\n")  # fmt: skip
    settle(settings)
    assert sql(settings, "SELECT count(*) FROM members") == [(0,)] and box.unread() == []


def test_answers_to_one_address_are_capped_per_hour(engine, sink, settings, make_list):
    make_list("team")
    for index in range(settings.reply_limit_per_address + 3):
        send(engine.lmtp, "chatty@example.org", f"team-request@{DOMAIN}", f"help {index}")
    settle(settings, timeout=60)
    assert len(sink.deliveries()) == settings.reply_limit_per_address == 20


def test_a_list_address_cannot_be_subscribed_to_another_list(engine, sink, settings, make_list):
    make_list("team")
    make_list("other")
    data = b"From: other-request@lists.example.test\r\nTo: team-join@lists.example.test\r\nSubject: join\r\n\r\n"
    assert lmtp_send(engine.lmtp, "other-bounces@lists.example.test", [JOIN], data)[JOIN].startswith("250")
    settle(settings)
    assert sink.deliveries() == [] and sql(settings, "SELECT count(*) FROM members") == [(0,)]
