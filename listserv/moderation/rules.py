"""Posting rules: one pure function per rule, PostFacts -> Hit | None.

Rules only read facts gathered beforehand; they never write anything. The
stable kebab-case ids are stored with each post, so "why?" has an answer later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from fnmatch import fnmatchcase
from functools import lru_cache

AUTOMATIC_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")


class Action(IntEnum):
    """Ordered: when several rules hit, the largest action wins."""

    ACCEPT = 0
    HOLD = 1  # kept for a facilitator to approve, reject, discard or edit
    REJECT = 2  # not distributed; the sender is told why
    DISCARD = 3  # not distributed; nobody is told (loops, automatic mail)


ACTIONS = {action.name.lower(): action for action in Action}
MEMBER_ACTIONS = ("", "new", "accept", "hold", "reject", "discard")  # members.moderation


@dataclass(frozen=True)
class PostFacts:
    list_address: str
    list_ids: tuple[str, ...]  # List-Id values already on the message
    list_id: str  # ours, e.g. "<team.lists.example.org>"
    been_there: tuple[str, ...]
    envelope_sender: str
    sender: str
    sender_is_member: bool
    auto_submitted: str
    precedence: str
    sender_is_facilitator: bool = False
    member_moderation: str = ""  # one of MEMBER_ACTIONS; "new": a newcomer
    member_posts: int = 0  # the member's posts approved so far
    size: int = 0  # bytes as received
    recipients: int = 0  # addresses in To and Cc
    has_subject: bool = True
    headers: tuple[tuple[str, str], ...] = ()  # (lower-case name, decoded value)
    body: str = ""  # the beginning of the text, for patterns
    spam_flag: bool = False  # X-Spam-Flag / X-Spam-Status said yes
    auth_failures: tuple[str, ...] = ()  # e.g. "dmarc=fail header.from=example.com" (inbound/authres.py SenderAuth)
    auth_passed: tuple[str, ...] = ()  # e.g. "dkim=pass header.d=example.com (verified here)"
    arc_chain: str = "none"  # our ARC validation of the message as received: pass, fail, none, temperror


@dataclass(frozen=True)
class SenderPattern:
    """A per-list action for addresses matching a pattern: bans, trusted posters."""

    pattern: str  # an address, a glob (*@spam.example) or a regular expression starting with ^
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class Pattern:
    """Hold a post whose header (or body) matches a regular expression."""

    field: str  # a header name in lower case, or "body"
    regex: str


@dataclass(frozen=True)
class ModerationPolicy:
    nonmember_action: Action = Action.HOLD
    new_member_posts: int = 1
    emergency: bool = False
    hold_message_size: int = 0  # bytes; 0: off
    max_recipients: int = 0  # 0: off
    require_subject: bool = True
    patterns: tuple[Pattern, ...] = ()
    spam_action: Action = Action.HOLD
    sender_rules: tuple[SenderPattern, ...] = ()


@dataclass(frozen=True)
class Hit:
    rule: str
    action: Action
    reason: str


Rule = Callable[[PostFacts, ModerationPolicy], Hit | None]


def loop(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    ours = facts.list_address in facts.been_there or any(facts.list_id in v for v in facts.list_ids)
    return Hit("loop", Action.DISCARD, "the message already went through this list") if ours else None


def null_sender(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    sender = facts.envelope_sender.strip().lower()
    if sender in ("", "<>") or sender.startswith(AUTOMATIC_SENDERS):
        return Hit("null-sender", Action.DISCARD, "delivery reports are never redistributed")
    return None


def auto_submitted(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if facts.auto_submitted not in ("", "no") or facts.precedence in ("bulk", "junk", "auto_reply"):
        return Hit("auto-submitted", Action.DISCARD, "automatic mail is never redistributed")
    return None


def no_sender(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    return None if facts.sender else Hit("no-sender", Action.DISCARD, "the message has no From address")


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None


def matches_address(pattern: str, address: str) -> bool:
    """An exact address, a glob (`*@spam.example`) or, starting with ^, a regular expression."""
    pattern, address = pattern.strip().lower(), address.strip().lower()
    if pattern.startswith("^"):
        regex = _regex(pattern)
        return bool(regex and regex.search(address))
    if any(c in pattern for c in "*?["):
        return fnmatchcase(address, pattern)
    return pattern == address


def sender_rule(facts: PostFacts, policy: ModerationPolicy) -> SenderPattern | None:
    """The first of the list's sender rules that matches the sender (exact addresses first)."""
    if not facts.sender:
        return None
    ordered = sorted(policy.sender_rules, key=lambda r: r.pattern.strip().lower() != facts.sender)
    return next((r for r in ordered if matches_address(r.pattern, facts.sender)), None)


