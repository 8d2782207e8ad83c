"""Steering a discussion by reply to the LIST-do+REF address in every post's footer, end to end
through the LMTP intake, the worker and the real sink: follow, mute, unmute, answered,
highlight, close, reopen, merge and split, and what is refused (forged, not a member, not a
facilitator)."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from listserv.digest.polls import close_due_polls, open_due_polls
from support.digest_helpers import LIST, World, text_of
from support.engagement import FACILITATOR, reply, report_time, the_report
from support.mail import make_post

CONTROL = re.compile(r"Steer this discussion: mailto:(team-do\+[a-z0-9-]+@lists\.example\.test)\?subject=mute")
SENT = itertools.count()


def control_of(world: World, mails: list[tuple[str, bytes]], rcpt: str = "eve@example.com") -> str:
    """The LIST-do+REF address in the footer of the post `rcpt` received."""
    [post] = world.mail_to(rcpt, mails)
    found = CONTROL.search(text_of(post))
    assert found is not None, text_of(post)
    return found.group(1)


def command(world: World, sender: str, address: str, subject: str, body: str = "") -> list[tuple[str, bytes]]:
    """A member clicks the footer's mailto: link (the word in the Subject) or writes it in the body."""
    world.settle()
    world.send(sender, address, make_post(sender, address, subject, body, f"<cmd{next(SENT)}@example.com>"))
    return world.settle()


def answer_to(world: World, mails: list[tuple[str, bytes]], sender: str) -> str:
    [answer] = world.mail_to(sender, mails)
    return f"{answer['Subject']}\n{text_of(answer)}"


def start(world: World) -> str:
    """Cat asks a question; the control address of its discussion."""
    world.settle()
    world.post("cat@example.com", "How do you run retrospectives?", "We are stuck.\n", "<c1@example.com>")
    return control_of(world, world.settle())


def receivers(world: World, mails: list[tuple[str, bytes]], subject: str) -> set[str]:
    return {to for to, data in mails if subject in str(world.mail_to(to, [(to, data)])[0]["Subject"])}


def test_mute_stops_a_discussions_posts_and_unmute_brings_them_back(world: World) -> None:
    address = start(world)
    done = answer_to(world, command(world, "bob@example.com", address, "mute"), "bob@example.com")
    assert done.startswith("Done") and "You now get no more posts of" in done and "unmute" in done
    reply(world, "dan@example.com", "How do you run retrospectives?", "<d1@example.com>", "<c1@example.com>")
    got = receivers(world, world.settle(), "retrospectives")
    assert "bob@example.com" not in got and {"eve@example.com", "cat@example.com"} <= got
    world.post("cat@example.com", "Another topic", "Unrelated.\n", "<c2@example.com>")
    assert "bob@example.com" in receivers(world, world.settle(), "Another topic")  # only that discussion
    assert answer_to(world, command(world, "bob@example.com", address, "Re: unmute"), "bob@example.com")
    reply(world, "eve@example.com", "How do you run retrospectives?", "<e1@example.com>", "<d1@example.com>")
    assert "bob@example.com" in receivers(world, world.settle(), "retrospectives")


def test_follow_sends_a_digest_reader_each_post_of_that_discussion(world: World) -> None:
    world.set_delivery("fay@example.com", "mime-digest")
    address = start(world)
    done = answer_to(world, command(world, "fay@example.com", address, "", "follow\n\n-- \nFay"), "fay@example.com")
    assert "You now get each new post of" in done
    reply(world, "dan@example.com", "How do you run retrospectives?", "<d1@example.com>", "<c1@example.com>")
    assert "fay@example.com" in receivers(world, world.settle(), "retrospectives")
    world.post("cat@example.com", "Another topic", "Unrelated.\n", "<c2@example.com>")
    assert "fay@example.com" not in receivers(world, world.settle(), "Another topic")


