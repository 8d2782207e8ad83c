"""List and member administration, as the commands (and later the web) use it.

The store knows no feature: each capability declares its own per-list and per-member
settings (a `ListSetting` each) and listserv/features.py gathers them into the registry
that `set_list` and `set_member` are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from listserv.errors import Invalid, NotFound
from listserv.store.schema import (
    Batch,
    Delivery,
    Inbound,
    InboundStatus,
    MailingList,
    Member,
)

ROLES = ("member", "facilitator")
REPLY_TO = ("leave", "list", "explicit")
TRUE, FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


@dataclass(frozen=True)
class ListSetting:
    """A setting an operator may change with `list set` (or `member set`)."""

    kind: type
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # the problem with a value, or None
    help: str = ""


Registry = Mapping[str, ListSetting]
CORE_LIST_SETTINGS: dict[str, ListSetting] = {
    "name": ListSetting(str, help="the list's name, shown in mail and headers"),
    "description": ListSetting(str, help="one line about the list"),
    "subject_prefix": ListSetting(str, help="put before every subject, e.g. [team]"),
    "reply_to": ListSetting(str, REPLY_TO, help="where replies go: the author, the list, or reply_to_address"),
    "reply_to_address": ListSetting(str, help="the Reply-To when reply_to is explicit"),
    "max_message_size": ListSetting(int, help="bytes; 0 for the server's max_message_size"),
    "personalize": ListSetting(bool, help="one copy per member with its own bounce address"),
    "archive_url": ListSetting(str, help="the List-Archive link"),
}
CORE_MEMBER_SETTINGS: dict[str, ListSetting] = {
    "display_name": ListSetting(str, help="the member's name"),
    "role": ListSetting(str, ROLES, help="member or facilitator"),
    "receive_own_posts": ListSetting(bool, help="whether members get a copy of their own posts"),
}


def convert(key: str, setting: ListSetting, value: str) -> object:
    """The value as stored, or Invalid with what is expected."""
    problem = setting.check(value) if setting.check else None
    if problem:
        raise Invalid(f"{key}: {problem}")
    if setting.choices and value not in setting.choices:
        raise Invalid(f"{key} must be one of: {', '.join(setting.choices)}")
    if setting.kind is bool:
        if value.lower() not in TRUE + FALSE:
            raise Invalid(f"{key} must be yes or no")
        return value.lower() in TRUE
    if setting.kind is int:
        if not value.isdigit():
            raise Invalid(f"{key} must be a whole number (0 for the server's limit)")
        return int(value)
    return value


def known(registry: Registry, key: str, what: str) -> ListSetting:
    setting = registry.get(key.replace("-", "_"))
    if setting is None:
        raise Invalid(f"unknown {what} {key}; known: {', '.join(registry)}")
    return setting


def get_list(session: Session, address: str) -> MailingList:
    row = session.scalar(select(MailingList).where(MailingList.address == address))
    if row is None:
        raise NotFound(f"no list {address}")
    return row


def create_list(session: Session, address: str, name: str, description: str, now: datetime) -> MailingList:
    if session.scalar(select(MailingList.id).where(MailingList.address == address)):
        raise Invalid(f"list {address} exists already")
    row = MailingList(
        address=address, name=name, description=description,
        subject_prefix=f"[{address.partition('@')[0]}]", reply_to="leave", reply_to_address="",
        max_message_size=0, personalize=False, archive_url="", created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def set_list(session: Session, address: str, key: str, value: str, registry: Registry) -> None:
    setting = known(registry, key, "setting")
    setattr(get_list(session, address), key.replace("-", "_"), convert(key, setting, value))


def add_member(session: Session, list_id: int, email: str, now: datetime, name: str = "",
               role: str = "member") -> None:  # fmt: skip
    if role not in ROLES:
        raise Invalid(f"role must be one of: {', '.join(ROLES)}")
    existing = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if existing is not None:
        existing.role = role
        existing.display_name = name or existing.display_name
        return
    session.add(Member(list_id=list_id, email=email, display_name=name, role=role,
                       receive_own_posts=False, delivery="each", created_at=now))  # fmt: skip


def set_member(session: Session, list_id: int, email: str, key: str, value: str, registry: Registry) -> None:
    setting = known(registry, key, "member setting")
    member = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if member is None:
        raise NotFound(f"{email} is not a member")
    setattr(member, key.replace("-", "_"), convert(key, setting, value))


def insert_members(session: Session, list_id: int, rows: Iterable[tuple[str, str]], now: datetime) -> int:
    """Bulk insert (email, name) pairs, skipping existing members; returns how many were new."""
    values = [dict(list_id=list_id, email=e, display_name=n, role="member", receive_own_posts=False,
                   delivery="each", created_at=now) for e, n in rows]  # fmt: skip
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
        raise NotFound(f"no quarantined message {inbound_id}")
    row.status, row.attempts, row.error, row.lease_until = InboundStatus.RECEIVED, 0, "", None


def queue_counts(session: Session) -> dict[str, int]:
    counts = {f"inbound-{s}": n for s, n in session.execute(
        select(Inbound.status, func.count()).group_by(Inbound.status))}  # fmt: skip
    counts |= {f"delivery-{s}": n for s, n in session.execute(
        select(Delivery.status, func.count()).group_by(Delivery.status))}  # fmt: skip
    counts |= {f"batch-{s}": n for s, n in session.execute(select(Batch.status, func.count()).group_by(Batch.status))}
    return counts
