"""Reading a discussion command from a reply, and who may give it (pure)."""

from __future__ import annotations

import pytest

from listserv.discussions.controls import (
    DEFAULT_CHOICES,
    Control,
    Question,
    Unclear,
    Verb,
    read_control,
    refusal,
)


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("mute", "", Control(Verb.MUTE)),
        ("Re: Re: follow", "", Control(Verb.FOLLOW)),
        ("Re: How do you run retrospectives?", "Unmute.\n\nThanks", Control(Verb.UNMUTE)),
        ("anything", "solved!", Control(Verb.ANSWERED)),
        ("", "merge into team-do+12-abcdefghijklmnop@lists.example.org", Control(Verb.MERGE, "12-abcdefghijklmnop")),
        ("", "Merge 12-ABCDEFGHIJKLMNOP", Control(Verb.MERGE, "12-abcdefghijklmnop")),
        ("", "merge", Unclear("merge")),
        ("Re: a question", "I think we should talk about it", Unclear("I think we should talk about it")),
        ("", "", Unclear("")),
    ],
)
def test_the_command_is_the_first_line_else_the_subject(subject: str, text: str, expected: object) -> None:
    assert read_control(subject, text) == expected


def test_feedback_reads_its_questions_with_choices_or_the_default_ones() -> None:
    found = read_control("feedback", "Was it useful? | very | somewhat | no\n\nMore like it?\nOdd? | only one\n")
    assert found == Control(Verb.FEEDBACK, questions=(
        Question("Was it useful?", ("very", "somewhat", "no")), Question("More like it?", DEFAULT_CHOICES),
        Question("Odd?", DEFAULT_CHOICES)))  # fmt: skip
    assert read_control("", "feedback\nQ1\nQ2\nQ3\nQ4\nQ5\nQ6").questions[-1].text == "Q5"  # type: ignore[union-attr]
    assert read_control("feedback", "") == Unclear("feedback without questions")


@pytest.mark.parametrize(
    ("verb", "facilitator", "started_it", "allowed"),
    [
        (Verb.MUTE, False, False, True),
        (Verb.FOLLOW, False, False, True),
        (Verb.ANSWERED, False, True, True),
        (Verb.ANSWERED, False, False, False),
        (Verb.ANSWERED, True, False, True),
        (Verb.CLOSE, False, True, False),
        (Verb.MERGE, True, False, True),
        (Verb.FEEDBACK, False, False, False),
    ],
)
def test_who_may_give_which_command(verb: Verb, facilitator: bool, started_it: bool, allowed: bool) -> None:
    assert (refusal(verb, facilitator, started_it) is None) is allowed
