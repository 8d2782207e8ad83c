"""decide(facts, policy) -> Decision. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from listserv.moderation.rules import (
    DEFAULT_RULES,
    Action,
    Hit,
    ModerationPolicy,
    PostFacts,
    Rule,
)


@dataclass(frozen=True)
class Decision:
    action: Action
    hits: tuple[Hit, ...]

    @property
    def rule_ids(self) -> str:
        return " ".join(h.rule for h in self.hits)

    @property
    def reason(self) -> str:
        return "; ".join(h.reason for h in self.hits if h.action == self.action)


def decide(facts: PostFacts, policy: ModerationPolicy, rules: Sequence[Rule] = DEFAULT_RULES) -> Decision:
    hits = tuple(hit for rule in rules if (hit := rule(facts, policy)) is not None)
    return Decision(max((h.action for h in hits), default=Action.ACCEPT), hits)
