"""The core post path, end to end: LMTP/SMTP in, a real SMTP sink out."""

from __future__ import annotations

import smtplib

import pytest

from support.mail import lmtp_send, make_post, parse

MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org"]


def test_a_post_reaches_every_other_member_decorated_as_list_mail(engine, sink, make_list):
    make_list("team", members=MEMBERS)
    replies = lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], make_post())
    assert replies["team@lists.example.test"].startswith("250")
    received = sink.wait_for(2)
    assert sorted(rcpt for rcpt, _ in received) == ["bob@example.com", "carol@example.org"]
    message = parse(received[0][1])
    assert message["List-Id"] == '"Team" <team.lists.example.test>'
    assert message["List-Post"] == "<mailto:team@lists.example.test>"
    assert message["List-Unsubscribe"].startswith("<mailto:team-request@lists.example.test")
    assert message["List-Help"] and message["List-Owner"] == "<mailto:team-owner@lists.example.test>"
    assert message["Precedence"] == "list"
    assert message["X-BeenThere"] == "team@lists.example.test"
    assert message["Subject"] == "[team] Hello"
    assert message["Message-ID"] == "<p1@example.com>"
    assert "mail team-request@lists.example.test with the subject" in message.get_payload()
    assert sink.messages[0].mail_from == "team-bounces@lists.example.test"
    assert b"\r\n" in received[0][1] and b"\n" not in received[0][1].replace(b"\r\n", b"")


def test_a_reply_keeps_threading_headers_and_the_prefix_is_not_doubled(engine, sink, make_list):
    make_list("team", members=MEMBERS)
    reply = make_post(
        "bob@example.com",
        subject="Re: [team] Hello",
        msgid="<r1@example.com>",
        extra="In-Reply-To: <p1@example.com>\r\nReferences: <p0@example.com> <p1@example.com>\r\n",
    )
    lmtp_send(engine.lmtp, "bob@example.com", ["team@lists.example.test"], reply)
    message = parse(sink.wait_for(2)[0][1])
    assert message["Subject"] == "[team] Re: Hello"
    assert message["In-Reply-To"] == "<p1@example.com>"
    assert message["References"] == "<p0@example.com> <p1@example.com>"


def test_a_member_who_asks_for_their_own_posts_gets_them(engine, sink, make_list, settings):
    from listserv.features import MEMBER_SETTINGS
    from listserv.store import admin, db

    make_list("team", members=MEMBERS)
    sessions = db.sessions(engine.engine)
    with sessions() as session, session.begin():
        list_id = admin.get_list(session, "team@lists.example.test").id
        admin.set_member(session, list_id, "alice@example.com", "receive_own_posts", "yes", MEMBER_SETTINGS)
    lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], make_post())
    assert sorted(r for r, _ in sink.wait_for(3)) == sorted(MEMBERS)


def test_the_same_message_delivered_twice_is_distributed_once(engine, sink, make_list):
    make_list("team", members=MEMBERS)
    post = make_post()
    first = lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], post)
    # the second copy went through another hop: a Received header more, LF line ends
    again = b"Received: from relay2.example.com by mx.example.test; Sun, 29 Nov 2026\r\n" + post
    second = lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], again.replace(b"\r\n", b"\n"))
    assert first["team@lists.example.test"].startswith("250") and second["team@lists.example.test"].startswith("250")
    sink.wait_for(2)
    import time

    time.sleep(1.0)
    assert len(sink.deliveries()) == 2


def test_a_reused_message_id_with_different_content_is_not_merged(engine, sink, make_list):
    make_list("team", members=MEMBERS)
    lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], make_post(body="first\n"))
    lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], make_post(body="second\n"))
    assert len(sink.wait_for(4)) == 4


def test_unknown_addresses_are_refused_at_rcpt_we_are_not_an_open_relay(engine, make_list):
    make_list("team", members=MEMBERS)
    for address in (engine.lmtp, engine.smtp):
        replies = lmtp_send(
            engine.lmtp,
            "x@example.com",
            ["nobody@lists.example.test", "bob@example.com", "team@elsewhere.example"],
            make_post(),
        )
        assert all(r.startswith("550 5.1.1") for r in replies.values()), replies
    with smtplib.SMTP(*engine.smtp) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("x@example.com", ["victim@example.net"], make_post())
        assert refused.value.recipients["victim@example.net"][0] == 550


def test_lmtp_answers_each_recipient_and_service_addresses_are_accepted(engine, sink, make_list):
    make_list("team", members=MEMBERS, facilitators=("fac@example.com",))
    make_list("big", members=MEMBERS, max_message_size="2000")
    post = make_post(body="x" * 3000 + "\n")
    replies = lmtp_send(
        engine.lmtp,
        "alice@example.com",
        [
            "team@lists.example.test",
            "big@lists.example.test",
            "team-owner@lists.example.test",
            "nope@lists.example.test",
        ],
        post,
    )
    assert replies["team@lists.example.test"].startswith("250")
    assert replies["big@lists.example.test"].startswith("552 5.3.4")
    assert replies["team-owner@lists.example.test"].startswith("250")
    assert replies["nope@lists.example.test"].startswith("550 5.1.1")
    received = sink.wait_for(4)
    markers = [parse(data)["X-BeenThere"] for rcpt, data in received if rcpt == "fac@example.com"]
    assert sorted(markers) == ["team-owner@lists.example.test", "team@lists.example.test"]


def test_the_smtp_listener_distributes_too(engine, sink, make_list):
    make_list("team", members=MEMBERS)
    with smtplib.SMTP(*engine.smtp) as client:
        client.sendmail("alice@example.com", ["team@lists.example.test"], make_post())
    assert len(sink.wait_for(2)) == 2


def test_a_list_larger_than_one_planning_chunk_gets_the_post_exactly_once(engine, sink, make_list, settings):
    from collections import Counter

    from listserv.store import admin, db, queries

    members = [f"m{i:05d}@example.org" for i in range(queries.PLAN_CHUNK * 2 + 345)]
    address = make_list("big")
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session, session.begin():
        admin.insert_members(
            session, admin.get_list(session, address).id, [(m, "") for m in members], engine.work.now()
        )
    sql.dispose()
    lmtp_send(engine.lmtp, members[7], [address], make_post(members[7], to=address))
    received = sink.wait_for(len(members) - 1, timeout=120)
    counts = Counter(rcpt for rcpt, _ in received)
    assert len(counts) == len(members) - 1 and set(counts.values()) == {1} and members[7] not in counts
