"""Joining and leaving by mail, as whole conversations through the real listeners and the sink."""

from __future__ import annotations

from support.conversation import Mailbox, body_of, reply_to, send, settle, sql
from support.mail import lmtp_send, make_post

DOMAIN = "lists.example.test"
TEAM = f"team@{DOMAIN}"
JOIN, LEAVE, REQUEST = f"team-join@{DOMAIN}", f"team-leave@{DOMAIN}", f"team-request@{DOMAIN}"
GUIDELINES = "Be kind. Share what you learn. No selling."


def members(settings, list_address=TEAM):
    return [r[0] for r in sql(settings, "SELECT m.email FROM members m JOIN lists l ON l.id = m.list_id "
                                        "WHERE l.address = :a ORDER BY m.email", a=list_address)]  # fmt: skip


def events(settings, email):
    return [r[0] for r in sql(settings, "SELECT event FROM membership_events WHERE email = :e ORDER BY id", e=email)]


def test_joining_by_mail_confirms_by_reply_then_welcomes_and_delivers(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"], guidelines=GUIDELINES)
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join please", "Hi, I would like to join.")
    confirmation = box.expect("carol@example.org", "confirm ")
    assert confirmation["Reply-To"].startswith("team-confirm+") and confirmation["Auto-Submitted"] == "auto-replied"
    assert GUIDELINES in body_of(confirmation) and "ignore this message" in body_of(confirmation)
    settle(settings)
    assert members(settings) == ["alice@example.com"]  # nothing happens before the reply

    reply_to(engine.lmtp, confirmation, "carol@example.org")
    welcome = box.expect("carol@example.org", "Welcome to Team")
    text = body_of(welcome)
    assert "A test community" in text and GUIDELINES in text and "team-leave@" in text and "set delivery" in text
    assert members(settings) == ["alice@example.com", "carol@example.org"]
    assert events(settings, "carol@example.org") == ["requested", "confirmed", "accepted-guidelines", "joined"]

    send(engine.lmtp, "alice@example.com", TEAM, "Hello Carol")
    assert "Hello Carol" in str(box.expect("carol@example.org", "Hello Carol")["Subject"])


def test_a_confirmation_works_once_and_a_made_up_one_not_at_all(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", REQUEST, "subscribe digest")
    confirmation = box.expect("carol@example.org", "confirm ")
    reply_to(engine.lmtp, confirmation, "carol@example.org")
    box.expect("carol@example.org", "Welcome")
    assert sql(settings, "SELECT delivery FROM members WHERE email = 'carol@example.org'") == [("mime-digest",)]

    reply_to(engine.lmtp, confirmation, "carol@example.org", "yes again")  # the same token, replayed
    assert "already a member" in body_of(box.expect("carol@example.org", "Re: "))
    send(engine.lmtp, "dave@example.org", f"team-confirm+{'a' * 26}@{DOMAIN}", "Re: confirm")
    assert "unknown, used or expired" in body_of(box.expect("dave@example.org", "Re: confirm"))
    settle(settings)
    assert members(settings) == ["carol@example.org"] and box.unread() == []


def test_confirm_token_in_a_subject_sent_to_the_request_address_also_confirms(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    send(engine.lmtp, "Carol@Example.ORG", REQUEST, "join")
    confirmation = box.expect("carol@example.org", "confirm ")
    token = str(confirmation["Subject"]).split()[-1]
    send(engine.lmtp, "carol@example.org", REQUEST, f"Re: confirm {token}")
    box.expect("carol@example.org", "Welcome")
    assert members(settings) == ["carol@example.org"]


def test_an_expired_confirmation_does_nothing(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    confirmation = box.expect("carol@example.org", "confirm ")
    sql(settings, "UPDATE tokens SET expires_at = created_at")
    reply_to(engine.lmtp, confirmation, "carol@example.org")
    assert "unknown, used or expired" in body_of(box.expect("carol@example.org", "Re: "))
    assert members(settings) == []


def test_leaving_by_mail_is_immediate_with_a_goodbye_and_stops_delivery(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    box = Mailbox(sink)
    send(engine.lmtp, "bob@example.com", LEAVE, "bye", "Thanks for everything")
    goodbye = box.expect("bob@example.com", "You have left Team")
    assert "bob@example.com has left" in body_of(goodbye) and "team-join@" in body_of(goodbye)
    assert members(settings) == ["alice@example.com"] and events(settings, "bob@example.com") == ["left"]
    lmtp_send(engine.lmtp, "alice@example.com", [TEAM], make_post(msgid="<after@example.com>"))
    settle(settings)
    assert box.unread() == []  # alice sent it and does not receive her own posts; bob is gone

    send(engine.lmtp, "bob@example.com", LEAVE, "bye again")
    assert "is not a member" in body_of(box.expect("bob@example.com", "Re: bye again"))


def test_a_list_can_ask_leavers_to_confirm_first(engine, sink, settings, make_list):
    make_list("team", members=["bob@example.com"], confirm_unsubscribe="yes")
    box = Mailbox(sink)
    send(engine.lmtp, "bob@example.com", REQUEST, "unsubscribe")
    confirmation = box.expect("bob@example.com", "confirm ")
    assert members(settings) == ["bob@example.com"]
    reply_to(engine.lmtp, confirmation, "bob@example.com")
    box.expect("bob@example.com", "You have left")
    assert members(settings) == []


def test_commands_in_one_message_are_each_answered_in_one_reply(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], allow_who="yes")
    box = Mailbox(sink)
    body = ("set delivery summary\nset vacation until 2099-01-01\nwho\ninfo\nset delivery sometimes\n"
            "frobnicate\n-- \nAlice\nunsubscribe\n")  # fmt: skip
    send(engine.lmtp, "alice@example.com", REQUEST, "Commands", body)
    text = body_of(box.expect("alice@example.com", "Re: Commands"))
    assert "> set delivery summary\nDelivery is now: summary." in text
    assert "2099-01-01" in text and "set vacation until 2099-01-01" in text
    assert "The members of Team:\nalice@example.com\nbob@example.com" in text
    assert "Members: 2." in text
    assert "Not understood: expected one of: each, summary, mime-digest, plain-digest, none." in text
    assert "These lines are not commands" in text and "> frobnicate" in text
    assert "unsubscribe" not in text.split("-- ")[0].split("frobnicate")[1]  # the signature was not read
    assert sql(settings, "SELECT delivery FROM members WHERE email = 'alice@example.com'") == [("summary",)]
    assert members(settings) == ["alice@example.com", "bob@example.com"]


def test_who_is_refused_unless_the_list_allows_it_and_unknown_mail_gets_help(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"])
    box = Mailbox(sink)
    send(engine.lmtp, "alice@example.com", REQUEST, "who")
    assert "does not share its list of members" in body_of(box.expect("alice@example.com", "Re: who"))
    send(engine.lmtp, "zed@example.net", REQUEST, "what is this?", "Hello there")
    text = body_of(box.expect("zed@example.net", "Re: what is this?"))
    assert "Commands for team-request@" in text and "> Hello there" in text


def test_only_the_first_commands_of_a_message_are_read(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"])
    box = Mailbox(sink)
    body = "\n".join(["info", "help", "who", "renew", "set delivery each", "set delivery none",
                      "set delivery summary", "set delivery plain-digest", "set delivery mime-digest",
                      "set vacation off", "subscribe"])  # fmt: skip
    send(engine.lmtp, "alice@example.com", REQUEST, "", body)
    text = body_of(box.expect("alice@example.com", "Your request to Team"))
    assert "Only the first commands of your message were read." in text
    assert sql(settings, "SELECT delivery FROM members") == [("mime-digest",)]


def test_joining_a_list_by_invitation_only_is_refused_politely(engine, sink, settings, make_list):
    make_list("team", subscription_policy="invitation")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    text = body_of(box.expect("carol@example.org", "Re: join"))
    assert "by invitation only" in text and "team-owner@" in text
    assert members(settings) == []


def test_a_bad_address_gets_a_clear_refusal_and_no_crash(engine, sink, settings, make_list):
    make_list("team")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join", extra="", mail_from="carol@example.org")
    box.expect("carol@example.org", "confirm ")
    data = (
        b"From: =?utf-8?q?x?= <carol..x@example.org>\r\nTo: team-join@lists.example.test\r\nSubject: join\r\n\r\nhi\r\n"
    )
    assert lmtp_send(engine.lmtp, "carol..x@example.org", [JOIN], data)[JOIN].startswith("250")
    assert "not an address we can subscribe" in body_of(box.expect("carol..x@example.org", "Re: join"))
    settle(settings)
    assert sql(settings, "SELECT count(*) FROM inbound WHERE status = 'quarantined'") == [(0,)]


def test_a_reply_is_marked_automatic_and_threads_under_the_request(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"])
    box = Mailbox(sink)
    msgid = send(engine.lmtp, "alice@example.com", REQUEST, "info")
    reply = box.expect("alice@example.com", "Re: info")
    assert reply["Auto-Submitted"] == "auto-replied" and reply["List-Id"].endswith("<team.lists.example.test>")
    assert reply["In-Reply-To"] == msgid and reply["From"].endswith("<team-owner@lists.example.test>")


def test_someone_who_joined_by_mail_has_a_first_post_reviewed_and_an_invited_one_not(engine, sink, settings,
                                                                                      make_list):  # fmt: skip
    make_list("team", members=["alice@example.com"], facilitators=("fac@example.com",))
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    reply_to(engine.lmtp, box.expect("carol@example.org", "confirm "), "carol@example.org")
    box.expect("carol@example.org", "Welcome")
    send(engine.lmtp, "carol@example.org", TEAM, "My first post")
    box.expect("fac@example.com", "Held for review: My first post")
    assert sql(settings, "SELECT moderation FROM members WHERE email = 'carol@example.org'") == [("new",)]
