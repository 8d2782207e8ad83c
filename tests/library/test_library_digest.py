"""The weekly summary's "From the library this week": new resources and the most recommended."""

from __future__ import annotations

import re
from collections.abc import Callable

from listserv.library.store import find_resource, recommend
from support.clients import gmail_reply
from support.digest_helpers import LIST, World, text_of
from support.library import ANN, BOB, CAT, resources


def test_the_summary_shows_the_weeks_new_and_most_recommended(world: World, cli: Callable[..., str]) -> None:
    world.set_delivery(CAT, "summary")
    cli("resource", "add", LIST, "https://example.org/older", "--by", BOB, "--note", "From before")
    world.post(BOB, "Hello", "Hello all.\n", "<h1@x>")
    world.settle()
    assert [o.action for o in world.run()] == ["sent"]  # the first issue: "older" is new there
    world.new_mail(1)
    world.post(
        ANN,
        "Retros",
        "The guide I swear by: https://example.org/retro?utm_source=x for retros.\nAnd doi:10.1234/cop.9 too.\n",
        "<r1@x>",
    )
    older = next(r for r in resources(cli) if r["url"] == "https://example.org/older")
    with world.sessions() as session, session.begin():
        recommend(session, find_resource(session, world.list_id(), str(older["id"])), BOB, world.now())
    world.settle()
    outcomes = world.run()
    assert [o.action for o in outcomes] == ["sent"]
    [summary] = world.mail_to(CAT, world.new_mail(1))
    resources_shared, text = text_of(summary).split("FROM THE LIBRARY THIS WEEK")
    assert "https://example.org/retro" in resources_shared.split("RESOURCES SHARED")[1]
    assert "* new: 10.1234/cop.9 <https://doi.org/10.1234/cop.9>, shared by ann@example.com" in text
    assert "example.org/retro" not in text  # "Resources shared" has it already
    assert "* 1 +1: https://example.org/older" in text
    html = text_of(summary, "html")
    assert "From the library this week" in html and 'href="https://doi.org/10.1234/cop.9"' in html


def test_a_digest_item_is_curated_by_reply(world: World, cli: Callable[..., str]) -> None:
    world.set_delivery(CAT, "summary")
    world.post(ANN, "Retros", "The guide I swear by: https://example.org/retro for retros.\n", "<r2@x>")
    world.settle()
    assert [o.action for o in world.run()] == ["sent"]
    [summary] = world.mail_to(CAT, world.new_mail(1))
    found = re.search(
        r"Library: <mailto:(team-library\+[a-z0-9-]+@lists\.example\.test)\?subject=add>", text_of(summary)
    )
    assert found, text_of(summary)
    assert f"mailto:{found.group(1)}?subject=%2B1" in text_of(summary, "html")
    world.send(CAT, found.group(1), gmail_reply(summary, CAT, "+1", to=found.group(1)))
    world.settle()
    [retro] = [r for r in resources(cli) if r["url"] == "https://example.org/retro"]
    assert retro["recommendations"] == 1
