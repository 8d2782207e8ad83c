"""List and member administration, as the CLI (and later the web) uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from listserv.digest.schedule import DAYS, PERIODS, hour_problem, timezone_problem
from listserv.membership.policy import steps_problem
from listserv.moderation.rules import MEMBER_ACTIONS, pattern_problem
from listserv.store.schema import (
    Batch,
    Delivery,
    Inbound,
    InboundStatus,
    MailingList,
    Member,
    utcnow,
)

ROLES = ("member", "facilitator")
REPLY_TO = ("leave", "list", "explicit")


class AdminError(ValueError):
    """A request an operator can correct; the message says how."""


@dataclass(frozen=True)
class ListSetting:
    kind: type
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # the problem with a value, or None


LIST_SETTINGS = {
    "name": ListSetting(str),
    "description": ListSetting(str),
    "subject_prefix": ListSetting(str),
    "reply_to": ListSetting(str, REPLY_TO),
    "reply_to_address": ListSetting(str),
    "max_message_size": ListSetting(int),
    "personalize": ListSetting(bool),
    "archive_url": ListSetting(str),
    # moderation (docs/moderation.md)
    "nonmember_action": ListSetting(str, ("hold", "reject", "discard", "accept")),
    "new_member_posts": ListSetting(int),
    "emergency_moderation": ListSetting(bool),
    "hold_message_size": ListSetting(int),
    "max_recipients": ListSetting(int),
    "require_subject": ListSetting(bool),
    "hold_patterns": ListSetting(str, check=pattern_problem),
    "spam_action": ListSetting(str, ("hold", "reject", "discard", "accept")),
    "approve_always_adds": ListSetting(str, ("poster", "member")),
    "held_expire_days": ListSetting(int),
    # membership (docs/membership.md)
    "subscription_policy": ListSetting(str, ("open", "approval", "invitation")),
    "guidelines": ListSetting(str),
    "max_members": ListSetting(int),
    "when_full": ListSetting(str, ("refuse", "waitlist")),
    "membership_days": ListSetting(int),
    "allow_who": ListSetting(bool),
    "confirm_unsubscribe": ListSetting(bool),
    "onboarding": ListSetting(str, check=steps_problem),
    "one_click_unsubscribe": ListSetting(bool),
    # digests and facilitation (docs/digest.md)
    "digest_period": ListSetting(str, PERIODS),
    "digest_day": ListSetting(str, DAYS),
    "digest_hour": ListSetting(int, check=hour_problem),
    "timezone": ListSetting(str, check=timezone_problem),
    "digest_size_threshold": ListSetting(int),
    "digest_preview_hours": ListSetting(int),
    "unanswered_days": ListSetting(int),
    "nudge_weeks": ListSetting(int),
}
MEMBER_SETTINGS = {"display_name": str, "role": str, "receive_own_posts": bool, "moderation": str}
TRUE, FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


def convert(key: str, kind: type, value: str, choices: tuple[str, ...] = ()) -> object:
    if choices and value not in choices:
        raise AdminError(f"{key} must be one of: {', '.join(choices)}")
    if kind is bool:
        if value.lower() not in TRUE + FALSE:
            raise AdminError(f"{key} must be yes or no")
        return value.lower() in TRUE
    if kind is int:
        if not value.isdigit():
            raise AdminError(f"{key} must be a whole number (0 for the server's limit)")
        return int(value)
    return value


def get_list(session: Session, address: str) -> MailingList:
    row = session.scalar(select(MailingList).where(MailingList.address == address))
    if row is None:
        raise AdminError(f"no list {address}")
    return row


def create_list(session: Session, address: str, name: str, description: str) -> MailingList:
    if session.scalar(select(MailingList.id).where(MailingList.address == address)):
        raise AdminError(f"list {address} exists already")
    row = MailingList(
        address=address, name=name, description=description,
        subject_prefix=f"[{address.partition('@')[0]}]", reply_to="leave", reply_to_address="",
        max_message_size=0, personalize=False, archive_url="", created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def set_list(session: Session, address: str, key: str, value: str) -> None:
    setting = LIST_SETTINGS.get(key.replace("-", "_"))
    if setting is None:
        raise AdminError(f"unknown setting {key}; known: {', '.join(LIST_SETTINGS)}")
    problem = setting.check(value) if setting.check else None
    if problem:
        raise AdminError(f"{key}: {problem}")
    setattr(get_list(session, address), key.replace("-", "_"), convert(key, setting.kind, value, setting.choices))


def add_member(session: Session, list_id: int, email: str, name: str = "", role: str = "member") -> None:
    if role not in ROLES:
        raise AdminError(f"role must be one of: {', '.join(ROLES)}")
    existing = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if existing is not None:
        existing.role = role
        existing.display_name = name or existing.display_name
        return
    session.add(Member(list_id=list_id, email=email, display_name=name, role=role,
                       receive_own_posts=False, delivery="each", created_at=utcnow()))  # fmt: skip


def set_member(session: Session, list_id: int, email: str, key: str, value: str) -> None:
    kind = MEMBER_SETTINGS.get(key.replace("-", "_"))
    if kind is None:
        raise AdminError(f"unknown member setting {key}; known: {', '.join(MEMBER_SETTINGS)}")
    member = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if member is None:
        raise AdminError(f"{email} is not a member")
    choices = {"role": ROLES, "moderation": MEMBER_ACTIONS}.get(key.replace("-", "_"), ())
    setattr(member, key.replace("-", "_"), convert(key, kind, value, choices))


def insert_members(session: Session, list_id: int, rows: Iterable[tuple[str, str]]) -> int:
    """Bulk insert (email, name) pairs, skipping existing members; returns how many were new."""
    values = [dict(list_id=list_id, email=e, display_name=n, role="member", receive_own_posts=False,
                   delivery="each", created_at=utcnow()) for e, n in rows]  # fmt: skip
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = maker(Member).on_conflict_do_nothing(index_elements=["list_id", "email"]).returning(Member.id)
    return len(session.execute(statement, values).all())


def iter_members(session: Session, list_id: int) -> Iterator[Member]:
    query = select(Member).where(Member.list_id == list_id).order_by(Member.id)
    yield from session.scalars(query.execution_options(yield_per=1000))


def quarantined(session: Session) -> list[Inbound]:
    query = select(Inbound).where(Inbound.status == InboundStatus.QUARANTINED).order_by(Inbound.id)
    return list(session.scalars(query))


def retry_quarantined(session: Session, inbound_id: int) -> None:
    row = session.get(Inbound, inbound_id)
    if row is None or row.status != InboundStatus.QUARANTINED:
        raise AdminError(f"no quarantined message {inbound_id}")
    row.status, row.attempts, row.error, row.lease_until = InboundStatus.RECEIVED, 0, "", None


def queue_counts(session: Session) -> dict[str, int]:
    counts = {f"inbound-{s}": n for s, n in session.execute(
        select(Inbound.status, func.count()).group_by(Inbound.status))}  # fmt: skip
    counts |= {f"delivery-{s}": n for s, n in session.execute(
        select(Delivery.status, func.count()).group_by(Delivery.status))}  # fmt: skip
    counts |= {f"batch-{s}": n for s, n in session.execute(select(Batch.status, func.count()).group_by(Batch.status))}
    return counts
