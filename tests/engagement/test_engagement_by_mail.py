"""A member asks for their own record by mail to LIST-request, and opts out of it (and back in)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta

from listserv.engagement.jobs import run_engagement
from support.digest_helpers import LIST, World, text_of
from support.engagement import weeks_of_a_community
from support.mail import make_post

REQUEST = "team-request@lists.example.test"
ASKED = itertools.count()


def ask(world: World, sender: str, command: str) -> str:
    world.settle()  # what came before is not the answer
    msgid = f"<ask{next(ASKED)}@{sender.partition('@')[2]}>"
    world.send(sender, REQUEST, make_post(sender, REQUEST, command, command + "\n", msgid))
    [answer] = world.mail_to(sender, world.settle())
    return text_of(answer)


def test_stats_tells_a_member_their_stage_why_and_since_when(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    text = ask(world, "cat@example.com", "stats")
    start = world.work.clock.start  # type: ignore[attr-defined]
    assert f"Stage 5 of 5: development, since {start + timedelta(weeks=6):%Y-%m-%d}" in text
    assert "Why: started 3 discussions that others joined; answered 1 newcomer" in text
    assert f"Before: {start:%Y-%m-%d} stage 1; {start + timedelta(weeks=1):%Y-%m-%d} stage 2;" in text
    assert "nothing else is tracked" in text
    assert "Stage 1 of 5: access and motivation" in ask(world, "fay@example.com", "stats")
    assert "is not a member" in ask(world, "stranger@example.org", "stats")


def test_set_profile_off_stops_the_record_and_on_starts_it_again(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    assert "No engagement record is kept for cat@example.com" in ask(world, "cat@example.com", "set profile off")
    found = json.loads(cli("engagement", LIST, "--json"))
    assert found["opted_out"] == 1 and "cat@example.com" not in {m["email"] for m in found["members"]}
    world.at(timedelta(days=1, minutes=1))
    run_engagement(world.work)
    assert "No engagement record is kept" in ask(world, "cat@example.com", "stats")
    assert "kept again" in ask(world, "cat@example.com", "set profile on")
    assert "Before:" not in ask(world, "cat@example.com", "stats")  # the old history is gone
    assert "stats" in ask(world, "bob@example.com", "help")
