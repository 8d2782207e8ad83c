"""The stage ladder and the counting of facts, on rows written by hand (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from listserv.engagement.facts import DiscussionRow, MemberRow, PostRow, count_facts
from listserv.engagement.rules import Facts, Rules, Stage, assess, format_rules, is_stuck, parse_rules, rules_problem

T0 = datetime(2026, 3, 2, 9, 0)


def test_the_ladder_takes_the_highest_stage_whose_test_passes() -> None:
    rules = Rules()
    assert assess(Facts("a@x", T0), rules).stage is Stage.ACCESS
    assert assess(Facts("a@x", T0, posts=1), rules).stage is Stage.SOCIALISATION
    assert assess(Facts("a@x", T0, posts=3, replies=3), rules).stage is Stage.INFORMATION
    assert assess(Facts("a@x", T0, posts=1, replies=1, answers=1), rules).stage is Stage.INFORMATION
    assert assess(Facts("a@x", T0, posts=4, exchanges=2), rules).stage is Stage.CONSTRUCTION
    assert assess(Facts("a@x", T0, posts=4, drawn=3), rules).stage is Stage.CONSTRUCTION
    assert assess(Facts("a@x", T0, posts=4, started_joined=2), rules).stage is Stage.SOCIALISATION
    assert assess(Facts("a@x", T0, posts=4, started_joined=2, newcomers_answered=1), rules).stage is Stage.DEVELOPMENT
    assert assess(Facts("f@x", T0, facilitator=True), rules).stage is Stage.DEVELOPMENT


def test_each_assessment_says_why_in_words() -> None:
    found = assess(Facts("a@x", T0, posts=5, exchanges=2, drawn=4), Rules())
    assert found.reasons == ("kept up 2 exchanges of three or more people", "drew replies from 4 members")
    silent = assess(Facts("a@x", T0), Rules(window_weeks=12))
    assert silent.reasons == ("joined 2026-03-02, no post in the last 12 weeks",)
    assert assess(Facts("a@x", T0, posts=1), Rules()).reasons == ("posted 1 time",)


def test_thresholds_are_a_list_setting_of_key_value_words() -> None:
    rules = parse_rules("window_weeks=12, information_replies=1")
    assert (rules.window_weeks, rules.information_replies, rules.construction_drawn) == (12, 1, 3)
    assert parse_rules(format_rules(rules)) == rules
    assert parse_rules("") == Rules()
    assert assess(Facts("a@x", T0, posts=1, replies=1), rules).stage is Stage.INFORMATION
    assert rules_problem("window=3") is not None and "unknown stage rule 'window'" in str(rules_problem("window=3"))
    assert rules_problem("stuck_weeks=three") == "stuck_weeks needs a whole number, e.g. stuck_weeks=3"
    assert rules_problem("window_weeks=0") is None


def test_a_member_is_stuck_at_stage_one_after_the_weeks_the_list_allows() -> None:
    rules = Rules(stuck_weeks=3)
    waiting = assess(Facts("a@x", T0), rules)
    assert not is_stuck(waiting, T0, T0 + timedelta(days=20), rules)
    assert is_stuck(waiting, T0, T0 + timedelta(days=21), rules)
    assert not is_stuck(assess(Facts("a@x", T0, posts=1), rules), T0, T0 + timedelta(days=60), rules)
    assert not is_stuck(waiting, T0, T0 + timedelta(days=60), Rules(stuck_weeks=0))


def post(discussion: int, message_id: str, parent: str | None, sender: str, day: int) -> PostRow:
    return PostRow(discussion, message_id, parent, sender, T0 + timedelta(days=day))


OLD = T0 - timedelta(days=60)  # long enough ago that their discussions are not a newcomer's
MEMBERS = [MemberRow("cat@x", OLD), MemberRow("dan@x", OLD), MemberRow("bob@x", OLD),
           MemberRow("new@x", T0 + timedelta(days=10)), MemberRow("fay@x", OLD), MemberRow("ann@x", OLD, True)]  # fmt: skip
DISCUSSIONS = {
    1: DiscussionRow(1, "cat@x", T0 + timedelta(days=1), "How do you run retrospectives?"),
    2: DiscussionRow(2, "new@x", T0 + timedelta(days=12), "Hello from a newcomer"),
    3: DiscussionRow(3, "cat@x", T0 + timedelta(days=13), "Our workshop template"),
}
POSTS = [
    post(1, "c1", None, "cat@x", 1), post(1, "d1", "c1", "dan@x", 1), post(1, "b1", "c1", "bob@x", 2),
    post(1, "c2", "d1", "cat@x", 2), post(1, "d2", "c2", "dan@x", 3), post(1, "x1", "c1", "gone@x", 3),
    post(2, "n1", None, "new@x", 12), post(2, "c3", "n1", "cat@x", 12),
    post(3, "c4", None, "cat@x", 13), post(3, "d3", "c4", "dan@x", 13), post(3, "b2", "c4", "bob@x", 14),
]  # fmt: skip


def test_facts_are_counted_per_discussion() -> None:
    facts = {f.email: f for f in count_facts(MEMBERS, DISCUSSIONS, POSTS, None)}
    cat, dan, bob, new = facts["cat@x"], facts["dan@x"], facts["bob@x"], facts["new@x"]
    assert (cat.posts, cat.replies, cat.started, cat.started_joined) == (4, 1, 2, 2)
    assert cat.drawn == 3  # dan, bob and gone@x replied to her (a former member still counts as a person)
    assert cat.exchanges == 1 and dan.exchanges == 1 and bob.exchanges == 0  # discussion 1: four people
    assert (dan.answers, bob.answers, cat.answers) == (1, 1, 0)  # only discussion 1 asks
    assert cat.newcomers_answered == 1 and dan.newcomers_answered == 0
    assert new.posts == 1 and new.drawn == 1
    assert facts["fay@x"].posts == 0 and facts["fay@x"].last_post is None
    assert "gone@x" not in facts and cat.last_post == T0 + timedelta(days=13)
    assert assess(cat, Rules()).stage is Stage.DEVELOPMENT
    assert assess(dan, Rules()).stage is Stage.INFORMATION


def test_the_window_counts_only_recent_posts_and_discussions_started_in_it() -> None:
    since = T0 + timedelta(days=11)
    recent = [p for p in POSTS if p.posted_at >= since]
    cat = {f.email: f for f in count_facts(MEMBERS, DISCUSSIONS, recent, since)}["cat@x"]
    assert (cat.posts, cat.started, cat.started_joined, cat.newcomers_answered) == (2, 1, 1, 1)
    assert assess(cat, Rules()).stage is Stage.SOCIALISATION


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_a_label(stage: Stage) -> None:
    assert stage.label and stage.label == stage.label.lower()
