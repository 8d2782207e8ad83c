"""Whole moderation conversations through the real listeners: a post is held, the notice is
captured at the sink, a facilitator's mail client replies to it over LMTP, and the post
reaches the members (or the sender hears why not)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from listserv.moderation.tables import HeldPost, ModerationLog, SenderRule
from listserv.store import db
from listserv.store.schema import Member, Post
from support.clients import (
    apple_mail_reply,
    gmail_reply,
    mutt_reply,
    outlook_html_reply,
    outlook_plain_reply,
    plain_reply,
    reply_address,
)
from support.mail import lmtp_send, make_post, parse
from support.moderation import (
    FAC,
    FAC2,
    LIST,
    MEMBERS,
    OUTSIDER,
    body_text,
    mails,
    notice_for,
    post_copies,
    settle,
    wait_mail,
    wait_post,
)


def hold_outsider_post(engine, sink, msgid="<out1@outside.example>", subject="A question from outside", body=None):
    post = make_post(OUTSIDER, subject=subject, msgid=msgid,
                     body=body or "Hello all,\nhow do you keep a retrospective short?\nOlga\n")  # fmt: skip
    assert lmtp_send(engine.lmtp, OUTSIDER, [LIST], post)[LIST].startswith("250")
    return notice_for(sink, FAC), notice_for(sink, FAC2)


def send_reply(engine, raw: bytes, mail_from: str, to: str) -> None:
    assert lmtp_send(engine.lmtp, mail_from, [to], raw)[to].startswith("250")


def rows(settings, model, *where):
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session:
        found = list(session.scalars(select(model).where(*where)))
    sql.dispose()
    return found


def test_a_nonmember_post_is_held_and_every_facilitator_gets_a_notice_they_can_act_on(engine, sink, team):
    notice, other = hold_outsider_post(engine, sink)
    assert notice["Subject"] == "Held for review: A question from outside"
    assert notice["Auto-Submitted"] == "auto-generated"
    token_address = reply_address(notice)
    assert token_address.startswith("team-moderate+") and token_address.endswith("@lists.example.test")
    assert reply_address(other) != token_address  # each facilitator has a token of their own
    assert len(token_address.partition("+")[2].partition("@")[0]) >= 22  # >= 128 bits
    text = body_text(notice)
    assert f"From:     {OUTSIDER}" in text and "Subject:  A question from outside" in text
    assert f"{OUTSIDER} is not a member of the list" in text
    assert "how do you keep a retrospective short?" in text
    assert '"approve always", "reject" and a reason, "discard", or "edit"' in text
    attached = [p for p in notice.walk() if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1 and attached[0].get_payload(0)["Message-ID"] == "<out1@outside.example>"
    [awaiting] = wait_mail(sink, OUTSIDER, "Awaiting review")
    assert "waiting for a facilitator to review it" in body_text(awaiting)
    settle()
    assert post_copies(sink, "<out1@outside.example>") == []


@pytest.mark.parametrize("client", ["gmail", "outlook-html", "outlook-plain", "apple-mail", "mutt", "plain"])
def test_an_empty_reply_from_any_client_approves_and_the_post_reaches_the_members(engine, sink, team, client,
                                                                                    settings):  # fmt: skip
    notice, _ = hold_outsider_post(engine, sink)
    compose = {"gmail": gmail_reply, "outlook-html": outlook_html_reply, "outlook-plain": outlook_plain_reply,
               "apple-mail": apple_mail_reply, "mutt": mutt_reply, "plain": plain_reply}[client]  # fmt: skip
    send_reply(engine, compose(notice, FAC, ""), FAC, reply_address(notice))
    assert wait_post(sink, "<out1@outside.example>", 4) == sorted(MEMBERS + [FAC, FAC2])
    copy = parse(next(d for to, d in sink.deliveries() if to == "alice@example.com"))
    assert copy["From"] == OUTSIDER and copy["Subject"] == "[team] A question from outside"
    [fyi] = wait_mail(sink, FAC2, "Approved by fran@fac.example.org")
    assert "fran@fac.example.org approved the message from olga@outside.example" in body_text(fyi)
    assert [p.decision for p in rows(settings, Post)] == ["accept"]


@pytest.mark.parametrize(
    ("client", "verb"),
    [("gmail", "Approve"), ("outlook-html", "<b>APPROVE</b>"), ("apple-mail", "approve."), ("mutt", "approve")],
)
def test_approve_is_read_whatever_the_client_and_case(engine, sink, team, client, verb):
    notice, _ = hold_outsider_post(engine, sink)
    compose = {"gmail": gmail_reply, "outlook-html": outlook_html_reply, "apple-mail": apple_mail_reply,
               "mutt": mutt_reply}[client]  # fmt: skip
    send_reply(engine, compose(notice, FAC, verb), FAC, reply_address(notice))
    assert len(wait_post(sink, "<out1@outside.example>", 4)) == 4


@pytest.mark.parametrize("client", ["gmail", "outlook-html", "mutt"])
def test_reject_with_a_reason_tells_the_sender_politely_and_distributes_nothing(engine, sink, team, client, settings):
    notice, _ = hold_outsider_post(engine, sink)
    compose = {"gmail": gmail_reply, "outlook-html": outlook_html_reply, "mutt": mutt_reply}[client]
    send_reply(engine, compose(notice, FAC, "Reject: please ask this in the forum instead"), FAC,
               reply_address(notice))  # fmt: skip
    [told] = wait_mail(sink, OUTSIDER, "Not distributed: A question from outside")
    assert "Their reason: please ask this in the forum instead" in body_text(told)
    assert told["Auto-Submitted"] == "auto-replied"
    wait_mail(sink, FAC2, "Rejected by fran@fac.example.org")
    settle()
    assert post_copies(sink, "<out1@outside.example>") == []
    [held] = rows(settings, HeldPost)
    assert (held.status, held.verb, held.handled_by, held.note) == (
        "rejected",
        "reject",
        FAC,
        "please ask this in the forum instead",
    )


def test_discard_drops_the_post_silently(engine, sink, team, settings):
    notice, _ = hold_outsider_post(engine, sink)
    send_reply(engine, apple_mail_reply(notice, FAC, "Discard"), FAC, reply_address(notice))
    wait_mail(sink, FAC2, "Discarded by fran@fac.example.org")
    settle()
    assert post_copies(sink, "<out1@outside.example>") == []
    assert [m["Subject"] for m in mails(sink, OUTSIDER)] == ["Awaiting review: A question from outside"]
    assert [p.decision for p in rows(settings, Post)] == ["discard"]


def test_edit_distributes_the_corrected_text_and_keeps_the_attachment(engine, sink, team):
    post = (f"From: {OUTSIDER}\r\nTo: {LIST}\r\nSubject: Slides\r\nMessage-ID: <slides@outside.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nHere are the slides. Call me on 555-0100!\r\n--XX\r\n"
            "Content-Type: application/pdf; name=slides.pdf\r\nContent-Disposition: attachment; filename=slides.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n").encode()  # fmt: skip
    lmtp_send(engine.lmtp, OUTSIDER, [LIST], post)
    notice = notice_for(sink, FAC)
    reply = gmail_reply(notice, FAC, "edit\nHere are the slides.\nOlga (phone number removed by the facilitator)")
    send_reply(engine, reply, FAC, reply_address(notice))
    wait_post(sink, "<slides@outside.example>", 4)
    copy = parse(next(d for to, d in sink.deliveries() if to == "bob@example.com"))
    parts = [p for p in copy.walk() if not p.is_multipart()]
    text = parts[0].get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "Here are the slides.\nOlga (phone number removed by the facilitator)" in text
    assert "555-0100" not in copy.as_string()
    pdf = [p for p in parts if p.get_content_type() == "application/pdf"]
    assert pdf and pdf[0].get_payload(decode=True) == b"%PDF-1.4\n"


def test_approve_always_lets_the_outsider_post_without_review_afterwards(engine, sink, team, settings):
    notice, _ = hold_outsider_post(engine, sink)
    send_reply(engine, gmail_reply(notice, FAC, "approve always"), FAC, reply_address(notice))
    wait_post(sink, "<out1@outside.example>", 4)
    assert [(r.pattern, r.action) for r in rows(settings, SenderRule)] == [(OUTSIDER, "accept")]
    again = make_post(OUTSIDER, subject="Follow-up", msgid="<out2@outside.example>")
    lmtp_send(engine.lmtp, OUTSIDER, [LIST], again)
    assert len(wait_post(sink, "<out2@outside.example>", 4)) == 4
    assert len(mails(sink, FAC, "Held for review")) == 1


def test_a_newcomers_first_post_is_held_and_approving_it_frees_the_next(engine, sink, team, settings):
    from listserv.features import MEMBER_SETTINGS
    from listserv.store import admin

    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session, session.begin():
        list_id = admin.get_list(session, LIST).id
        admin.add_member(session, list_id, "nina@example.com", engine.work.now())
        admin.set_member(session, list_id, "nina@example.com", "moderation", "new", MEMBER_SETTINGS)
    sql.dispose()
    lmtp_send(engine.lmtp, "nina@example.com", [LIST], make_post("nina@example.com", msgid="<n1@example.com>"))
    notice = notice_for(sink, FAC)
    assert "a new member's first post is reviewed" in body_text(notice)
    send_reply(engine, mutt_reply(notice, FAC, "approve"), FAC, reply_address(notice))
    wait_post(sink, "<n1@example.com>", 4)
    lmtp_send(engine.lmtp, "nina@example.com", [LIST], make_post("nina@example.com", msgid="<n2@example.com>"))
    wait_post(sink, "<n2@example.com>", 4)
    [nina] = rows(settings, Member, Member.email == "nina@example.com")
    assert (nina.moderation, nina.posts_approved) == ("", 1)


def test_the_audit_log_records_the_hold_and_the_decision(engine, sink, team, settings):
    notice, _ = hold_outsider_post(engine, sink)
    send_reply(engine, plain_reply(notice, FAC, "approve"), FAC, reply_address(notice))
    wait_post(sink, "<out1@outside.example>", 4)
    entries = rows(settings, ModerationLog)
    assert [(e.actor, e.verb, e.rules) for e in entries] == [("listserv", "hold", "nonmember"),
                                                             (FAC, "approve", "nonmember")]  # fmt: skip
    assert "distributed: 4 deliveries planned" in entries[1].detail
