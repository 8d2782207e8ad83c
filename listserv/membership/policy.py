"""A list's membership policy and the decisions made from it. Pure: facts in, decisions out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

REMINDER_DAYS = (14, 3)  # renewal reminders, days before a membership expires
STALE_STEP_DAYS = 14  # an onboarding step more than this late is skipped, not sent
MAX_VACATION_DAYS = 366
STEP = re.compile(r"^(\d{1,3}):([a-z0-9][a-z0-9-]{0,30})$")


class Subscription(StrEnum):
    OPEN = "open"  # confirm, and you are in
    APPROVAL = "approval"  # confirm, then a facilitator approves
    INVITATION = "invitation"  # only people invited (`listserv member invite`) may join


class WhenFull(StrEnum):
    REFUSE = "refuse"
    WAITLIST = "waitlist"


@dataclass(frozen=True)
class Step:
    """One orientation mail: template onboard-NAME.txt.j2, DAY days after joining."""

    day: int
    name: str

    @property
    def key(self) -> str:
        return f"onboard:{self.day}:{self.name}"


ENROLLED = "onboard:enrolled"  # a member who gets the orientation sequence


@dataclass(frozen=True)
class ListPolicy:
    subscription: Subscription = Subscription.OPEN
    guidelines: str = ""
    max_members: int = 0  # 0: no maximum
    when_full: WhenFull = WhenFull.REFUSE
    membership_days: int = 0  # 0: no expiry
    allow_who: bool = False
    confirm_unsubscribe: bool = False
    steps: tuple[Step, ...] = ()
    one_click: bool = False


def parse_steps(text: str) -> tuple[Step, ...]:
    """'0:welcome 3:introduce 10:discussions' -> steps by day; malformed entries are ignored."""
    steps = []
    for item in text.replace(",", " ").split():
        match = STEP.match(item.strip().lower())
        if match:
            steps.append(Step(int(match[1]), match[2]))
    return tuple(sorted(dict.fromkeys(steps), key=lambda s: (s.day, s.name)))


class JoinOutcome(StrEnum):
    """What a request to join leads to. Only CONFIRM sends a confirmation."""

    BAD_ADDRESS = "bad-address"
    ALREADY_MEMBER = "already-member"
    INVITATION_ONLY = "invitation-only"
    FULL = "full"
    PENDING = "pending"  # a confirmation went out within the hour and is still valid: nothing new
    RATE_LIMITED = "rate-limited"  # too many confirmations to this address or from this sender
    CONFIRM = "confirm"


@dataclass(frozen=True)
class JoinFacts:
    address_problem: str | None
    is_member: bool
    full: bool
    pending: bool  # a valid confirmation to this address for this list was sent within the hour
    sent_to_address: int  # confirmations to this address in the last hour, all lists
    sent_for_sender: int  # confirmations the requesting sender caused in the last hour
    by_operator: bool = False


@dataclass(frozen=True)
class ConfirmLimits:
    per_address: int
    per_sender: int


def decide_join(facts: JoinFacts, policy: ListPolicy, limits: ConfirmLimits) -> JoinOutcome:
    if facts.address_problem:
        return JoinOutcome.BAD_ADDRESS
    if facts.is_member:
        return JoinOutcome.ALREADY_MEMBER
    if policy.subscription is Subscription.INVITATION and not facts.by_operator:
        return JoinOutcome.INVITATION_ONLY
    if facts.full and policy.when_full is WhenFull.REFUSE:
        return JoinOutcome.FULL
    if facts.pending:
        return JoinOutcome.PENDING
    if facts.sent_to_address >= limits.per_address:
        return JoinOutcome.RATE_LIMITED
    if not facts.by_operator and facts.sent_for_sender >= limits.per_sender:
        return JoinOutcome.RATE_LIMITED
    return JoinOutcome.CONFIRM


class Admission(StrEnum):
    JOINED = "joined"
    WAITLISTED = "waitlisted"
    FULL = "full"
    ALREADY_MEMBER = "already-member"


def decide_admission(is_member: bool, members: int, policy: ListPolicy) -> Admission:
    """Someone who confirmed (and was approved, or invited): in, on the wait-list, or refused."""
    if is_member:
        return Admission.ALREADY_MEMBER
    if policy.max_members and members >= policy.max_members:
        return Admission.WAITLISTED if policy.when_full is WhenFull.WAITLIST else Admission.FULL
    return Admission.JOINED


def is_full(members: int, policy: ListPolicy) -> bool:
    return bool(policy.max_members) and members >= policy.max_members


def free_places(members: int, policy: ListPolicy) -> int:
    return max(policy.max_members - members, 0) if policy.max_members else 0


def expiry_for(policy: ListPolicy, now: datetime) -> datetime | None:
    return now + timedelta(days=policy.membership_days) if policy.membership_days else None


def renewed_expiry(current: datetime | None, now: datetime, policy: ListPolicy) -> datetime | None:
    """A renewal adds a full period to what is left (or to now, if nothing is)."""
    if not policy.membership_days:
        return None
    return max(current or now, now) + timedelta(days=policy.membership_days)


def reminder_due(expires_at: datetime, now: datetime, days: tuple[int, ...] = REMINDER_DAYS) -> int | None:
    """The reminder whose window we are in (the most urgent one), or None."""
    if expires_at <= now:
        return None
    due = [d for d in days if expires_at - timedelta(days=d) <= now]
    return min(due) if due else None


def reminder_window(days: int, now: datetime, all_days: tuple[int, ...] = REMINDER_DAYS) -> tuple[datetime, datetime]:
    """Expiry times (after, up to) for which `days`' reminder is the one due now."""
    nearer = [d for d in all_days if d < days]
    return now + timedelta(days=max(nearer, default=0)), now + timedelta(days=days)


REMINDER_PREFIX = "renew:"


def reminder_step(days: int) -> str:
    """The step row of one reminder; renewing forgets them, so the next period gets its own."""
    return f"{REMINDER_PREFIX}{days}"


def vacation_end(day: date, today: date) -> datetime | str:
    """`set vacation until DAY`: no mail before DAY 00:00 UTC; or the problem, as a sentence."""
    if day <= today:
        return "that date is not in the future"
    if day > today + timedelta(days=MAX_VACATION_DAYS):
        return f"a vacation can last at most {MAX_VACATION_DAYS} days"
    return datetime.combine(day, time())


def step_window(step: Step, now: datetime) -> tuple[datetime, datetime]:
    """Members who joined in (after, up to] are due for the step now; earlier ones missed it."""
    up_to = now - timedelta(days=step.day)
    return up_to - timedelta(days=STALE_STEP_DAYS), up_to


def skip_reason(step: Step, has_posted: bool, discussions: int) -> str | None:
    """Why a member does not get a step's mail: introductions are for those who have not
    posted yet, and the discussions step needs discussions to point to."""
    if step.name == "introduce" and has_posted:
        return "already posted"
    if step.name == "discussions" and not discussions:
        return "no unanswered discussions"
    return None


def steps_problem(text: str) -> str | None:
    """Why an `onboarding` setting is not a list of DAY:NAME steps (empty: no orientation), or None."""
    bad = [item for item in text.replace(",", " ").split() if not STEP.match(item.strip().lower())]
    if bad:
        return f"expected steps like '0:welcome 3:introduce 10:discussions', not {bad[0]!r}"
    return None
