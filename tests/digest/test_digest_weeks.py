"""Digests that are right every week (issue 13), each on a clock that starts at an awkward
moment (a Sunday night, a month's and a year's end, both daylight-saving changes): an empty
period sends nothing, a continuing discussion shows its new posts, the welcome names only new
members (never the reader, never staff). Posts go in through LMTP, digests come out through
the sink."""

from __future__ import annotations

from datetime import timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from listserv.digest.gather import load_digest_settings
from listserv.digest.schedule import next_due
from listserv.digest.tables import DigestIssue
from listserv.features import LIST_SETTINGS
from listserv.membership.store import remove_member
from listserv.store import admin
from support.digest_helpers import (  # noqa: F401 (the fixtures clock and world)
    ALICE,
    BOB,
    CAROL,
    DAN,
    LIST,
    MOMENTS,
    World,
    dated_clock,
    dated_world,
    text_of,
)
from support.mail import make_post


def set_list(w: World, key: str, value: str) -> None:
    with w.sessions() as session, session.begin():
        admin.set_list(session, LIST, key, value, LIST_SETTINGS)


def statuses(w: World) -> list[str]:
    with w.sessions() as session:
        return [i.status for i in session.scalars(select(DigestIssue).order_by(DigestIssue.period_start))]


def named_post(w: World, name: str, address: str, subject: str, msgid: str) -> None:
    data = make_post(
        address, LIST, subject, "Hi all.\n", msgid, date=format_datetime(w.now().replace(tzinfo=timezone.utc))
    )
    w.send(address, LIST, data.replace(f"From: {address}".encode(), f"From: {name} <{address}>".encode(), 1))


def next_regular(w: World) -> timedelta:
    """From now to a minute after the next scheduled issue."""
    with w.sessions() as session:
        schedule = load_digest_settings(session, w.list_id()).schedule
    return next_due(schedule, w.now()) + timedelta(minutes=1) - w.now()


@pytest.mark.parametrize(("clock", "zone"), MOMENTS, indirect=["clock"])
def test_an_empty_period_sends_nothing_and_a_reminder_waits_for_the_schedule(world, zone):
    world.post(ALICE, "Retro formats?", "How do you run yours?\n", "<retro@example.com>")  # nobody answers
    world.post(BOB, "Our charter", "Here it is.\n", "<charter@example.com>")
    world.settle()
    assert [o.action for o in world.run()] == ["sent"]
    assert "UNANSWERED QUESTIONS" in text_of(world.mail_to(CAROL, world.new_mail(3))[0])

    again = world.run(world.now() + timedelta(minutes=1), force=True)  # `digest run --now` right after
    assert [(o.action, o.number, o.recipients) for o in again] == [("empty", 0, 0)]
    regular = world.run(world.now() + next_regular(world))  # the next week: no posts, reminders off
    assert [(o.action, o.recipients) for o in regular] == [("empty", 0)]
    assert world.settle() == []

    set_list(world, "digest_reminders", "yes")
    forced = world.run(world.now() + timedelta(hours=1), force=True)
    assert [o.action for o in forced] == ["empty"]  # a reminder only on the schedule
    reminder = world.run(world.now() + next_regular(world))
    assert [(o.action, o.number, o.recipients) for o in reminder] == [("sent", 2, 1)]  # summary readers only
    mails = world.new_mail(1)
    text = text_of(world.mail_to(CAROL, mails)[0])
    assert "Retro formats?" in text.split("UNANSWERED QUESTIONS")[1]
    assert "0 posts" not in text and "No new posts" in text
    assert "No new posts" in text_of(world.mail_to(CAROL, mails)[0], "html")
    assert statuses(world) == ["sent", "empty", "empty", "empty", "sent"]
    assert world.settle() == []


