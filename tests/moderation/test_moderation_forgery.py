"""Replies that must not act: wrong sender, a member's address, someone else's token, a reused
or expired token, another list's token, guessed tokens, failing DKIM/DMARC, autoresponders.
Answers go to the registered facilitator address only, never to whoever the reply claims to be."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from listserv.moderation.act import act
from listserv.moderation.approve import ReplyCommand, Verb
from listserv.moderation.tables import HeldPost, ModerationLog
from listserv.store import db
from listserv.store.schema import Outbound, Token
from support.clients import (
    dkim_signed,
    gmail_reply,
    mutt_reply,
    plain_reply,
    reply_address,
)
from support.dkim_keys import OTHER_PUBLIC, SIGNING_PUBLIC
from support.engine import RunningEngine
from support.mail import lmtp_send, make_post
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

MALLORY = "mallory@evil.example"
MSGID = "<out1@outside.example>"


def hold(engine, sink, msgid=MSGID):
    lmtp_send(engine.lmtp, OUTSIDER, [LIST], make_post(OUTSIDER, subject="Outside question", msgid=msgid))
    return notice_for(sink, FAC), notice_for(sink, FAC2)


def send(engine, raw: bytes, mail_from: str, to: str) -> None:
    assert lmtp_send(engine.lmtp, mail_from, [to], raw)[to].startswith("250")


def log_entries(settings):
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session:
        found = [(e.actor, e.verb, e.detail) for e in session.scalars(select(ModerationLog).order_by(ModerationLog.id))]
    sql.dispose()
    return found


@pytest.mark.parametrize("forger", [MALLORY, "alice@example.com", FAC2])
def test_a_reply_from_anyone_but_the_facilitator_the_token_was_sent_to_is_refused(engine, sink, team, forger,
                                                                                   settings):  # fmt: skip
    notice, _ = hold(engine, sink)
    send(engine, gmail_reply(notice, forger, "approve"), forger, reply_address(notice))
    [warning] = wait_mail(sink, FAC, "Not done: Outside question")
    text = body_text(warning)
    assert f"The reply said it came from: {forger}" in text and "nothing was done" in text
    settle()
    assert post_copies(sink, MSGID) == []
    assert mails(sink, forger, "Not done") == []  # never told to the claimed sender
    assert "refused" in [verb for _, verb, _ in log_entries(settings)]
    send(engine, gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))  # the real one still works
    assert len(wait_post(sink, MSGID, 4)) == 4


def test_a_reused_token_is_answered_already_handled_and_acts_once(engine, sink, team, settings):
    notice, _ = hold(engine, sink)
    send(engine, plain_reply(notice, FAC, "approve"), FAC, reply_address(notice))
    wait_post(sink, MSGID, 4)
    send(engine, plain_reply(notice, FAC, "reject spam"), FAC, reply_address(notice))
    [answer] = wait_mail(sink, FAC, "Already handled: Outside question")
    assert "approve by fran@fac.example.org at" in body_text(answer)
    settle()
    assert len(post_copies(sink, MSGID)) == 4
    assert mails(sink, OUTSIDER, "Not distributed") == []


def test_the_other_facilitators_late_reply_is_told_who_handled_it_and_when(engine, sink, team):
    notice, late = hold(engine, sink)
    send(engine, mutt_reply(notice, FAC, "discard"), FAC, reply_address(notice))
    wait_mail(sink, FAC2, "Discarded by fran@fac.example.org")
    send(engine, gmail_reply(late, FAC2, "approve"), FAC2, reply_address(late))
    [answer] = wait_mail(sink, FAC2, "Already handled")
    assert "discard by fran@fac.example.org at 20" in body_text(answer)
    settle()
    assert post_copies(sink, MSGID) == []


def test_a_token_sent_to_another_lists_address_does_nothing_and_gets_no_answer(engine, sink, team, make_list):
    make_list("other", members=MEMBERS, facilitators=(FAC,))
    notice, _ = hold(engine, sink)
    wrong = reply_address(notice).replace("team-moderate+", "other-moderate+")
    send(engine, gmail_reply(notice, FAC, "approve", to=wrong), FAC, wrong)
    settle(1.5)
    assert post_copies(sink, MSGID) == []
    assert mails(sink, FAC, "Not done") == [] and mails(sink, FAC, "Already") == []


def test_guessed_tokens_are_rate_limited_per_sender(settings, sink, team):
    running = RunningEngine(replace(settings, moderation_guess_limit=3)).start()
    try:
        notice, _ = hold(running, sink)
        for index in range(3):
            guess = f"team-moderate+{'A' * 26}{index}@lists.example.test"
            send(running, gmail_reply(notice, FAC, "approve", to=guess), FAC, guess)
        settle(1.5)
        send(running, gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))  # now even the real token
        settle(1.5)
        assert post_copies(sink, MSGID) == []
        verbs = [verb for _, verb, _ in log_entries(settings)]
        assert verbs == ["hold", "refused", "refused", "refused"]
    finally:
        running.stop()


def test_an_expired_token_is_refused(engine, sink, team, settings):
    notice, _ = hold(engine, sink)
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session, session.begin():
        session.execute(
            update(Token).where(Token.purpose == "moderate").values(expires_at=engine.work.now() - timedelta(minutes=1))
        )
    sql.dispose()
    send(engine, gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))
    [warning] = wait_mail(sink, FAC, "Not done")
    assert "the token expired at" in body_text(warning)
    settle()
    assert post_copies(sink, MSGID) == []


def test_an_autoresponder_answering_the_notice_never_approves(engine, sink, team):
    notice, _ = hold(engine, sink)
    vacation = gmail_reply(notice, FAC, "I am away until Monday.").replace(
        b"Subject: Re:", b"Auto-Submitted: auto-replied\r\nSubject: Re:", 1
    )
    send(engine, vacation, FAC, reply_address(notice))
    empty_ooo = plain_reply(notice, FAC, "").replace(b"Subject: Re:", b"Subject: Automatic reply: Re:", 1)
    send(engine, empty_ooo, FAC, reply_address(notice))
    settle(1.5)
    assert post_copies(sink, MSGID) == []
    assert mails(sink, FAC, "Not understood") == []


def test_a_reply_with_a_failing_dkim_signature_for_the_facilitators_domain_is_refused(engine, sink, team, dns):
    dns["s1._domainkey.fac.example.org"] = f"v=DKIM1; k=rsa; p={OTHER_PUBLIC}"
    notice, _ = hold(engine, sink)
    forged = dkim_signed(gmail_reply(notice, FAC, "approve"), "fac.example.org")
    send(engine, forged, FAC, reply_address(notice))
    [warning] = wait_mail(sink, FAC, "Not done")
    assert "sender authentication failed for fac.example.org (dkim=fail header.d=fac.example.org" in body_text(warning)
    settle()
    assert post_copies(sink, MSGID) == []


def test_a_reply_with_a_good_dkim_signature_is_applied(engine, sink, team, dns):
    dns["s1._domainkey.fac.example.org"] = f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"
    notice, _ = hold(engine, sink)
    send(engine, dkim_signed(gmail_reply(notice, FAC, "approve"), "fac.example.org"), FAC, reply_address(notice))
    assert len(wait_post(sink, MSGID, 4)) == 4


def test_the_receiving_mtas_dmarc_failure_refuses(engine, sink, team):
    notice, _ = hold(engine, sink)
    header = (b"Authentication-Results: mx.lists.example.test; dkim=none;\r\n"
              b"  dmarc=fail (p=reject dis=none) header.from=fac.example.org\r\n")  # fmt: skip
    send(engine, header + gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))
    [warning] = wait_mail(sink, FAC, "Not done")
    assert "dmarc=fail header.from=fac.example.org" in body_text(warning)
    settle()
    assert post_copies(sink, MSGID) == []


def test_with_strict_checking_only_an_authenticated_reply_acts(settings, sink, team, dns):
    dns["s1._domainkey.fac.example.org"] = f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"
    running = RunningEngine(replace(settings, moderation_auth="require", authserv_ids="mx.lists.example.test")).start()
    try:
        notice, _ = hold(running, sink)
        send(running, gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))
        [warning] = wait_mail(sink, FAC, "Not done")
        assert "no passing DKIM or DMARC result for fac.example.org" in body_text(warning)
        forged_pass = b"Authentication-Results: evil.example; dmarc=pass header.from=fac.example.org\r\n"
        send(running, forged_pass + gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))
        settle(1.5)
        assert post_copies(sink, MSGID) == []
        trusted = b"Authentication-Results: mx.lists.example.test; dmarc=pass header.from=fac.example.org\r\n"
        send(running, trusted + gmail_reply(notice, FAC, "approve"), FAC, reply_address(notice))
        assert len(wait_post(sink, MSGID, 4)) == 4
    finally:
        running.stop()


def test_racing_decisions_on_one_held_post_apply_exactly_once(engine, sink, team, settings):
    hold(engine, sink)
    sql = db.open_engine(settings.database_url)
    sessions = db.sessions(sql)
    with sessions() as session:
        held_id = session.scalar(select(HeldPost.id))
    start, results = threading.Barrier(4), []

    def decide(actor: str, command: ReplyCommand) -> None:
        start.wait()
        with sessions() as session, session.begin():
            outcome = act(engine.work, session, held_id, command, actor, engine.work.now())
            results.append((actor, outcome.applied))

    threads = [threading.Thread(target=decide, args=(f"racer{i}@example.org", command))
               for i, command in enumerate([ReplyCommand(Verb.APPROVE), ReplyCommand(Verb.REJECT, reason="no"),
                                            ReplyCommand(Verb.APPROVE), ReplyCommand(Verb.DISCARD)])]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(applied for _, applied in results) == [False, False, False, True]
    with sessions() as session:
        posts = session.scalars(select(Outbound).where(Outbound.kind == "post")).all()
        held = session.get_one(HeldPost, held_id)
        winner = next(actor for actor, applied in results if applied)
        assert held.handled_by == winner
        assert len(posts) == (1 if held.verb == "approve" else 0)
        decisions = session.scalars(select(ModerationLog.verb).where(ModerationLog.actor.like("racer%"))).all()
        assert len(decisions) == 1
    sql.dispose()
