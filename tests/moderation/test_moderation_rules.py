"""The hold rules: each hits what it is for, misses what it is not, and the largest action wins."""

from __future__ import annotations

from dataclasses import replace

import pytest

from listserv.moderation.decide import decide
from listserv.moderation.rules import (
    Action,
    ModerationPolicy,
    Pattern,
    PostFacts,
    SenderPattern,
    banned,
    emergency,
    matches_address,
    member_moderated,
    new_member,
    no_subject,
    nonmember,
    parse_patterns,
    pattern,
    pattern_problem,
    suspected_spam,
    too_big,
    too_many_recipients,
)

POST = PostFacts(
    list_address="team@lists.example.org", list_ids=(), list_id="<team.lists.example.org>", been_there=(),
    envelope_sender="alice@example.com", sender="alice@example.com", sender_is_member=True, auto_submitted="",
    precedence="", size=2000, recipients=1, headers=(("subject", "Retros"),), body="How do you run them?",
)  # fmt: skip
POLICY = ModerationPolicy(hold_message_size=100_000, max_recipients=10)


def facts(**changes: object) -> PostFacts:
    return replace(POST, **changes)


def test_the_default_policy_holds_nonmembers_and_an_ordinary_member_post_passes():
    assert ModerationPolicy().nonmember_action is Action.HOLD
    assert decide(POST, POLICY).action is Action.ACCEPT
    assert decide(facts(sender_is_member=False), POLICY).action is Action.HOLD


@pytest.mark.parametrize(
    ("rule", "changes", "policy", "rule_id", "action"),
    [
        (nonmember, dict(sender_is_member=False), POLICY, "nonmember", Action.HOLD),
        (nonmember, dict(sender_is_member=False), ModerationPolicy(nonmember_action=Action.DISCARD), "nonmember", Action.DISCARD),
        (new_member, dict(member_moderation="new"), POLICY, "new-member", Action.HOLD),
        (new_member, dict(member_moderation="new", member_posts=2), ModerationPolicy(new_member_posts=3), "new-member", Action.HOLD),
        (member_moderated, dict(member_moderation="hold"), POLICY, "member-moderated", Action.HOLD),
        (member_moderated, dict(member_moderation="reject"), POLICY, "member-moderated", Action.REJECT),
        (member_moderated, dict(member_moderation="discard"), POLICY, "member-moderated", Action.DISCARD),
        (emergency, dict(), ModerationPolicy(emergency=True), "emergency", Action.HOLD),
        (too_big, dict(size=100_001), POLICY, "too-big", Action.HOLD),
        (too_many_recipients, dict(recipients=11), POLICY, "too-many-recipients", Action.HOLD),
        (no_subject, dict(has_subject=False), POLICY, "no-subject", Action.HOLD),
        (pattern, dict(body="Buy CHEAP pills"), ModerationPolicy(patterns=(Pattern("body", r"cheap\s+pills"),)), "pattern",
         Action.HOLD),
        (pattern, dict(headers=(("x-mailer", "BulkBlaster 9"),)), ModerationPolicy(patterns=(Pattern("x-mailer", "bulk"),)),
         "pattern", Action.HOLD),
        (suspected_spam, dict(spam_flag=True), POLICY, "suspected-spam", Action.HOLD),
        (suspected_spam, dict(auth_failures=("dmarc=fail header.from=example.com",)), POLICY, "suspected-spam",
         Action.HOLD),
        (suspected_spam, dict(spam_flag=True), ModerationPolicy(spam_action=Action.DISCARD), "suspected-spam", Action.DISCARD),
        (banned, dict(), ModerationPolicy(sender_rules=(SenderPattern("alice@example.com", Action.DISCARD),)), "banned",
         Action.DISCARD),
        (banned, dict(), ModerationPolicy(sender_rules=(SenderPattern("*@example.com", Action.REJECT, "no"),)), "banned",
         Action.REJECT),
        (banned, dict(), ModerationPolicy(sender_rules=(SenderPattern("^alice@", Action.HOLD),)), "sender-moderated", Action.HOLD),
    ],
)  # fmt: skip
def test_each_hold_rule_hits_what_it_is_for(rule, changes, policy, rule_id, action):
    hit = rule(facts(**changes), policy)
    assert hit is not None and (hit.rule, hit.action) == (rule_id, action) and hit.reason


