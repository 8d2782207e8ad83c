"""Who may post, and which mail is never redistributed, seen from the members' side."""

from __future__ import annotations

import time

from support.mail import lmtp_send, make_post, parse

MEMBERS = ["alice@example.com", "bob@example.com"]


def settle(sink, count: int) -> list[tuple[str, bytes]]:
    found = sink.wait_for(count) if count else []
    time.sleep(1.0)  # and nothing more arrives
    assert len(sink.deliveries()) == count, sink.deliveries()
    return found


def test_a_nonmember_post_is_refused_with_a_notice_saying_why(engine, sink, make_list):
    address = make_list("team", members=MEMBERS, nonmember_action="reject")
    lmtp_send(engine.lmtp, "mallory@example.net", [address], make_post("mallory@example.net"))
    [(rcpt, data)] = settle(sink, 1)
    notice = parse(data)
    assert rcpt == "mallory@example.net"
    assert notice["Auto-Submitted"] == "auto-replied"
    assert notice["In-Reply-To"] == "<p1@example.com>"
    assert "mallory@example.net is not a member of the list" in notice.get_payload()


def test_a_nonmember_post_is_held_by_default_and_the_sender_told_it_awaits_review(engine, sink, make_list):
    address = make_list("team", members=MEMBERS, facilitators=("fac@example.org",))
    lmtp_send(engine.lmtp, "mallory@example.net", [address], make_post("mallory@example.net"))
    received = {rcpt: parse(data) for rcpt, data in settle(sink, 2)}
    assert received["fac@example.org"]["Subject"] == "Held for review: Hello"
    notice = received["mallory@example.net"]
    assert notice["Subject"] == "Awaiting review: Hello" and notice["Auto-Submitted"] == "auto-replied"
    assert "mallory@example.net is not a member of the list" in notice.get_payload()


def test_notices_are_sent_at_most_once_a_day_per_address(engine, sink, make_list):
    address = make_list("team", members=MEMBERS, nonmember_action="reject")
    for index in range(3):
        post = make_post("mallory@example.net", msgid=f"<spam{index}@example.net>")
        lmtp_send(engine.lmtp, "mallory@example.net", [address], post)
    settle(sink, 1)


def test_loops_automatic_mail_and_bounces_are_never_redistributed_nor_answered(engine, sink, make_list):
    address = make_list("team", members=MEMBERS)
    cases = [
        ("alice@example.com", "X-BeenThere: team@lists.example.test\r\n"),
        ("alice@example.com", "List-Id: Team <team.lists.example.test>\r\n"),
        ("alice@example.com", "Auto-Submitted: auto-replied\r\n"),
        ("alice@example.com", "Precedence: bulk\r\n"),
        ("", ""),
        ("MAILER-DAEMON@example.com", ""),
    ]
    for index, (mail_from, extra) in enumerate(cases):
        post = make_post("alice@example.com", msgid=f"<auto{index}@example.com>", extra=extra)
        assert lmtp_send(engine.lmtp, mail_from, [address], post)[address].startswith("250")
    nonmember_auto = make_post(
        "robot@example.net", msgid="<robot@example.net>", extra="Auto-Submitted: auto-generated\r\n"
    )
    lmtp_send(engine.lmtp, "robot@example.net", [address], nonmember_auto)
    settle(sink, 0)


def test_request_address_answers_help_and_unsubscribes_the_sender(engine, sink, make_list):
    address = make_list("team", members=MEMBERS)
    request = "team-request@lists.example.test"
    lmtp_send(
        engine.lmtp,
        "bob@example.com",
        [request],
        make_post("bob@example.com", to=request, subject="help", msgid="<h1@example.com>"),
    )
    [(rcpt, data)] = sink.wait_for(1)
    assert rcpt == "bob@example.com" and "To post, write to team@lists.example.test" in parse(data).get_payload()
    leave = make_post("bob@example.com", to=request, subject="unsubscribe", msgid="<u1@example.com>")
    lmtp_send(engine.lmtp, "bob@example.com", [request], leave)
    goodbye = parse(sink.wait_for(2)[1][1])
    assert "bob@example.com has left" in goodbye.get_payload()
    lmtp_send(engine.lmtp, "alice@example.com", [address], make_post(msgid="<after@example.com>"))
    settle(sink, 2)  # bob no longer receives posts; alice is the only member left, and the sender
