"""Posting rules: one pure function per rule, PostFacts -> Hit | None.

Rules only read facts gathered beforehand; they never write anything. The
stable kebab-case ids are stored with each post, so "why?" has an answer later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

AUTOMATIC_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")


class Action(IntEnum):
    """Ordered: when several rules hit, the largest action wins."""

    ACCEPT = 0
    REJECT = 1  # not distributed; the sender is told why
    DISCARD = 2  # not distributed; nobody is told (loops, automatic mail)


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


@dataclass(frozen=True)
class Policy:
    nonmember_action: Action = Action.REJECT


@dataclass(frozen=True)
class Hit:
    rule: str
    action: Action
    reason: str


Rule = Callable[[PostFacts, Policy], Hit | None]


def loop(facts: PostFacts, policy: Policy) -> Hit | None:
    ours = facts.list_address in facts.been_there or any(facts.list_id in v for v in facts.list_ids)
    return Hit("loop", Action.DISCARD, "the message already went through this list") if ours else None


def null_sender(facts: PostFacts, policy: Policy) -> Hit | None:
    sender = facts.envelope_sender.strip().lower()
    if sender in ("", "<>") or sender.startswith(AUTOMATIC_SENDERS):
        return Hit("null-sender", Action.DISCARD, "delivery reports are never redistributed")
    return None


def auto_submitted(facts: PostFacts, policy: Policy) -> Hit | None:
    if facts.auto_submitted not in ("", "no") or facts.precedence in ("bulk", "junk", "auto_reply"):
        return Hit("auto-submitted", Action.DISCARD, "automatic mail is never redistributed")
    return None


def no_sender(facts: PostFacts, policy: Policy) -> Hit | None:
    return None if facts.sender else Hit("no-sender", Action.DISCARD, "the message has no From address")


def nonmember(facts: PostFacts, policy: Policy) -> Hit | None:
    if facts.sender_is_member or not facts.sender:
        return None
    return Hit("nonmember", policy.nonmember_action, f"{facts.sender} is not a member of the list")


DEFAULT_RULES: tuple[Rule, ...] = (loop, null_sender, auto_submitted, no_sender, nonmember)