@pytest.mark.parametrize(("clock", "zone"), MOMENTS, indirect=["clock"])
def test_a_continuing_discussion_shows_who_said_what_this_period(world, zone):
    world.post(ALICE, "Retro formats", "Opening words about our retros.\n", "<retro@example.com>")
    world.post(BOB, "Re: [team] Retro formats", "Starfish works for us.\n", "<retro-2@example.com>",
               "In-Reply-To: <retro@example.com>\r\nReferences: <retro@example.com>\r\n")  # fmt: skip
    world.settle()
    assert [o.action for o in world.run()] == ["sent"]
    world.new_mail(3)

    world.at(timedelta(days=1))
    reply = "Timeboxing is what made ours work.\n\nOn Monday, Bob wrote:\n> Starfish works for us.\n\n-- \nCarol\nTeam lead\n"
    world.post(CAROL, "Re: [team] Retro formats", reply, "<retro-3@example.com>",
               "In-Reply-To: <retro-2@example.com>\r\nReferences: <retro@example.com> <retro-2@example.com>\r\n")  # fmt: skip
    world.post(DAN, "Re: [team] Retro formats", "We stopped doing them.\n", "<retro-4@example.com>",
               "In-Reply-To: <retro-3@example.com>\r\nReferences: <retro@example.com> <retro-3@example.com>\r\n")  # fmt: skip
    world.settle()
    assert [o.action for o in world.run(world.now() + next_regular(world))] == ["sent"]
    mails = world.new_mail(3)
    text = text_of(world.mail_to(CAROL, mails)[0])
    section = text.split("CONTINUING DISCUSSIONS")[1]
    assert "Retro formats (continuing)" in section
    assert "carol: Timeboxing is what made ours work." in section
    assert "dan: We stopped doing them." in section
    assert section.index("carol:") < section.index("dan:")
    for old in ("Opening words", "Starfish", "Team lead", "Bob wrote"):
        assert old not in text, old
    html = text_of(world.mail_to(CAROL, mails)[0], "html")
    assert "continuing" in html and "Timeboxing is what made ours work." in html and "Opening words" not in html


@pytest.mark.parametrize(("clock", "zone"), MOMENTS, indirect=["clock"])
def test_the_welcome_names_new_members_only_never_the_reader_nor_staff(world, zone):
    set_list(world, "nonmember_action", "accept")
    assert [o.action for o in world.run(world.now() + timedelta(minutes=1), force=True)] == ["empty"]
    joined = world.at(timedelta(hours=1))
    with world.sessions() as session, session.begin():
        list_id = admin.get_list(session, LIST).id
        admin.add_member(session, list_id, "frank@example.com", joined, name="Frank Newman")
        admin.add_member(session, list_id, "gina@example.com", joined, name="Gina Reader")
        admin.add_member(session, list_id, "hal@example.org", joined, name="Hal Host", role="facilitator")
        admin.add_member(session, list_id, "judy@example.com", joined, name="Judy Gone")
    world.set_delivery("gina@example.com", "summary")
    with world.sessions() as session, session.begin():
        remove_member(session, list_id, "judy@example.com")
    named_post(world, "Ivan Outsider", "ivan@example.net", "Hello from outside", "<ivan@example.net>")
    named_post(world, "Frank Newman", "frank@example.com", "Hello, I am new", "<frank@example.com>")
    world.settle()
    outcome = world.run(world.now() + next_regular(world))
    assert [(o.action, o.recipients) for o in outcome] == [("sent", 4)]
    mails = world.new_mail(4)
    carol = text_of(world.mail_to(CAROL, mails)[0]).split("WELCOME")[1].split("\n\n")[0]
    assert "Frank Newman" in carol and "Gina Reader" in carol
    for name in ("Hal", "Ivan", "Judy", "fac", "alice"):
        assert name not in carol, (name, carol)
    gina = world.mail_to("gina@example.com", mails)[0]
    welcome = text_of(gina).split("WELCOME")[1].split("\n\n")[0]
    assert "Frank Newman" in welcome and "Gina" not in welcome
    assert "Gina" not in text_of(gina, "html").split("Welcome</h2>")[1]
