"""Curation by reply to LIST-library+REF (the footer of each delivered post), and by LIST-request."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

from support.clients import gmail_reply
from support.digest_helpers import LIST, World, text_of
from support.library import ANN, BOB, CAT, FAC, resources
from support.mail import make_post

REQUEST = "team-request@lists.example.test"


def delivered(world: World, sender: str, subject: str, body: str, msgid: str, to: str = BOB) -> Message:
    world.post(sender, subject, body, msgid)
    [copy] = world.mail_to(to, world.settle())
    return copy


def library_address(copy: Message) -> str:
    found = re.search(r"Library: mailto:(team-library\+[a-z0-9-]+@lists\.example\.test)\?subject=add", text_of(copy))
    assert found, text_of(copy)
    return found.group(1)


def reply(world: World, copy: Message, sender: str, text: str, to: str, extra: bytes = b"") -> list[Message]:
    world.send(sender, to, extra + gmail_reply(copy, sender, text, to=to))
    return world.mail_to(sender, world.settle())


def test_members_recommend_tag_describe_and_add_by_reply(world: World, cli: Callable[..., str]) -> None:
    copy = delivered(world, ANN, "Retros", "Try https://example.org/retro for your first retro.\n", "<a1@x>")
    to = library_address(copy)
    [answer] = reply(world, copy, BOB, "+1", to)
    assert answer["Subject"] == "Library: done" and to in answer["Reply-To"]
    assert re.search(r"#\d+: recommended", text_of(answer))
    [again] = reply(world, copy, BOB, "+1", to)
    assert "you had recommended it already" in text_of(again)
    number = resources(cli)[0]["id"]
    [tagged] = reply(world, copy, CAT, f"tag {number} retros Facilitation\ndescribe {number} The classic guide.", to)
    assert "tags facilitation retros" in text_of(tagged) and "description set" in text_of(tagged)
    world.send(CAT, to, make_post(CAT, to, "add", "https://example.org/other?utm_medium=x Another guide\n", "<add@x>"))
    assert "added" in text_of(world.mail_to(CAT, world.settle())[0])
    first, second = resources(cli)
    assert (first["url"], first["recommendations"], first["tags"], first["description"]) == (
        "https://example.org/retro", 1, ["facilitation", "retros"], "The classic guide.")  # fmt: skip
    assert (second["url"], second["shares"][0]["by"], second["shares"][0]["message_id"]) == (  # type: ignore[index]
        "https://example.org/other", CAT, "<a1@x>")  # fmt: skip
    assert [r["url"] for r in resources(cli, "--tag", "retros")] == ["https://example.org/retro"]


def test_only_facilitators_remove_and_outdated_is_flagged(world: World, cli: Callable[..., str]) -> None:
    copy = delivered(world, ANN, "Old", "This is old now: https://example.org/old-guide\n", "<o1@x>", to=FAC)
    to = library_address(copy)
    [refused] = reply(world, copy, BOB, "remove", to)
    assert "only facilitators remove resources" in text_of(refused)
    [flagged] = reply(world, copy, CAT, "outdated", to)
    assert "marked outdated" in text_of(flagged)
    assert resources(cli)[0]["outdated"] is True
    [removed] = reply(world, copy, FAC, "remove", to)
    assert "removed" in text_of(removed)
    assert resources(cli) == []


def test_forged_unknown_and_non_member_replies_do_nothing(world: World, cli: Callable[..., str]) -> None:
    copy = delivered(world, ANN, "Guide", "See https://example.org/guide please.\n", "<g1@x>")
    to = library_address(copy)
    forged_ref = "team-library+" + "a" * 26 + "@lists.example.test"
    assert reply(world, copy, BOB, "+1", forged_ref) == []  # refused and logged, never answered
    assert reply(world, copy, BOB, "+1", "team-library@lists.example.test") == []
    [told] = reply(world, copy, "mallory@example.net", "+1", to)
    assert "only members" in text_of(told)
    failing = b"Authentication-Results: mx.example; dmarc=fail header.from=example.com\r\n"
    [not_done] = reply(world, copy, BOB, "+1", to, extra=failing)
    assert not_done["Subject"].startswith("Not done")
    assert resources(cli)[0]["recommendations"] == 0


def test_library_by_request_and_anonymise(world: World, cli: Callable[..., str]) -> None:
    world.post(ANN, "Books", "My favourite: ISBN 0-306-40615-2, and https://example.org/wiki too.\n", "<b1@x>")
    world.settle()
    world.send(BOB, REQUEST, make_post(BOB, REQUEST, "library", "\n", "<lib@x>"))
    [library] = world.mail_to(BOB, world.settle())
    assert "https://example.org/wiki" in text_of(library) and "9780306406157" in text_of(library)
    world.send(ANN, REQUEST, make_post(ANN, REQUEST, "library anonymise", "\n", "<anon@x>"))
    [done] = world.mail_to(ANN, world.settle())
    assert "2 of your library entries" in text_of(done)
    assert {r["shares"][0]["by"] for r in resources(cli)} == {"a former member"}  # type: ignore[index]


def test_a_member_who_leaves_is_told_and_can_still_anonymise(world: World, cli: Callable[..., str]) -> None:
    world.post(CAT, "Tools", "Our board: https://example.org/board\n", "<t1@x>")
    world.settle()
    world.send(CAT, REQUEST, make_post(CAT, REQUEST, "unsubscribe", "\n", "<bye@x>"))
    mails = world.mail_to(CAT, world.settle())
    assert any('send "library anonymise"' in text_of(m) for m in mails), [m["Subject"] for m in mails]
    assert CAT not in cli("member", "ls", LIST)
    world.send(CAT, REQUEST, make_post(CAT, REQUEST, "library anonymise", "\n", "<anon2@x>"))
    [done] = world.mail_to(CAT, world.settle())
    assert "1 of your library entries" in text_of(done)
    assert resources(cli)[0]["shares"][0]["by"] == "a former member"  # type: ignore[index]
