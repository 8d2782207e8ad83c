"""The hold queue around the conversations: every hold reason end to end, reminders and expiry,
the once-a-day note to senders, and the operator's CLI (held, sender, list set)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from listserv.features import LIST_SETTINGS, MEMBER_SETTINGS
from listserv.moderation.jobs import expire_held, remind_facilitators
from listserv.moderation.tables import HeldPost
from listserv.store import admin, db
from support.cli import invoke
from support.clients import gmail_reply, plain_reply, reply_address
from support.conversation import run_job
from support.mail import lmtp_send, make_post
from support.moderation import (
    FAC,
    FAC2,
    LIST,
    OUTSIDER,
    body_text,
    mails,
    notice_for,
    post_copies,
    settle,
    wait_mail,
    wait_post,
)


def held_rows(settings):
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session:
        found = list(session.scalars(select(HeldPost).order_by(HeldPost.id)))
    sql.dispose()
    return found


def change(settings, fn):
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session, session.begin():
        fn(session, admin.get_list(session, LIST).id)
    sql.dispose()


@pytest.mark.parametrize(
    ("setting", "post", "rule"),
    [
        (("emergency_moderation", "yes"), make_post(msgid="<r@example.com>"), "emergency"),
        (("hold_message_size", "2000"), make_post(msgid="<r@example.com>", body="x" * 3000 + "\n"), "too-big"),
        (("max_recipients", "2"), make_post(msgid="<r@example.com>", extra="Cc: a@x.example, b@x.example\r\n"),
         "too-many-recipients"),
        (None, make_post(msgid="<r@example.com>", subject=""), "no-subject"),
        (("hold_patterns", "Subject: (?i)free\\s+money"), make_post(msgid="<r@example.com>", subject="FREE  money"),
         "pattern"),
        (None, make_post(msgid="<r@example.com>", extra="X-Spam-Flag: YES\r\n"), "suspected-spam"),
        (None, make_post(msgid="<r@example.com>", extra="Authentication-Results: mx.example; dmarc=fail "
                                                        "header.from=example.com\r\n"), "suspected-spam"),
    ],
)  # fmt: skip
def test_each_hold_reason_holds_a_members_post_and_says_why(engine, sink, team, settings, setting, post, rule):
    if setting:
        change(settings, lambda session, list_id: admin.set_list(session, LIST, *setting, registry=LIST_SETTINGS))
    lmtp_send(engine.lmtp, "alice@example.com", [LIST], post)
    notice = notice_for(sink, FAC)
    [held] = held_rows(settings)
    assert held.rules == rule and held.reasons in body_text(notice)
    send_of = plain_reply(notice, FAC, "approve")
    lmtp_send(engine.lmtp, FAC, [reply_address(notice)], send_of)
    assert wait_post(sink, "<r@example.com>", 3) == ["bob@example.com", FAC, FAC2]


def test_facilitators_are_not_held_by_emergency_moderation(engine, sink, team, settings):
    change(
        settings, lambda session, list_id: admin.set_list(session, LIST, "emergency_moderation", "yes", LIST_SETTINGS)
    )
    lmtp_send(engine.lmtp, FAC, [LIST], make_post(FAC, msgid="<calm@example.com>"))
    assert len(wait_post(sink, "<calm@example.com>", 3)) == 3


def test_a_moderated_member_is_held_and_a_banned_pattern_is_dropped_silently(engine, sink, team, settings, clock):
    change(
        settings,
        lambda session, list_id: admin.set_member(
            session, list_id, "bob@example.com", "moderation", "hold", MEMBER_SETTINGS
        ),
    )
    lmtp_send(engine.lmtp, "bob@example.com", [LIST], make_post("bob@example.com", msgid="<bob@example.com>"))
    assert "the posts of bob@example.com are moderated" in body_text(notice_for(sink, FAC))
    result = invoke(["sender", "ban", LIST, "*@spam.example"], clock, env=cli_env(settings))
    assert result.exit_code == 0, result.output
    lmtp_send(engine.lmtp, "x@spam.example", [LIST], make_post("x@spam.example", msgid="<spam@spam.example>"))
    settle(1.5)
    assert mails(sink, "x@spam.example") == [] and len(mails(sink, FAC, "Held for review")) == 1


def test_the_sender_hears_awaiting_review_once_a_day_and_never_when_the_mail_was_automatic(engine, sink, team):
    for index in range(3):
        lmtp_send(engine.lmtp, OUTSIDER, [LIST], make_post(OUTSIDER, msgid=f"<o{index}@outside.example>"))
    wait_mail(sink, FAC, "Held for review", 3)
    lister = make_post("announce@other.example", msgid="<l1@other.example>", extra="Precedence: list\r\n")
    lmtp_send(engine.lmtp, "announce-bounces@other.example", [LIST], lister)
    wait_mail(sink, FAC, "Held for review", 4)
    settle()
    assert len(mails(sink, OUTSIDER, "Awaiting review")) == 1
    assert mails(sink, "announce@other.example") == []


def test_facilitators_get_a_daily_summary_of_posts_waiting_more_than_a_day_and_can_act_from_it(
        engine, sink, team, settings, clock):  # fmt: skip
    lmtp_send(engine.lmtp, OUTSIDER, [LIST], make_post(OUTSIDER, subject="Old question", msgid="<old@outside.example>"))
    notice_for(sink, FAC)
    assert run_job(clock, settings, remind_facilitators, clock()) == 0  # not a day old yet
    later = clock() + timedelta(days=1, hours=1)
    assert run_job(clock, settings, remind_facilitators, later) == 2
    assert run_job(clock, settings, remind_facilitators, later) == 0  # once a day
    [summary] = wait_mail(sink, FAC, "1 waiting for review on Team")
    text = body_text(summary)
    assert "Old question" in text and f"from {OUTSIDER}, held 1 day ago (nonmember)" in text
    address = next(w for w in text.split() if w.startswith("team-moderate+"))
    lmtp_send(engine.lmtp, FAC, [address], gmail_reply(summary, FAC, "", to=address))
    assert len(wait_post(sink, "<old@outside.example>", 4)) == 4


def test_posts_nobody_reviews_expire_after_the_lists_days_and_the_sender_is_told(engine, sink, team, settings, clock):
    change(settings, lambda session, list_id: admin.set_list(session, LIST, "held_expire_days", "3", LIST_SETTINGS))
    lmtp_send(engine.lmtp, OUTSIDER, [LIST], make_post(OUTSIDER, subject="Lost", msgid="<lost@outside.example>"))
    notice = notice_for(sink, FAC)
    start = clock()
    assert run_job(clock, settings, expire_held, start + timedelta(days=2)) == 0
    assert run_job(clock, settings, expire_held, start + timedelta(days=3, minutes=1)) == 1
    assert run_job(clock, settings, expire_held, start + timedelta(days=4)) == 0
    [told] = wait_mail(sink, OUTSIDER, "Not distributed: Lost")
    assert "was not approved within 3 days" in body_text(told)
    [held] = held_rows(settings)
    assert (held.status, held.handled_by) == ("expired", "listserv")
    lmtp_send(engine.lmtp, FAC, [reply_address(notice)], plain_reply(notice, FAC, "approve"))
    [answer] = wait_mail(sink, FAC, "Already handled")
    assert "expire by listserv" in body_text(answer)
    settle()
    assert post_copies(sink, "<lost@outside.example>") == []


# -- the CLI -------------------------------------------------------------------------------------


def cli_env(settings, outbox: str = "") -> dict[str, str]:
    return {"LISTSERV_DATABASE_URL": settings.database_url, "LISTSERV_DOMAIN": "lists.example.test",
            "LISTSERV_RELAY": f"smtp://127.0.0.1:{settings.relay.port}"}  # fmt: skip


@pytest.fixture
def cli(settings, clock):
    CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = invoke(args, clock, env=cli_env(settings))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return run


def test_operators_work_the_queue_from_the_cli_and_read_the_audit_log(engine, sink, team, cli):
    for index, subject in enumerate(["First", "Second", "Third"]):
        lmtp_send(engine.lmtp, OUTSIDER, [LIST], make_post(OUTSIDER, subject=subject, msgid=f"<c{index}@o.example>"))
    wait_mail(sink, FAC, "Held for review", 3)
    rows = json.loads(cli("held", "ls", "team", "--json"))
    assert [(r["subject"], r["status"], r["rules"]) for r in rows] == [
        ("First", "held", ["nonmember"]),
        ("Second", "held", ["nonmember"]),
        ("Third", "held", ["nonmember"]),
    ]
    first, second, third = (r["id"] for r in rows)
    shown = cli("held", "show", str(first))
    assert "status: held" in shown and "how do you run your retrospectives?" in shown
    assert "approve" in cli("held", "approve", str(first), "--by", "opal")
    assert "reject" in cli("held", "reject", str(second), "--reason", "Off topic")
    assert "discard" in cli("held", "discard", str(third))
    assert "already handled: approve by cli:opal" in cli("held", "discard", str(first), code=1)
    assert "no held post 999" in cli("held", "approve", "999", code=1)
    assert wait_post(sink, "<c0@o.example>", 4)
    [told] = wait_mail(sink, OUTSIDER, "Not distributed: Second")
    assert "Their reason: Off topic" in body_text(told)
    wait_mail(sink, FAC, "Approved by cli:opal")
    assert json.loads(cli("held", "ls", "team", "--json")) == []
    every = json.loads(cli("held", "ls", "team", "--status", "all", "--json"))
    assert [r["status"] for r in every] == ["approved", "rejected", "discarded"]
    log = json.loads(cli("held", "log", "team", "--json"))
    assert [(e["actor"], e["verb"]) for e in log][-3:] == [("cli:opal", "approve"), (log[-2]["actor"], "reject"),
                                                           (log[-1]["actor"], "discard")]  # fmt: skip
    assert [e["verb"] for e in log[:3]] == ["hold", "hold", "hold"] and log[0]["rules"] == ["nonmember"]
    assert "cli:opal\tapprove\tnonmember" in cli("held", "log", "team")


def test_sender_rules_and_moderation_settings_are_managed_from_the_cli(cli, team):
    cli("sender", "set", "team", "Helper@Example.net", "accept")
    cli("sender", "ban", "team", "^.*@(spam|junk)\\.example$", "--reject", "--reason", "No spam")
    rows = json.loads(cli("sender", "ls", "team", "--json"))
    assert [(r["pattern"], r["action"], r["reason"]) for r in rows] == [
        ("helper@example.net", "accept", ""),
        ("^.*@(spam|junk)\\.example$", "reject", "No spam"),
    ]
    cli("sender", "rm", "team", "helper@example.net")
    assert "no rule for" in cli("sender", "rm", "team", "helper@example.net", code=1)
    cli("list", "set", "team", "nonmember_action", "discard")
    cli("list", "set", "team", "hold_patterns", "Subject: (?i)webinar")
    assert "not a regular expression" in cli("list", "set", "team", "hold_patterns", "body: (oops", code=1)
    assert "must be one of" in cli("list", "set", "team", "nonmember_action", "maybe", code=1)
    shown = json.loads(cli("list", "show", "team", "--json"))
    assert (shown["nonmember_action"], shown["held_expire_days"], shown["new_member_posts"]) == ("discard", 14, 1)
    cli("member", "set", "team", "alice@example.com", "moderation", "hold")
    assert "must be one of" in cli("member", "set", "team", "alice@example.com", "moderation", "maybe", code=1)
