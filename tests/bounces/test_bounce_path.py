"""Bounces through the real engine: reports delivered over LMTP to LIST-bounces, the relay's refusals
in the ledger, the job run at chosen moments; members are paused, told, resumed and removed."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from listserv.bounces.jobs import run_bounces
from support.bounce_mail import arf, bounce, dsn
from support.conversation import Mailbox, body_of, run_job, send, settle, sql
from support.corpora import corpora

DOMAIN = "lists.example.test"
TEAM, REQUEST = f"team@{DOMAIN}", f"team-request@{DOMAIN}"


def state_of(settings, email):
    return sql(settings, "SELECT state, score > 0 FROM member_bounces WHERE email = :e", e=email)


def test_verp_bounces_pause_the_member_who_is_told_and_resumes_with_a_command(engine, sink, settings, make_list,
                                                                               clock):  # fmt: skip
    make_list("team", members=["alice@example.com", "bob@example.org", "carol@example.com"], bounce_threshold="2")
    box = Mailbox(sink)
    bounce(engine, dsn("bob@example.org"), "bob=example.org")
    bounce(engine, dsn("bob@example.org"), "bob=example.org")  # the same day: counted once
    settle(settings)
    assert sql(settings, "SELECT state, score FROM member_bounces") == [("ok", 1.0)]
    clock.advance(timedelta(days=1))
    bounce(engine, dsn("bob@forwarded.example.net", "4.2.2", "delayed"), "bob=example.org")  # soft, forwarded
    settle(settings)
    assert state_of(settings, "bob@example.org") == [("ok", True)]
    clock.advance(timedelta(days=1))
    bounce(engine, dsn("bob@example.org"), "bob=example.org")
    notice = body_of(box.expect("bob@example.org", "Your mail from Team is paused"))
    assert "set delivery each" in notice and REQUEST in notice and "550 5.1.1" in notice
    assert state_of(settings, "bob@example.org") == [("disabled", True)]
    assert sql(settings, "SELECT kind, source FROM bounce_events ORDER BY id") == [
        ("hard", "report"), ("hard", "report"), ("soft", "report"), ("hard", "report")]  # fmt: skip

    send(engine.lmtp, "alice@example.com", TEAM, "While bob is paused")
    box.expect("carol@example.com", "While bob is paused")
    settle(settings)
    assert box.unread() == []  # bob gets nothing (nor alice: her own post)

    send(engine.lmtp, "bob@example.org", REQUEST, "", "set delivery each")
    box.expect("bob@example.org")
    assert run_job(clock, settings, run_bounces, clock()) == 1  # the resume
    assert state_of(settings, "bob@example.org") == [("ok", False)]
    send(engine.lmtp, "alice@example.com", TEAM, "Welcome back bob")
    box.expect("bob@example.org", "Welcome back bob")
    box.expect("carol@example.com", "Welcome back bob")


def test_a_paused_member_is_removed_after_the_period_and_told(engine, sink, settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.org"], bounce_threshold="1", bounce_remove_days="14")
    box = Mailbox(sink)
    start = clock()
    bounce(engine, dsn("bob@example.org"), "bob=example.org")
    assert "your membership ends on" in body_of(box.expect("bob@example.org", "paused"))
    assert run_job(clock, settings, run_bounces, start + timedelta(days=13)) == 0
    assert sql(settings, "SELECT count(*) FROM members WHERE email = 'bob@example.org'") == [(1,)]
    assert run_job(clock, settings, run_bounces, start + timedelta(days=14, minutes=5)) == 1
    assert "is no longer a member" in body_of(box.expect("bob@example.org", "You are no longer on Team"))
    assert sql(settings, "SELECT count(*) FROM members WHERE email = 'bob@example.org'") == [(0,)]
    assert sql(settings, "SELECT state FROM member_bounces") == [("removed",)]
    assert sql(settings, "SELECT event, detail FROM membership_events WHERE event = 'removed'") == [
        ("removed", "bounces")]  # fmt: skip
    assert run_job(clock, settings, run_bounces, start + timedelta(days=15)) == 0


def test_a_relay_refusal_at_rcpt_counts_as_a_hard_bounce_once(engine, sink, settings, make_list, clock):
    sink.handler.rcpt_replies["dead.example.net"] = "550 5.1.1 <carol@dead.example.net>: no such user"
    make_list("team", members=["alice@example.com", "carol@dead.example.net"], bounce_threshold="1")
    box = Mailbox(sink)
    send(engine.lmtp, "alice@example.com", TEAM, "Hello all")
    settle(settings)
    assert run_job(clock, settings, run_bounces, clock()) == 1
    assert sql(settings, "SELECT kind, source FROM bounce_events") == [("hard", "relay")]
    assert state_of(settings, "carol@dead.example.net") == [("disabled", True)]
    settle(settings)
    assert box.unread() == []  # the paused notice was refused by the relay too:
    assert run_job(clock, settings, run_bounces, clock()) == 1  # counted, the same day (the score stays)
    assert run_job(clock, settings, run_bounces, clock()) == 0  # the ledger is read once
    assert sql(settings, "SELECT state, score FROM member_bounces") == [("disabled", 1.0)]


def test_a_refusal_counts_at_once_while_a_deferred_recipient_keeps_its_batch_open(engine, sink, settings,
                                                                                   make_list, clock):  # fmt: skip
    sink.handler.rcpt_replies["defer.example.net"] = "450 4.2.1 <dora@defer.example.net>: try again later"
    sink.handler.rcpt_replies["dead.example.net"] = "550 5.1.1 <carol@dead.example.net>: no such user"
    make_list("team", members=["alice@example.com", "dora@defer.example.net", "carol@dead.example.net"])
    send(engine.lmtp, "alice@example.com", TEAM, "Hello all")
    deadline = time.monotonic() + 20
    while sql(settings, "SELECT status FROM deliveries WHERE rcpt = 'carol@dead.example.net'") != [("failed",)]:
        assert time.monotonic() < deadline, "the relay's refusal was never recorded"
        time.sleep(0.05)
    assert sql(settings, "SELECT status FROM batches") == [("pending",)]  # dora's 450: retried later
    assert run_job(clock, settings, run_bounces, clock()) == 1
    assert run_job(clock, settings, run_bounces, clock()) == 0  # counted once, though its batch is still open
    assert sql(settings, "SELECT email, source FROM bounce_events") == [("carol@dead.example.net", "relay")]
    [(cursor,)] = sql(settings, "SELECT last_id FROM bounce_scan")
    [(carol,)] = sql(settings, "SELECT id FROM deliveries WHERE rcpt = 'carol@dead.example.net'")
    assert cursor < carol  # the ledger is not settled past the open batch


def test_a_real_postfix_bounce_without_verp_counts_for_the_recipient_it_names(engine, settings, make_list):
    make_list("team", members=["alice@example.com", "kijitora@example.net"])
    bounce(engine, (corpora("sisimai_set_of_emails", "maildir", "bsd") / "lhost-postfix-03.eml").read_bytes())
    settle(settings)
    assert sql(settings, "SELECT email, kind FROM bounce_events") == [("kijitora@example.net", "hard")]


def test_auto_replies_to_the_bounce_address_count_for_nothing(engine, settings, make_list):
    make_list("team", members=["kijitora@example.net"])
    folder = corpora("sisimai_set_of_emails", "maildir", "bsd")
    for name in ("rfc3834-01.eml", "rfc3834-02.eml", "rfc3834-05.eml"):
        bounce(engine, (folder / name).read_bytes(), "kijitora=example.net")
    settle(settings)
    assert sql(settings, "SELECT count(*) FROM bounce_events") == [(0,)]
    assert sql(settings, "SELECT count(*) FROM inbound WHERE role = 'bounces'") == [(3,)]


def test_a_feedback_loop_complaint_unsubscribes_the_member_and_says_how_to_come_back(engine, sink, settings,
                                                                                     make_list):  # fmt: skip
    make_list("team", members=["alice@example.com", "carol@example.net"])
    box = Mailbox(sink)
    bounce(engine, arf("carol@example.net"))
    notice = body_of(box.expect("carol@example.net", "You are no longer on Team"))
    assert "reported as unwanted" in notice and f"team-join@{DOMAIN}" in notice
    assert sql(settings, "SELECT email FROM members") == [("alice@example.com",)]
    assert sql(settings, "SELECT state, reason FROM member_bounces") == [("removed", "feedback report (abuse)")]
    assert sql(settings, "SELECT event, detail FROM membership_events WHERE event = 'removed'") == [
        ("removed", "complaint")]  # fmt: skip


def test_a_complaint_about_other_mail_unsubscribes_nobody_unless_verp_names_the_member(engine, sink, settings,
                                                                                       make_list):  # fmt: skip
    make_list("team", members=["alice@example.com", "redacted@example.net"])
    box = Mailbox(sink)
    real = (corpora("sisimai_set_of_emails", "maildir", "bsd") / "arf-01.eml").read_bytes()  # not our list's mail
    bounce(engine, real)
    bounce(engine, arf("redacted@example.net", list_headers="List-Id: <other.example.org>\n"))
    settle(settings)
    assert sql(settings, "SELECT count(*) FROM members") == [(2,)]
    resent = real.replace(b"Message-ID: <000000000000000.", b"Message-ID: <000000000000001.", 1)  # not a duplicate
    bounce(engine, resent, "redacted=example.net")  # to the member's VERP address: about our mail
    box.expect("redacted@example.net", "You are no longer on Team")
    assert sql(settings, "SELECT email FROM members") == [("alice@example.com",)]


def test_a_member_who_left_leaves_no_score_behind(engine, sink, settings, make_list, clock, cli):
    make_list("team", members=["alice@example.com", "bob@example.org"])
    bounce(engine, dsn("bob@example.org"), "bob=example.org")
    settle(settings)
    cli("member", "rm", "team", "bob@example.org")
    assert run_job(clock, settings, run_bounces, clock()) == 0
    assert sql(settings, "SELECT count(*) FROM member_bounces") == [(0,)]
    assert sql(settings, "SELECT count(*) FROM bounce_events") == [(0,)]


def test_bounce_ls_shows_each_member_with_a_history_and_why(engine, sink, settings, make_list, clock, cli):
    sink.handler.rcpt_replies["dead.example.net"] = "550 5.1.1 <carol@dead.example.net>: no such user"
    make_list("team", members=["alice@example.com", "carol@dead.example.net", "dan@example.org"], bounce_threshold="1")
    bounce(engine, dsn("dan@example.org", "4.2.2", "delayed"), "dan=example.org")
    send(engine.lmtp, "alice@example.com", TEAM, "Hello all")
    settle(settings)
    run_job(clock, settings, run_bounces, clock())
    rows = {row["email"]: row for row in json.loads(cli("bounce", "ls", "team", "--json"))}
    assert rows.keys() == {"carol@dead.example.net", "dan@example.org"}  # alice never bounced
    carol, dan = rows["carol@dead.example.net"], rows["dan@example.org"]
    assert (carol["state"], carol["score"], carol["reason"]) == (
        "disabled",
        1.0,
        "550 5.1.1 <carol@dead.example.net>: no such user",
    )
    assert carol["remove_on"] and carol["disabled_at"] and carol["last_bounce"]
    assert (dan["state"], dan["score"], dan["remove_on"]) == ("ok", 0.5, None)
    assert dan["reason"].startswith("4.2.2")
    text = cli("bounce", "ls", "team")
    assert "carol@dead.example.net\tdisabled\t1\t" in text and "dan@example.org\tok\t0.5\t" in text
    assert "no list" in cli("bounce", "ls", "nope", code=1).lower()
