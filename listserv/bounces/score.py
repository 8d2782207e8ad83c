"""The bounce score and the state it leads to (pure): decisions from events and `now`.

Each counted day weighs its heaviest bounce (hard 1, soft 0.5: a post to a dead address bounces
once, a digest and a notice the same day do not make it three), halved every `half_life_days`.
Past `threshold` delivery is disabled; disabled for `remove_days`, the member is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from listserv.bounces.tables import BounceKind, MemberState

WEIGHTS = {BounceKind.HARD: 1.0, BounceKind.SOFT: 0.5}


@dataclass(frozen=True)
class BouncePolicy:
    threshold: int = 5  # 0: never disable
    half_life_days: int = 7
    remove_days: int = 14  # 0: never remove


class BounceStep(StrEnum):
    NONE = "none"
    DISABLE = "disable"
    RESUME = "resume"  # they set a delivery mode again (or an operator did)
    REMOVE = "remove"


@dataclass(frozen=True)
class BounceFacts:
    """One member's standing, as gathered for the decision."""

    state: MemberState
    score: float
    delivery: str  # the member's delivery mode now
    disabled_at: datetime | None


def bounce_score(events: Iterable[tuple[datetime, BounceKind]], now: datetime, half_life_days: int) -> float:
    """Sum over days of that day's heaviest bounce, decayed by its age; complaints do not count."""
    heaviest: dict[date, tuple[float, datetime]] = {}
    for at, kind in events:
        weight = WEIGHTS.get(kind, 0.0)
        if weight and (weight, at) > heaviest.get(at.date(), (0.0, at)):  # the heaviest, then the latest
            heaviest[at.date()] = (weight, at)
    half_life = timedelta(days=max(half_life_days, 1)).total_seconds()
    ages = ((weight, max((now - at).total_seconds(), 0.0)) for weight, at in heaviest.values())
    return float(sum(weight * 0.5 ** (age / half_life) for weight, age in ages))


def next_step(facts: BounceFacts, policy: BouncePolicy, now: datetime) -> BounceStep:
    if facts.state is MemberState.OK:
        return BounceStep.DISABLE if policy.threshold and facts.score >= policy.threshold else BounceStep.NONE
    if facts.state is MemberState.DISABLED:
        if facts.delivery != "none":
            return BounceStep.RESUME
        removal_due = facts.disabled_at is not None and now >= facts.disabled_at + timedelta(days=policy.remove_days)
        return BounceStep.REMOVE if policy.remove_days and removal_due else BounceStep.NONE
    return BounceStep.NONE


def removal_date(disabled_at: datetime, policy: BouncePolicy) -> datetime | None:
    return disabled_at + timedelta(days=policy.remove_days) if policy.remove_days else None
