"""The weekly digest scenarios at awkward moments: a Sunday night, a month's end, a year's end,
and both daylight-saving changes in a list's time zone. The whole engine runs on a clock that
starts there (tests/support/clock.py), so this is what a list sees on those days."""

from __future__ import annotations

from datetime import timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from listserv.digest.polls import add_poll, close_due_polls, open_due_polls
from listserv.digest.schedule import to_local
from listserv.digest.tables import DigestIssue
from support.digest_helpers import ALICE, BOB, CAROL, DAN, ERIN, FAC, MOMENTS, World, dated_clock, dated_world, text_of  # noqa: F401 (the fixtures clock and world)
from support.mail import make_post, parse


def a_week(w: World) -> None:
    """A discussion with replies, a question nobody answers, and a poll that closes a day later."""
    w.post(ALICE, "Retros that work?", "How do you run them?\n", "<retro@example.com>")
    w.post(
        BOB,
        "Re: [team] Retros that work?",
        "Starfish, see https://example.net/starfish\n",
        "<retro-2@example.com>",
        "In-Reply-To: <retro@example.com>\r\nReferences: <retro@example.com>\r\n",
    )
    w.post(DAN, "Which whiteboard tool?", "Does anyone have a favourite?\n", "<tools@example.com>")
    with w.sessions() as session, session.begin():
        poll = add_poll(session, w.list_id(), FAC, "Meet monthly?", "", ("Yes", "No"), w.now(),
                        w.now() + timedelta(days=1), w.now())  # fmt: skip
    assert open_due_polls(w.sessions, w.templates, w.now()) == 1
    w.wait_processed()
    vote = f"team-vote+{poll.id}@lists.example.test"
    dated = format_datetime(w.now().replace(tzinfo=timezone.utc))
    w.send(ALICE, vote, make_post(ALICE, vote, "Re: Meet monthly?", "1\n", "<vote@example.com>", date=dated))
    assert close_due_polls(w.sessions, w.templates, w.at(timedelta(days=1, minutes=1))) == 1
    w.settle()


@pytest.mark.parametrize(("clock", "zone"), MOMENTS, indirect=["clock"])
def test_the_weekly_digest_is_whole_and_on_time_on_awkward_days(world, zone):
    a_week(world)
    outcomes = world.run()
    assert [(o.action, o.volume, o.number, o.recipients) for o in outcomes] == [("sent", 1, 1, 3)]
    mails = world.new_mail(3)
    summary = text_of(world.mail_to(CAROL, mails)[0])
    for section in ("NEW DISCUSSIONS", "UNANSWERED QUESTIONS", "Results: Meet monthly? (1 vote)"):
        assert section in summary, (section, summary)
    assert "Which whiteboard tool?" in summary.split("UNANSWERED QUESTIONS")[1]
    assert "multipart/digest" in str(world.mail_to(DAN, mails)[0]["Content-Type"]) or any(
        part.get_content_type() == "multipart/digest" for part in world.mail_to(DAN, mails)[0].walk()
    )
    assert "Retros that work?" in text_of(world.mail_to(ERIN, mails)[0])
    with world.sessions() as session:
        issue = session.scalars(select(DigestIssue)).one()
    local_end = to_local(issue.period_end, ZoneInfo(zone))
    assert (local_end.weekday(), local_end.hour, local_end.minute) == (0, 8, 0)  # Monday 08:00 on the list's clock
    again = world.next_issue_at() - timedelta(days=7)  # the same moment as the run above
    assert [o.action for o in world.run(again)] == ["waiting"]
    assert [o.action for o in world.run(again + timedelta(hours=1))] == ["waiting"]
    assert [parse(m).get("Subject") for _, m in world.settle()] == []