def test_close_refuses_new_posts_with_a_notice_and_reopen_lets_them_in(world: World) -> None:
    address = start(world)
    refused = answer_to(world, command(world, "bob@example.com", address, "close"), "bob@example.com")
    assert refused.startswith("Not done") and "only the list's facilitators can close" in refused
    done = answer_to(world, command(world, FACILITATOR, address, "close"), FACILITATOR)
    assert "is now closed" in done
    reply(world, "dan@example.com", "How do you run retrospectives?", "<d1@example.com>", "<c1@example.com>")
    mails = world.settle()
    [notice] = world.mail_to("dan@example.com", mails)
    assert "was not distributed" in text_of(notice) and "was closed to new posts" in text_of(notice)
    assert {to for to, _ in mails} == {"dan@example.com"}  # the notice, and nothing to the members
    world.post("dan@example.com", "A new question", "Fresh.\n", "<d2@example.com>")  # other discussions go on
    assert "eve@example.com" in receivers(world, world.settle(), "A new question")
    reply(world, FACILITATOR, "How do you run retrospectives?", "<a1@example.com>", "<c1@example.com>")
    assert "eve@example.com" in receivers(world, world.settle(), "retrospectives")  # a facilitator's closing word
    assert "open to new posts again" in answer_to(world, command(world, FACILITATOR, address, "reopen"), FACILITATOR)
    reply(world, "dan@example.com", "How do you run retrospectives?", "<d3@example.com>", "<c1@example.com>")
    assert "eve@example.com" in receivers(world, world.settle(), "retrospectives")


def test_only_the_asker_marks_a_question_answered(world: World) -> None:
    address = start(world)
    refused = answer_to(world, command(world, "bob@example.com", address, "answered"), "bob@example.com")
    assert "only the member who asked" in refused
    assert "is now marked answered" in answer_to(world, command(world, "cat@example.com", address, "answered"),
                                                 "cat@example.com")  # fmt: skip


def test_forged_references_and_strangers_are_refused_logged_and_never_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    address = start(world)
    post_id = address.partition("+")[2].partition("-")[0]
    forged = f"team-do+{post_id}-aaaaaaaaaaaaaaaa@lists.example.test"
    caplog.set_level(logging.WARNING, logger="listserv.engagement.controls")
    assert command(world, "bob@example.com", forged, "close") == []
    assert command(world, "bob@example.com", "team-do+notaref@lists.example.test", "mute") == []
    assert command(world, "mallory@example.net", address, "mute") == []
    refusals = [r.getMessage() for r in caplog.records if "control refused" in r.getMessage()]
    assert len([r for r in refusals if "unknown or forged reference" in r]) == 2
    assert any("from=mallory@example.net" in r and "not a member" in r for r in refusals)


def test_merge_and_split_by_reply_show_in_listserv_thread(world: World, cli: Callable[..., str]) -> None:
    first = start(world)
    world.post("dan@example.com", "Retrospective formats", "Which formats?\n", "<d1@example.com>")
    second = control_of(world, world.settle())
    assert "Only the list's facilitators" not in answer_to(world, command(world, FACILITATOR, second, f"merge into {first}"),
                                                           FACILITATOR)  # fmt: skip
    [merged] = json.loads(cli("thread", "ls", LIST, "--json"))
    assert merged["post_count"] == 2 and set(merged["message_ids"]) == {"c1@example.com", "d1@example.com"}
    reply(world, "eve@example.com", "Retrospective formats", "<e1@example.com>", "<d1@example.com>")
    address = control_of(world, world.settle(), "bob@example.com")
    done = answer_to(world, command(world, FACILITATOR, second, "split"), FACILITATOR)
    assert "now a discussion of their own" in done
    found = json.loads(cli("thread", "ls", LIST, "--json"))
    assert sorted(d["post_count"] for d in found) == [1, 2]
    assert address


def digest_of(world: World, mails: list[tuple[str, bytes]], rcpt: str) -> str:
    [digest] = world.mail_to(rcpt, mails)
    return text_of(digest)


def test_a_muted_discussion_leaves_that_members_digest_only(world: World) -> None:
    for reader in ("fay@example.com", "bob@example.com"):
        world.set_delivery(reader, "summary")
    address = start(world)
    world.post("dan@example.com", "Another topic", "Unrelated news.\n", "<d2@example.com>")
    world.settle()
    assert "no more posts" in answer_to(world, command(world, "fay@example.com", address, "mute"), "fay@example.com")
    world.run()
    mails = world.settle()
    muted, other = digest_of(world, mails, "fay@example.com"), digest_of(world, mails, "bob@example.com")
    assert "Another topic" in muted and "retrospectives" not in muted
    assert "Another topic" in other and "retrospectives" in other