@pytest.mark.parametrize(
    ("rule", "changes", "policy"),
    [
        (nonmember, dict(sender_is_member=False), ModerationPolicy(sender_rules=(SenderPattern("alice@example.com", Action.ACCEPT),))),
        (new_member, dict(member_moderation="new", member_posts=1), POLICY),
        (new_member, dict(member_moderation="new"), ModerationPolicy(new_member_posts=0)),
        (new_member, dict(member_moderation=""), POLICY),
        (member_moderated, dict(member_moderation="accept"), POLICY),
        (member_moderated, dict(member_moderation="new"), POLICY),
        (member_moderated, dict(member_moderation="hold", sender_is_member=False), POLICY),
        (emergency, dict(sender_is_facilitator=True), ModerationPolicy(emergency=True)),
        (emergency, dict(), POLICY),
        (too_big, dict(size=100_000), POLICY),
        (too_big, dict(size=10**9), ModerationPolicy(hold_message_size=0)),
        (too_many_recipients, dict(recipients=10), POLICY),
        (too_many_recipients, dict(recipients=500), ModerationPolicy(max_recipients=0)),
        (no_subject, dict(has_subject=False), ModerationPolicy(require_subject=False)),
        (pattern, dict(body="nothing to see"), ModerationPolicy(patterns=(Pattern("body", "pills"),))),
        (pattern, dict(), ModerationPolicy(patterns=(Pattern("body", "(unclosed"),))),  # never raises
        (suspected_spam, dict(spam_flag=True), ModerationPolicy(spam_action=Action.ACCEPT)),
        (banned, dict(), ModerationPolicy(sender_rules=(SenderPattern("*@example.net", Action.DISCARD),))),
        (banned, dict(), ModerationPolicy(sender_rules=(SenderPattern("alice@example.com", Action.ACCEPT),))),
    ],
)  # fmt: skip
def test_each_hold_rule_misses_what_it_is_not_for(rule, changes, policy):
    assert rule(facts(**changes), policy) is None


def test_a_ban_outranks_a_hold_and_automatic_mail_outranks_both():
    policy = ModerationPolicy(sender_rules=(SenderPattern("*@example.com", Action.DISCARD),), emergency=True)
    decision = decide(facts(sender_is_member=False), policy)
    assert decision.action is Action.DISCARD and decision.rule_ids == "banned nonmember emergency"
    held = decide(facts(sender_is_member=False, has_subject=False), POLICY)
    assert held.action is Action.HOLD and held.rule_ids == "nonmember no-subject"
    assert held.reason == "alice@example.com is not a member of the list; the message has no subject"


def test_an_exact_address_rule_wins_over_a_pattern_for_the_same_sender():
    policy = ModerationPolicy(
        sender_rules=(SenderPattern("*@example.com", Action.DISCARD), SenderPattern("alice@example.com", Action.ACCEPT))
    )
    assert decide(facts(sender_is_member=False), policy).action is Action.ACCEPT


@pytest.mark.parametrize(
    ("pattern_text", "address", "matches"),
    [("Alice@Example.com", "alice@example.com", True), ("*@example.com", "bob@example.com", True),
     ("*@example.com", "bob@example.com.evil", False), ("^.*@(spam|junk)\\.example$", "x@junk.example", True),
     ("^(broken", "x@example.com", False), ("bob@example.com", "bob@example.com.au", False)],
)  # fmt: skip
def test_sender_patterns_are_addresses_globs_or_regular_expressions(pattern_text, address, matches):
    assert matches_address(pattern_text, address) is matches


def test_patterns_are_read_one_a_line_and_bad_ones_are_explained():
    text = "# spam words\nSubject: (?i)free money\n\nbody: casino\nX-Mailer: BulkBlaster\n"
    assert parse_patterns(text) == (Pattern("subject", "(?i)free money"), Pattern("body", "casino"),
                                    Pattern("x-mailer", "BulkBlaster"))  # fmt: skip
    assert pattern_problem(text) is None
    assert "not a regular expression" in pattern_problem("body: (unclosed")
    assert "expected 'Header: regex'" in pattern_problem("just words")
