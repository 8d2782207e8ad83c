"""Each member's stage in Salmon's five, from the mail the engine received. Pure.

The rules are a ladder: a member is at the highest stage whose test they pass, and the
assessment says why, in words a facilitator can check against the archive. The thresholds
are a list setting (`stage_rules`, "key=value ..."), so a small or slow community can ask less.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import IntEnum


class Stage(IntEnum):
    ACCESS = 1
    SOCIALISATION = 2
    INFORMATION = 3
    CONSTRUCTION = 4
    DEVELOPMENT = 5

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.ACCESS: "access and motivation",
    Stage.SOCIALISATION: "socialisation",
    Stage.INFORMATION: "information exchange",
    Stage.CONSTRUCTION: "knowledge construction",
    Stage.DEVELOPMENT: "development",
}


@dataclass(frozen=True)
class Rules:
    """A list's thresholds (docs/engagement.md)."""

    window_weeks: int = 26  # only posts this recent count; 0: all of them
    information_replies: int = 3  # replies in discussions others started (or one answered question)
    construction_exchanges: int = 2  # discussions of three or more people they posted in twice or more
    construction_drawn: int = 3  # different members who replied to their posts
    development_started: int = 2  # discussions they started that two or more others joined
    development_newcomers: int = 1  # discussions of newcomers (in their first 30 days) they answered
    stuck_weeks: int = 3  # a member still at stage 1 this long after joining is "stuck"


RULE_KEYS = tuple(field.name for field in fields(Rules))


def parse_rules(text: str) -> Rules:
    """Rules from "key=value ..." (unnamed keys keep their defaults); ValueError says what is wrong."""
    values: dict[str, int] = {}
    for word in text.replace(",", " ").split():
        key, equals, value = word.partition("=")
        if key not in RULE_KEYS:
            raise ValueError(f"unknown stage rule {key!r}; known: {', '.join(RULE_KEYS)}")
        if not equals or not value.isdigit():
            raise ValueError(f"{key} needs a whole number, e.g. {key}=3")
        values[key] = int(value)
    return replace(Rules(), **values)


def rules_problem(text: str) -> str | None:
    try:
        parse_rules(text)
    except ValueError as problem:
        return str(problem)
    return None


def format_rules(rules: Rules) -> str:
    return " ".join(f"{key}={getattr(rules, key)}" for key in RULE_KEYS)


@dataclass(frozen=True)
class Facts:
    """What one member did within the window, counted by listserv.engagement.facts."""

    email: str
    joined: datetime
    facilitator: bool = False
    posts: int = 0
    replies: int = 0
    started: int = 0
    started_joined: int = 0
    answers: int = 0
    newcomers_answered: int = 0
    exchanges: int = 0
    drawn: int = 0
    last_post: datetime | None = None


@dataclass(frozen=True)
class Assessment:
    email: str
    stage: Stage
    reasons: tuple[str, ...]


def counted(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def development(facts: Facts, rules: Rules) -> tuple[str, ...]:
    if facts.facilitator:
        return ("facilitates the list",)
    if facts.started_joined >= max(rules.development_started, 1) and facts.newcomers_answered >= max(
        rules.development_newcomers, 1
    ):
        return (
            f"started {counted(facts.started_joined, 'discussion')} that others joined",
            f"answered {counted(facts.newcomers_answered, 'newcomer')}",
        )
    return ()


def construction(facts: Facts, rules: Rules) -> tuple[str, ...]:
    reasons = []
    if facts.exchanges >= max(rules.construction_exchanges, 1):
        reasons.append(f"kept up {counted(facts.exchanges, 'exchange')} of three or more people")
    if facts.drawn >= max(rules.construction_drawn, 1):
        reasons.append(f"drew replies from {counted(facts.drawn, 'member')}")
    return tuple(reasons)


def information(facts: Facts, rules: Rules) -> tuple[str, ...]:
    reasons = []
    if facts.answers:
        reasons.append(f"answered {counted(facts.answers, 'question')}")
    if facts.replies >= max(rules.information_replies, 1):
        reasons.append(f"replied {counted(facts.replies, 'time')} in others' discussions")
    return tuple(reasons)


def socialisation(facts: Facts, rules: Rules) -> tuple[str, ...]:
    return (f"posted {counted(facts.posts, 'time')}",) if facts.posts else ()


LADDER = (
    (Stage.DEVELOPMENT, development),
    (Stage.CONSTRUCTION, construction),
    (Stage.INFORMATION, information),
    (Stage.SOCIALISATION, socialisation),
)


def assess(facts: Facts, rules: Rules) -> Assessment:
    for stage, test in LADDER:
        reasons = test(facts, rules)
        if reasons:
            return Assessment(facts.email, stage, reasons)
    window = f" in the last {counted(rules.window_weeks, 'week')}" if rules.window_weeks else ""
    return Assessment(facts.email, Stage.ACCESS, (f"joined {facts.joined:%Y-%m-%d}, no post{window}",))


def is_stuck(assessment: Assessment, joined: datetime, now: datetime, rules: Rules) -> bool:
    """Still at stage 1 `stuck_weeks` after joining."""
    return assessment.stage is Stage.ACCESS and rules.stuck_weeks > 0 and (now - joined).days >= 7 * rules.stuck_weeks