def test_a_question_marked_answered_leaves_the_digests_unanswered_questions(world: World) -> None:
    world.set_delivery("bob@example.com", "summary")
    address = start(world)
    world.post("dan@example.com", "When is the next meetup?", "Anyone know?\n", "<d2@example.com>")
    world.settle()
    assert "marked answered" in answer_to(world, command(world, "cat@example.com", address, "answered"),
                                          "cat@example.com")  # fmt: skip
    world.run()
    unanswered = digest_of(world, world.settle(), "bob@example.com").partition("UNANSWERED QUESTIONS")[2]
    assert "When is the next meetup?" in unanswered and "retrospectives" not in unanswered


def test_a_highlighted_discussion_comes_first_in_the_next_digest_only(world: World) -> None:
    world.set_delivery("bob@example.com", "summary")
    world.set_delivery("fay@example.com", "mime-digest")
    address = start(world)
    world.post("dan@example.com", "Another topic", "Unrelated news.\n", "<d2@example.com>")
    world.settle()
    refused = answer_to(world, command(world, "bob@example.com", address, "highlight"), "bob@example.com")
    assert "only the list's facilitators can highlight" in refused
    assert "highlighted" in answer_to(world, command(world, FACILITATOR, address, "highlight"), FACILITATOR)
    world.run()
    mails = world.settle()
    summary = digest_of(world, mails, "bob@example.com")
    highlights, _, rest = summary.partition("HIGHLIGHTED BY THE FACILITATORS")[2].partition("NEW DISCUSSIONS")
    assert "How do you run retrospectives?" in highlights and "Another topic" not in highlights
    assert "Another topic" in rest and "retrospectives?" not in rest.partition("UNANSWERED")[0]
    assert f"Steer: <mailto:{address}?subject=mute>" in highlights  # each item can be steered from the digest
    assert "Highlighted by the facilitators:\n  * How do you run retrospectives?" in digest_of(world, mails,
                                                                                          "fay@example.com")  # fmt: skip
    world.post("dan@example.com", "Third topic", "More news.\n", "<d3@example.com>")
    world.settle()
    world.run()
    assert "HIGHLIGHTED" not in digest_of(world, world.settle(), "bob@example.com")  # the next digest only


def test_the_weekly_reports_discussion_lines_can_be_steered_by_reply(world: World) -> None:
    address = start(world)
    world.at(timedelta(days=6))
    report_time(world)
    text = text_of(the_report(world))
    assert 'How do you run retrospectives?" by cat' in text and f"    steer: {address}" in text
    assert "is now closed" in answer_to(world, command(world, FACILITATOR, address, "close"), FACILITATOR)


def test_a_feedback_form_goes_out_as_polls_and_its_results_reach_the_report(world: World) -> None:
    address = start(world)
    form = "Was this discussion useful? | very | somewhat | not really\nWould you like more like it?\n"
    refused = answer_to(world, command(world, "bob@example.com", address, "feedback", form), "bob@example.com")
    assert "only the list's facilitators can send a feedback form" in refused
    done = answer_to(world, command(world, FACILITATOR, address, "feedback", form), FACILITATOR)
    assert "Your feedback form (2 questions)" in done
    assert open_due_polls(world.sessions, world.templates, world.now()) == 2
    world.wait_processed()
    polls = world.mail_to("bob@example.com", world.settle())
    assert sorted(str(p["Subject"]) for p in polls) == ["[team] Was this discussion useful?",
                                                       "[team] Would you like more like it?"]  # fmt: skip
    [useful] = [p for p in polls if "useful" in str(p["Subject"])]
    assert "1. very" in text_of(useful) and "Feedback on the discussion" in text_of(useful)
    vote = str(useful["Reply-To"])
    for sender, line in (("bob@example.com", "1"), ("eve@example.com", "1"), ("dan@example.com", "3")):
        world.send(sender, vote, make_post(sender, vote, "Re: poll", f"{line}\n", f"<v{next(SENT)}@example.com>"))
    world.settle()
    assert close_due_polls(world.sessions, world.templates, world.at(timedelta(days=7, minutes=1))) == 2
    world.settle()
    report_time(world)
    text = text_of(the_report(world))
    results = text.partition("Was this discussion useful? (closed")[2]
    assert results.startswith(", 3 voters)") and "2  very" in results and "1  not really" in results
