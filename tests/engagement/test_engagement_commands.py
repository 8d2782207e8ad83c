"""Replies to the weekly report and to an invitation, read (pure); the chart drawn."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from listserv.engagement.chart import COLOURS, Week, nice_top, stage_chart
from listserv.engagement.commands import Command, Verb, answer_of, chosen, parse_commands
from listserv.engagement.rules import Stage


def test_one_command_a_line_with_numbers_or_all() -> None:
    found = parse_commands("Nudge 2\ninvite 1, 3.\nthanks for the report!\nnudge all\nnudge two\ninvite")
    assert found.commands == (
        Command(Verb.NUDGE, (2,)), Command(Verb.INVITE, (1, 3)), Command(Verb.NUDGE, (), every=True),
    )  # fmt: skip
    assert found.unclear == ("nudge two", "invite")


def test_numbers_name_the_reports_people_and_the_rest_is_reported() -> None:
    people = ["a@x", "b@x"]
    assert chosen(Command(Verb.NUDGE, (2, 5, 0)), people) == (["b@x"], [5, 0])
    assert chosen(Command(Verb.NUDGE, (), every=True), people) == (people, [])


@pytest.mark.parametrize(
    ("text", "answer"),
    [("Yes, gladly!", True), ("yes", True), ("OK\n\n> quoted", True), ("Happy to", True), ("No thanks.", False),
     ("not now", False), ("Maybe later?", None), ("", None), ("\n\nYES\n", True)],
)  # fmt: skip
def test_an_invitation_is_answered_yes_or_no(text: str, answer: bool | None) -> None:
    assert answer_of(text) is answer


def test_the_axis_ends_on_a_round_number() -> None:
    assert [nice_top(v) for v in (0, 5, 6, 11, 21, 51, 101, 999)] == [5, 5, 10, 20, 50, 100, 200, 1000]


def test_the_chart_is_a_png_with_a_bar_per_week_in_the_stage_colours() -> None:
    weeks = [Week("2 Nov", {Stage.ACCESS: 10}), Week("9 Nov", {Stage.ACCESS: 6, Stage.DEVELOPMENT: 4})]
    image = Image.open(BytesIO(stage_chart(weeks))).convert("RGB")
    assert image.size == (640, 280)
    colours = {colour for _, colour in image.getcolors(maxcolors=100_000) or []}
    assert COLOURS[Stage.ACCESS] in colours and COLOURS[Stage.DEVELOPMENT] in colours
    assert stage_chart(weeks) == stage_chart(weeks)  # the same bytes for the same weeks
    assert stage_chart([]).startswith(b"\x89PNG")
