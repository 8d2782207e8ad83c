"""Posting rules and decide(): each rule hits and misses, the largest action wins, ids kept in order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from listserv.moderation.decide import Decision, decide
from listserv.moderation.rules import (
    DEFAULT_RULES,
    Action,
    Hit,
    ModerationPolicy,
    PostFacts,
    auto_submitted,
    loop,
    no_sender,
    nonmember,
    null_sender,
)

MEMBER_POST = PostFacts(
    list_address="team@lists.example.org",
    list_ids=(),
    list_id="<team.lists.example.org>",
    been_there=(),
    envelope_sender="alice@example.com",
    sender="alice@example.com",
    sender_is_member=True,
    auto_submitted="",
    precedence="",
)
POLICY = ModerationPolicy(nonmember_action=Action.REJECT)  # explicit: the default may change, the rules should not


def facts(**changes: object) -> PostFacts:
    return replace(MEMBER_POST, **changes)


def test_a_members_ordinary_post_is_accepted_with_no_hits():
    assert decide(MEMBER_POST, POLICY) == Decision(Action.ACCEPT, ())
    assert all(rule(MEMBER_POST, POLICY) is None for rule in DEFAULT_RULES)


@pytest.mark.parametrize(
    ("rule", "changes", "rule_id", "action"),
    [
        (loop, dict(been_there=("team@lists.example.org",)), "loop", Action.DISCARD),
        (loop, dict(been_there=("other@example.net", "team@lists.example.org")), "loop", Action.DISCARD),
        (loop, dict(list_ids=("<team.lists.example.org>",)), "loop", Action.DISCARD),
        (loop, dict(list_ids=('"team" <team.lists.example.org>',)), "loop", Action.DISCARD),
        (loop, dict(list_ids=("<other.example.net>", "team list <team.lists.example.org>")), "loop", Action.DISCARD),
        (null_sender, dict(envelope_sender=""), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="<>"), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="mailer-daemon@mx.example.com"), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="MAILER-DAEMON@mx.example.com"), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="postmaster@example.com"), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="noreply@example.com"), "null-sender", Action.DISCARD),
        (null_sender, dict(envelope_sender="No-Reply@example.com"), "null-sender", Action.DISCARD),
        (auto_submitted, dict(auto_submitted="auto-replied"), "auto-submitted", Action.DISCARD),
        (auto_submitted, dict(auto_submitted="auto-generated"), "auto-submitted", Action.DISCARD),
        (auto_submitted, dict(auto_submitted="auto-notified"), "auto-submitted", Action.DISCARD),
        (auto_submitted, dict(precedence="bulk"), "auto-submitted", Action.DISCARD),
        (auto_submitted, dict(precedence="junk"), "auto-submitted", Action.DISCARD),
        (auto_submitted, dict(precedence="auto_reply"), "auto-submitted", Action.DISCARD),
        (no_sender, dict(sender=""), "no-sender", Action.DISCARD),
        (nonmember, dict(sender_is_member=False), "nonmember", Action.REJECT),
    ],
)
def test_each_rule_hits_what_it_is_for(rule, changes, rule_id, action):
    hit = rule(facts(**changes), POLICY)
    assert hit is not None and (hit.rule, hit.action) == (rule_id, action) and hit.reason


@pytest.mark.parametrize(
    ("rule", "changes"),
    [
        (loop, dict(been_there=("other@lists.example.net",))),
        (loop, dict(been_there=("team-owner@lists.example.org",))),  # our owner alias forwarded it: not a post loop
        (loop, dict(list_ids=("<other.lists.example.net>",))),
        (loop, dict(list_ids=("<xteam.lists.example.org>",))),
        (loop, dict(list_ids=("<team.lists.example.org.evil>",))),
        (null_sender, dict(envelope_sender="bob@example.com")),
        (null_sender, dict(envelope_sender="daemon-fan@example.com")),
        (auto_submitted, dict(auto_submitted="no")),
        (auto_submitted, dict(precedence="list")),  # another list's post, forwarded on purpose
        (auto_submitted, dict(precedence="first-class")),
        (no_sender, dict(sender="bob@example.com")),
        (nonmember, dict(sender_is_member=True)),
        (nonmember, dict(sender="", sender_is_member=False)),  # no-sender's business, not nonmember's
    ],
)
def test_each_rule_misses_what_it_is_not_for(rule, changes):
    assert rule(facts(**changes), POLICY) is None


def test_the_nonmember_action_comes_from_the_policy_and_names_the_sender():
    hit = nonmember(
        facts(sender="eve@example.net", sender_is_member=False), ModerationPolicy(nonmember_action=Action.DISCARD)
    )
    assert hit == Hit("nonmember", Action.DISCARD, "eve@example.net is not a member of the list")


def test_actions_are_ordered_so_that_the_largest_wins():
    assert Action.ACCEPT < Action.HOLD < Action.REJECT < Action.DISCARD


@pytest.mark.parametrize(
    ("changes", "action", "rule_ids"),
    [
        (dict(sender_is_member=False), Action.REJECT, "nonmember"),
        (dict(sender_is_member=False, been_there=("team@lists.example.org",)), Action.DISCARD, "loop nonmember"),
        (dict(sender_is_member=False, auto_submitted="auto-replied"), Action.DISCARD, "auto-submitted nonmember"),
        (dict(envelope_sender="<>", sender="", sender_is_member=False), Action.DISCARD, "null-sender no-sender"),
        (dict(envelope_sender="", auto_submitted="auto-replied", precedence="bulk",
              list_ids=("<team.lists.example.org>",), sender_is_member=False),
         Action.DISCARD, "loop null-sender auto-submitted nonmember"),
    ],
)  # fmt: skip
def test_decide_takes_the_largest_action_and_records_every_rule_id_in_order(changes, action, rule_ids):
    decision = decide(facts(**changes), POLICY)
    assert decision.action is action
    assert decision.rule_ids == rule_ids
    assert [hit.rule for hit in decision.hits] == rule_ids.split()


def test_the_reason_comes_only_from_the_hits_that_decided():
    decision = decide(facts(sender_is_member=False, been_there=("team@lists.example.org",)), POLICY)
    assert decision.reason == "the message already went through this list"
    reject = decide(facts(sender="eve@example.net", sender_is_member=False), POLICY)
    assert reject.reason == "eve@example.net is not a member of the list"


def test_decide_runs_the_rules_it_is_given_in_their_order():
    def always(rule_id: str, action: Action):
        return lambda facts, policy: Hit(rule_id, action, rule_id)

    rules = (always("b", Action.REJECT), always("a", Action.ACCEPT), always("c", Action.REJECT))
    decision = decide(MEMBER_POST, POLICY, rules)
    assert decision.rule_ids == "b a c" and decision.action is Action.REJECT
    assert decision.reason == "b; c"
    assert decide(MEMBER_POST, POLICY, ()) == Decision(Action.ACCEPT, ())


def test_a_nonmember_accepted_by_policy_is_accepted_with_the_hit_recorded():
    decision = decide(facts(sender_is_member=False), ModerationPolicy(nonmember_action=Action.ACCEPT))
    assert decision.action is Action.ACCEPT and decision.rule_ids == "nonmember"


def test_rules_do_not_change_the_facts_they_read():
    before = facts(sender_is_member=False, been_there=("team@lists.example.org",))
    snapshot = replace(before)
    decide(before, POLICY)
    assert before == snapshot
