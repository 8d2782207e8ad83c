"""The score and the steps, with explicit moments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from listserv.bounces.score import BounceFacts, BouncePolicy, BounceStep, bounce_score, next_step
from listserv.bounces.tables import BounceKind, MemberState

NOW = datetime(2026, 3, 18, 12, 0)
HARD, SOFT, COMPLAINT = BounceKind.HARD, BounceKind.SOFT, BounceKind.COMPLAINT


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.mark.parametrize(
    ("events", "expected"),
    [([], 0.0), ([(ago(0), HARD)], 1.0), ([(ago(0), SOFT)], 0.5), ([(ago(7), HARD)], 0.5),
     ([(ago(14), HARD)], 0.25), ([(ago(0), HARD), (ago(0.1), HARD), (ago(0.2), SOFT)], 1.0),  # one a day
     ([(ago(0), HARD), (ago(1), HARD), (ago(2), HARD)], 1 + 0.5 ** (1 / 7) + 0.5 ** (2 / 7)),
     ([(ago(0), COMPLAINT)], 0.0), ([(NOW + timedelta(hours=1), HARD)], 1.0)],
)  # fmt: skip
def test_the_score_weighs_each_day_by_its_heaviest_bounce_and_halves_every_half_life(events, expected):
    assert bounce_score(events, NOW, half_life_days=7) == pytest.approx(expected)


def test_a_hard_bounce_counts_more_than_a_soft_one():
    assert bounce_score([(ago(1), HARD)], NOW, 7) == 2 * bounce_score([(ago(1), SOFT)], NOW, 7)


POLICY = BouncePolicy(threshold=5, half_life_days=7, remove_days=14)


@pytest.mark.parametrize(
    ("state", "score", "delivery", "disabled_days_ago", "policy", "step"),
    [(MemberState.OK, 4.9, "each", None, POLICY, BounceStep.NONE),
     (MemberState.OK, 5.0, "each", None, POLICY, BounceStep.DISABLE),
     (MemberState.OK, 9.0, "summary", None, BouncePolicy(threshold=0), BounceStep.NONE),  # off
     (MemberState.DISABLED, 9.0, "none", 13.9, POLICY, BounceStep.NONE),
     (MemberState.DISABLED, 0.1, "none", 14, POLICY, BounceStep.REMOVE),
     (MemberState.DISABLED, 9.0, "none", 400, BouncePolicy(remove_days=0), BounceStep.NONE),  # never removed
     (MemberState.DISABLED, 9.0, "each", 20, POLICY, BounceStep.RESUME),  # they asked for mail again
     (MemberState.REMOVED, 9.0, "none", 30, POLICY, BounceStep.NONE)],
)  # fmt: skip
def test_the_next_step(state, score, delivery, disabled_days_ago, policy, step):
    disabled_at = ago(disabled_days_ago) if disabled_days_ago is not None else None
    assert next_step(BounceFacts(state, score, delivery, disabled_at), policy, NOW) is step