def banned(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    found = sender_rule(facts, policy)
    if found is None or found.action is Action.ACCEPT:
        return None
    why = found.reason or f"{facts.sender} may not post to this list"
    if found.action is Action.HOLD:
        return Hit("sender-moderated", Action.HOLD, why)
    return Hit("banned", found.action, why)


def nonmember(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if facts.sender_is_member or not facts.sender:
        return None
    found = sender_rule(facts, policy)
    if found is not None and found.action is Action.ACCEPT:
        return None  # an allowed poster ("approve always")
    return Hit("nonmember", policy.nonmember_action, f"{facts.sender} is not a member of the list")


def member_moderated(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    action = ACTIONS.get(facts.member_moderation)
    if not facts.sender_is_member or action is None or action is Action.ACCEPT:
        return None
    return Hit("member-moderated", action, f"the posts of {facts.sender} are moderated")


def new_member(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if facts.sender_is_member and facts.member_moderation == "new" and facts.member_posts < policy.new_member_posts:
        n = policy.new_member_posts
        return Hit(
            "new-member", Action.HOLD, f"a new member's first {'post is' if n == 1 else f'{n} posts are'} reviewed"
        )
    return None


def emergency(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if policy.emergency and not facts.sender_is_facilitator:
        return Hit("emergency", Action.HOLD, "every post is reviewed while emergency moderation is on")
    return None


def too_big(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if policy.hold_message_size and facts.size > policy.hold_message_size:
        return Hit("too-big", Action.HOLD, f"the message is {kib(facts.size)}, over {kib(policy.hold_message_size)}")
    return None


def kib(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{max(1, round(size / 1024))} KB"


def too_many_recipients(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if policy.max_recipients and facts.recipients > policy.max_recipients:
        why = f"it is addressed to {facts.recipients} recipients, more than {policy.max_recipients}"
        return Hit("too-many-recipients", Action.HOLD, why)
    return None


def no_subject(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if policy.require_subject and not facts.has_subject:
        return Hit("no-subject", Action.HOLD, "the message has no subject")
    return None


def pattern(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    for item in policy.patterns:
        regex = _regex(item.regex)
        if regex is None:
            continue
        texts = [facts.body] if item.field == "body" else [v for k, v in facts.headers if k == item.field]
        if any(regex.search(text) for text in texts):
            return Hit("pattern", Action.HOLD, f"the {item.field} matches the list's pattern {item.regex!r}")
    return None


def suspected_spam(facts: PostFacts, policy: ModerationPolicy) -> Hit | None:
    if policy.spam_action is Action.ACCEPT:
        return None
    if facts.spam_flag:
        return Hit("suspected-spam", policy.spam_action, "a spam filter marked the message as spam")
    if facts.auth_failures:
        return Hit("suspected-spam", policy.spam_action, f"sender authentication failed ({facts.auth_failures[0]})")
    return None


def parse_patterns(text: str) -> tuple[Pattern, ...]:
    """`Header-Name: regex` or `body: regex`, one a line; blank lines and #comments skipped."""
    found = []
    for line in text.splitlines():
        name, colon, regex = line.strip().partition(":")
        if colon and name.strip() and not name.startswith("#") and regex.strip():
            found.append(Pattern(name.strip().lower(), regex.strip()))
    return tuple(found)


def pattern_problem(text: str) -> str | None:
    """Why a patterns setting cannot be used, or None."""
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        name, colon, regex = line.strip().partition(":")
        if not colon or not name.strip() or not regex.strip():
            return f"expected 'Header: regex' or 'body: regex', got {line.strip()!r}"
        if _regex(regex.strip()) is None:
            return f"not a regular expression: {regex.strip()!r}"
    return None


DEFAULT_RULES: tuple[Rule, ...] = (
    loop, null_sender, auto_submitted, no_sender, banned, nonmember, member_moderated, new_member,
    emergency, too_big, too_many_recipients, no_subject, pattern, suspected_spam,
)  # fmt: skip
