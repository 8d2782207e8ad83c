"""Facilitators hear of the list's health in the digest preview: who was paused or removed this week."""

from __future__ import annotations

from datetime import timedelta

from listserv.digest.schedule import Schedule, next_due, preview_at
from support.bounce_mail import bounce, dsn
from support.conversation import Mailbox, body_of
from support.digest_helpers import World

FAC, CAROL = "fac@example.org", "carol@example.com"


def test_the_preview_tells_the_facilitators_who_was_paused_for_bouncing(engine, sink, settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.org", CAROL], facilitators=(FAC,),
              bounce_threshold="1")  # fmt: skip
    world, box = World(engine, sink, settings), Mailbox(sink)
    world.set_delivery(CAROL, "summary")  # a preview goes only to lists with digest readers
    start = clock()
    bounce(engine, dsn("bob@example.org"), "bob=example.org")
    box.expect("bob@example.org", "paused")
    world.post("alice@example.com", "What did you learn this week?", "Tell us.\n", "<learn@example.com>")
    world.settle()
    due = next_due(Schedule(), start)
    opens = preview_at(Schedule(), due, start)
    assert opens is not None and due - start <= timedelta(days=7)
    assert [o.action for o in world.run(opens + (due - opens) / 3)] == ["preview"]
    preview = body_of(box.expect(FAC, "Preview"))
    assert "List health this week" in preview
    assert "mail paused for bouncing (1): bob@example.org" in preview
    assert "listserv bounce ls team@lists.example.test" in preview


def test_a_quiet_week_says_nothing_about_health(engine, sink, settings, make_list, clock):
    make_list("team", members=["alice@example.com", CAROL], facilitators=(FAC,))
    world, box = World(engine, sink, settings), Mailbox(sink)
    world.set_delivery(CAROL, "summary")
    start = clock()
    world.post("alice@example.com", "Hello", "Tell us.\n", "<hello@example.com>")
    world.settle()
    due = next_due(Schedule(), start)
    opens = preview_at(Schedule(), due, start)
    assert [o.action for o in world.run(opens + (due - opens) / 3)] == ["preview"]
    assert "List health" not in body_of(box.expect(FAC, "Preview"))
