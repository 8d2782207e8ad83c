"""Digests end to end: posts in through LMTP, a run, the three kinds of digest out through the
sink, parsed back; replies to an item thread into their discussion; runs are idempotent."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from listserv.digest.run import run_digests
from listserv.digest.tables import DigestIssue, DigestReceipt
from listserv.discussions.tables import ThreadContainer
from listserv.features import LIST_SETTINGS
from listserv.store import db
from listserv.store.schema import Delivery, Outbound
from support.digest_helpers import LIST, World, text_of
from support.mail import make_post, parse

ALICE, BOB, CAROL, DAN, ERIN = (f"{n}@example.com" for n in ("alice", "bob", "carol", "dan", "erin"))
FAC = "fac@example.org"
READERS = {CAROL: "summary", DAN: "mime-digest", ERIN: "plain-digest"}


@pytest.fixture
def world(engine, sink, settings, make_list):
    make_list("team", members=[ALICE, BOB, CAROL, DAN, ERIN], facilitators=(FAC,))
    w = World(engine, sink, settings)
    for email, mode in READERS.items():
        w.set_delivery(email, mode)
    return w


def a_week_of_posts(w: World) -> None:
    w.post(
        ALICE,
        "How do you run retrospectives?",
        "Hi all,\nhow do you run your retrospectives?\n\n-- \nAlice\n",
        "<retro@example.com>",
    )
    w.post(
        BOB,
        "Re: [team] How do you run retrospectives?",
        "We use the starfish format, see https://example.net/starfish.\n\nOn Mon, Alice wrote:\n> how do you run"
        " your retrospectives?\n",
        "<retro-2@example.com>",
        "In-Reply-To: <retro@example.com>\r\nReferences: <retro@example.com>\r\n",
    )
    w.post(
        CAROL,
        "Re: [team] How do you run retrospectives?",
        "Timeboxed, always. https://example.net/starfish\n",
        "<retro-3@example.com>",
        "In-Reply-To: <retro-2@example.com>\r\nReferences: <retro@example.com> <retro-2@example.com>\r\n",
    )
    w.post(DAN, "Which tool for remote whiteboards?", "Does anyone have a favourite?\n", "<tools@example.com>")
    w.post(ERIN, "Our team charter", "Sharing our charter: https://example.org/charter.pdf\n", "<charter@example.com>")
    w.settle()  # the posts reached alice, bob and the facilitator (`each` mode)


def test_a_weekly_run_sends_each_reader_one_digest_in_their_mode(world):
    a_week_of_posts(world)
    outcomes = world.run()
    assert [(o.action, o.volume, o.number, o.recipients, o.posts) for o in outcomes] == [("sent", 1, 1, 3, 5)]
    mails = world.new_mail(3)
    assert sorted(rcpt for rcpt, _ in mails) == sorted(READERS)

    summary = world.mail_to(CAROL, mails)[0]
    assert summary.get_content_type() == "multipart/alternative"
    assert summary["Subject"] == "Team summary, Vol 1, Issue 1"
    assert summary["From"] == "Team digest <team-digest@lists.example.test>"
    assert summary["List-Id"] == '"Team" <team.lists.example.test>'
    text, html = text_of(summary), text_of(summary, "html")
    for heading in ("NEW DISCUSSIONS", "UNANSWERED QUESTIONS", "RESOURCES SHARED", "WELCOME"):
        assert heading in text
    assert "How do you run retrospectives?" in text and "2 replies from 3 people" in text
    assert "Which tool for remote whiteboards?" in text.split("UNANSWERED QUESTIONS")[1]
    assert text.split("RESOURCES SHARED")[1].count("https://example.net/starfish") == 1  # de-duplicated
    assert "bob: We use the starfish format" in text and "carol: Timeboxed, always." in text  # the replies
    assert "shared by Erin" in text or "shared by erin" in text
    assert "> how do you run" not in text and "Alice\n" not in text.split("NEW DISCUSSIONS")[1][:200]
    retro = world.post_id("<retro@example.com>")
    assert f"team-reply+{retro}@lists.example.test" in text
    assert f'href="mailto:team-reply+{retro}@lists.example.test?subject=Re%3A%20How%20do%20you%20run' in html
    assert "<h2" in html and "From the facilitator" not in html

    mime = world.mail_to(DAN, mails)[0]
    assert mime.get_content_type() == "multipart/mixed"
    contents, digest, end = mime.get_payload()
    assert contents.get_content_type() == "text/plain" and "Today's Topics" in text_of(contents)
    assert digest.get_content_type() == "multipart/digest"
    inner = [part.get_payload()[0] for part in digest.get_payload()]
    assert [m["Message-ID"] for m in inner] == [
        "<retro@example.com>",
        "<retro-2@example.com>",
        "<retro-3@example.com>",
        "<tools@example.com>",
        "<charter@example.com>",
    ]
    assert inner[0]["Reply-To"] == f"team-reply+{retro}@lists.example.test"
    assert inner[1]["In-Reply-To"] == "<retro@example.com>"
    assert all(m["List-Id"] is None for m in inner)
    assert "set delivery" in text_of(end)

    plain = world.mail_to(ERIN, mails)[0]
    assert plain.get_content_type() == "text/plain"
    body = text_of(plain)
    preamble, _, rest = body.partition("\n" + "-" * 70 + "\n")
    assert "Today's Topics:" in preamble and "Our team charter (erin)" in preamble
    messages = [m for m in rest.split("\n" + "-" * 30 + "\n") if m.strip()]
    assert len(messages) == 6  # five posts and the closing
    assert messages[0].strip().startswith("Date:") and "Subject: [team] Re: How" in messages[1]
    assert "\n- -- \nAlice" in messages[0]  # RFC 934 stuffing: no message line starts with "-"
    assert "End of Team Digest, Vol 1, Issue 1\n**********************************" in messages[-1]


def test_running_again_sends_nothing_more(world):
    a_week_of_posts(world)
    now = world.next_issue_at()
    assert [o.action for o in world.run(now)] == ["sent"]
    assert [o.action for o in world.run(now)] == ["waiting"]
    assert [o.action for o in world.run(now + timedelta(hours=1))] == ["waiting"]
    world.new_mail(3)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DigestReceipt)) == 3
        digests = select(func.count()).select_from(Delivery).join(Outbound, Outbound.id == Delivery.outbound_id)
        assert session.scalar(digests.where(Outbound.kind == "digest")) == 3
        assert session.scalar(select(func.count()).select_from(DigestIssue)) == 1


def test_two_runs_at_once_send_one_digest_per_member(world):
    a_week_of_posts(world)
    now = world.next_issue_at()
    results = []
    runs = [threading.Thread(target=lambda: results.extend(world.run(now))) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(o.action for o in results).count("sent") == 1
    world.new_mail(3)
    with world.sessions() as session:
        rows = session.execute(select(DigestReceipt.email, func.count()).group_by(DigestReceipt.email)).all()
    assert sorted(rows) == sorted((email, 1) for email in READERS)


def test_two_nodes_racing_for_the_same_weekly_digest_send_one(world, settings):
    """Each node with its own engine (its own connections; on SQLite, its own writer lock, as two
    processes have), both running the digest job at the same moment: one issue, one copy each."""
    a_week_of_posts(world)
    now = world.next_issue_at()
    world.at(now - world.now())
    engines = [db.open_engine(settings.database_url) for _ in range(2)]
    barrier, results = threading.Barrier(2), []

    def node(sql) -> None:
        work = replace(world.work, sessions=db.sessions(sql), clock=lambda: now)
        barrier.wait()
        results.extend(run_digests(work))

    nodes = [threading.Thread(target=node, args=(sql,)) for sql in engines]
    for thread in nodes:
        thread.start()
    for thread in nodes:
        thread.join(timeout=60)
    for sql in engines:
        sql.dispose()
    assert [o.action for o in results].count("sent") == 1 and len(results) == 2
    world.new_mail(3)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DigestIssue)) == 1
        rows = session.execute(select(DigestReceipt.email, func.count()).group_by(DigestReceipt.email)).all()
    assert sorted(rows) == sorted((email, 1) for email in READERS)


def test_a_reply_to_a_digest_item_is_posted_in_that_discussion(world):
    a_week_of_posts(world)
    world.run()
    world.new_mail(3)
    retro = world.post_id("<retro@example.com>")
    reply = make_post(
        CAROL,
        f"team-reply+{retro}@lists.example.test",
        "Re: Team summary, Vol 1, Issue 1",
        "We do them every two weeks.\n\n> Team summary\n",
        "<from-digest@example.com>",
        "In-Reply-To: <digest-xyz@lists.example.test>\r\n",
    )
    world.send(CAROL, f"team-reply+{retro}@lists.example.test", reply)
    mails = world.settle()
    assert sorted(rcpt for rcpt, _ in mails) == [ALICE, BOB, FAC]  # in `each` mode
    got = parse(mails[0][1])
    assert got["In-Reply-To"] == "<retro@example.com>"
    assert got["References"] == "<retro@example.com>"
    assert got["Subject"] == "[team] Re: How do you run retrospectives?"
    assert got["Message-ID"] == "<from-digest@example.com>"
    with world.sessions() as session:
        discussion = {
            row[0]: row[1] for row in session.execute(select(ThreadContainer.message_id, ThreadContainer.discussion_id))
        }
    assert discussion["from-digest@example.com"] == discussion["retro@example.com"]


def test_a_reply_to_the_digest_as_a_whole_goes_to_the_facilitators(world):
    a_week_of_posts(world)
    world.run()
    world.new_mail(3)
    world.send(
        CAROL,
        "team-digest@lists.example.test",
        make_post(
            CAROL,
            "team-digest@lists.example.test",
            "Re: Team summary, Vol 1, Issue 1",
            "Thanks for the summary!\n",
            "<thanks@example.com>",
        ),
    )
    mails = world.new_mail(1)
    assert [rcpt for rcpt, _ in mails] == [FAC]
    assert parse(mails[0][1])["Subject"] == "Re: Team summary, Vol 1, Issue 1"


def test_a_member_who_changes_mode_mid_period_gets_neither_a_gap_nor_a_repeat(world):
    world.set_delivery(CAROL, "summary")
    world.post(ALICE, "First topic", "One.\n", "<one@example.com>")
    assert sorted(r for r, _ in world.settle()) == [BOB, FAC]  # carol, dan and erin read digests
    world.set_delivery(CAROL, "each")  # from now on carol gets posts one by one ...
    world.set_delivery(BOB, "mime-digest")  # ... and bob gets the rest in his digest
    world.post(ALICE, "Second topic", "Two.\n", "<two@example.com>")
    assert sorted(r for r, _ in world.settle()) == [CAROL, FAC]
    outcomes = world.run()
    assert outcomes[0].recipients == 4  # bob (partial), carol (last, partial), dan, erin
    mails = world.new_mail(4)
    carol = text_of(world.mail_to(CAROL, mails)[0])
    assert "First topic" in carol and "Second topic" not in carol
    bob = world.mail_to(BOB, mails)[0]
    inner = [p.get_payload()[0]["Message-ID"] for p in bob.get_payload()[1].get_payload()]
    assert inner == ["<two@example.com>"]
    dan = world.mail_to(DAN, mails)[0]
    assert [p.get_payload()[0]["Message-ID"] for p in dan.get_payload()[1].get_payload()] == [
        "<one@example.com>",
        "<two@example.com>",
    ]
    with world.sessions() as session:
        partial = dict(session.execute(select(DigestReceipt.email, DigestReceipt.partial)).all())
    assert partial == {BOB: 1, CAROL: 1, DAN: 0, ERIN: 0}


def test_members_on_vacation_or_in_none_mode_get_no_digest(world):
    from listserv.membership.cli import set_membership

    world.set_delivery(ERIN, "none")
    with world.sessions() as session, session.begin():
        set_membership(
            session,
            world.list_id(),
            DAN,
            "vacation_until",
            (world.now() + timedelta(days=30)).date().isoformat(),
            world.now(),
        )
    world.post(ALICE, "Hello", "Hi.\n", "<hello@example.com>")
    world.settle()
    assert world.run()[0].recipients == 1
    assert [r for r, _ in world.new_mail(1)] == [CAROL]


def test_a_period_without_posts_or_readers_sends_nothing_and_takes_no_number(world):
    assert [o.action for o in world.run(world.now(), force=True)] == ["empty"]
    world.post(ALICE, "Later", "Hi.\n", "<later@example.com>")
    world.settle()
    outcome = world.run(world.now() + timedelta(days=15))[0]
    assert (outcome.action, outcome.volume, outcome.number) == ("sent", 1, 1)


def test_a_size_threshold_sends_the_digest_early(world):
    from listserv.store import admin

    with world.sessions() as session, session.begin():
        admin.set_list(session, LIST, "digest_size_threshold", "3", LIST_SETTINGS)
    world.post(ALICE, "One", "1\n", "<t1@example.com>")
    world.post(ALICE, "Two", "2\n", "<t2@example.com>")
    assert [o.action for o in world.run(world.now())] in (["waiting"], ["preview"])
    world.post(ALICE, "Three", "3\n", "<t3@example.com>")
    assert [o.action for o in world.run(world.now())] == ["sent"]
