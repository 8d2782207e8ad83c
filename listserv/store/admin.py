"""List and member administration, as the commands (and later the web) use it.

The store knows no feature: each capability declares its own per-list and per-member
settings (a `ListSetting` each) and listserv/features.py gathers them into the registry
that `set_list` and `set_member` are given.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, MetaData, Select, Table, and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from listserv.errors import Invalid, NotFound
from listserv.mail.addresses import address_problem, list_address_problem, web_url_problem
from listserv.mail.message import ListStatus
from listserv.settings import Settings
from listserv.store.queries import BATCHES, DELIVERIES, INBOUND, OUTBOUND
from listserv.store.schema import (
    Batch,
    Delivery,
    Inbound,
    InboundStatus,
    MailingList,
    Member,
    Post,
)

ROLES = ("member", "facilitator")
REPLY_TO = ("leave", "list", "explicit")
TRUE, FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")
INT_MAX = 2**31 - 1  # an INTEGER column on PostgreSQL
POSTS = cast(Table, Post.__table__)


@dataclass(frozen=True)
class ListSetting:
    """A setting an operator may change with `list set` (or `member set`)."""

    kind: type
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # the problem with a value, or None
    help: str = ""
    minimum: int = 0  # a whole number's smallest sensible value
    server_check: Callable[[object, Settings], str | None] | None = None  # the problem with a value on this server


def optional(problem: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """A check that lets the empty value (the setting unset) through."""
    return lambda value: problem(value) if value else None


Registry = Mapping[str, ListSetting]
CORE_LIST_SETTINGS: dict[str, ListSetting] = {
    "name": ListSetting(str, help="the list's name, shown in mail and headers"),
    "description": ListSetting(str, help="one line about the list"),
    "subject_prefix": ListSetting(str, help="put before every subject, e.g. [team]"),
    "reply_to": ListSetting(str, REPLY_TO, help="where replies go: the author, the list, or reply_to_address"),
    "reply_to_address": ListSetting(str, check=optional(address_problem),
                                    help="the Reply-To address when reply_to is explicit"),
    "max_message_size": ListSetting(int, help="bytes; 0 for the server's max_message_size"),
    "personalize": ListSetting(bool, help="one copy per member with its own bounce address"),
    "archive_url": ListSetting(str, check=optional(web_url_problem), help="the List-Archive link (http or https)"),
}  # fmt: skip
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
            raise Invalid(f"{key} must be yes or no (or true or false)")
        return value.lower() in TRUE
    if setting.kind is int:
        return whole_number(key, value, setting.minimum)
    return value


def whole_number(key: str, value: str, minimum: int) -> int:
    text = value.strip()
    if not (text.removeprefix("-").isascii() and text.removeprefix("-").isdigit()):
        raise Invalid(f"{key} must be a whole number, not {value!r}")
    number = int(text)
    if number < minimum:
        raise Invalid(f"{key} must be {minimum} or more, not {number}")
    if number > INT_MAX:
        raise Invalid(f"{key} must be at most {INT_MAX}")
    return number


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
    problem = list_address_problem(address)
    if problem:
        raise Invalid(f"cannot create a list at {address}: {problem}")
    status = session.scalar(select(MailingList.status).where(MailingList.address == address))
    if status == ListStatus.REMOVED:
        raise Invalid(f"list {address} was removed and its archive kept: "
                      f"`listserv list rm {address} --purge --yes` frees the address")  # fmt: skip
    if status is not None:
        raise Invalid(f"list {address} exists already")
    row = MailingList(
        address=address, name=name, description=description,
        subject_prefix=f"[{address.partition('@')[0]}]", reply_to="leave", reply_to_address="",
        max_message_size=0, personalize=False, archive_url="", created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def set_list(session: Session, address: str, key: str, value: str, registry: Registry,
             settings: Settings | None = None) -> None:  # fmt: skip
    """Change one setting; with the server's settings, also refuse what cannot work on this server."""
    setting = known(registry, key, "setting")
    converted = convert(key, setting, value)
    problem = setting.server_check(converted, settings) if setting.server_check and settings else None
    if problem:
        raise Invalid(f"{key}: {problem}")
    setattr(get_list(session, address), key.replace("-", "_"), converted)


# -- describing the settings (`list set --help`, `list show`) -----------------------------------------

CREATE_DEFAULTS = {"name": "given to list create", "subject_prefix": "[NAME], NAME the address's local part"}


def shown(value: object) -> str:
    """A setting's value as the operator writes it: booleans as in the TOML file, empty as nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def default_of(key: str) -> str:
    """A list setting's value on a new list: what `list create` gives it, else its column's default."""
    if key in CREATE_DEFAULTS:
        return CREATE_DEFAULTS[key]
    column = MailingList.__table__.c.get(key)
    default = getattr(column.default, "arg", None) if column is not None else None
    return shown(default) or "empty"


def accepted(setting: ListSetting) -> str:
    if setting.choices:
        return "one of " + "|".join(setting.choices)
    if setting.kind is bool:
        return "true|false, or yes|no"
    if setting.kind is int:
        return f"a whole number, {setting.minimum} or more"
    return "text"


def describe(registry: Registry) -> list[str]:
    """One line a key: its name, what it accepts, its default and what it does."""
    return [f"{key} ({accepted(setting)}; default {default_of(key)}): {setting.help}"
            for key, setting in registry.items()]  # fmt: skip


# -- a list's lifecycle: open, closed, removed -----------------------------------------------------


def set_status(session: Session, address: str, status: ListStatus) -> MailingList:
    """Close or reopen a list. A removed list stays removed."""
    row = get_list(session, address)
    if row.status == ListStatus.REMOVED:
        raise Invalid(f"list {address} was removed; only its archive is left")
    row.status = status
    return row


def list_tables(metadata: MetaData) -> list[Table]:
    """Every table that holds rows of one list (a list_id column), those that refer to others first."""
    return [table for table in reversed(metadata.sorted_tables) if "list_id" in table.c]


@dataclass(frozen=True)
class Removal:
    """What `list rm` takes away and what it leaves: rows per table."""

    removes: dict[str, int]
    keeps: dict[str, int]


def plan_removal(session: Session, list_id: int, tables: Sequence[Table], archive: Collection[Table],
                 purge: bool) -> Removal:  # fmt: skip
    """Count what removing the list does: everything with --purge; else all but its archive (the
    archive tables, the raw mail of its posts and the posts as they were sent)."""
    counts = {table.name: _count(session, table, table.c.list_id == list_id) for table in tables}
    posted = _posted(list_id)
    kept = {table.name: counts.pop(table.name) for table in archive if table.name in counts and not purge}
    if not purge:
        kept["inbound (raw mail of posts)"] = _count(session, INBOUND, INBOUND.c.id.in_(posted))
        kept["outbound (posts as sent)"] = _count(session, OUTBOUND, _list_outbound(list_id, posts=True))
        counts["inbound"] = counts.get("inbound", 0) - kept["inbound (raw mail of posts)"]
        counts["outbound"] = counts.get("outbound", 0) - kept["outbound (posts as sent)"]
    return Removal({k: n for k, n in counts.items() if n}, {k: n for k, n in kept.items() if n})


def remove_list(session: Session, row: MailingList, tables: Sequence[Table], archive: Collection[Table]) -> None:
    """Keep the archive, remove the rest: members, tokens, pending and service mail, the delivery
    ledger and every capability's rows. The list stays, `removed`: mail to it gets "no such list"."""
    special = {INBOUND, OUTBOUND}
    for table in tables:  # those that refer to others first
        if table not in archive and table not in special:
            session.execute(delete(table).where(table.c.list_id == row.id))
    sent = select(OUTBOUND.c.id).where(OUTBOUND.c.list_id == row.id)
    session.execute(delete(DELIVERIES).where(DELIVERIES.c.outbound_id.in_(sent)))
    session.execute(delete(BATCHES).where(BATCHES.c.outbound_id.in_(sent)))
    session.execute(delete(OUTBOUND).where(_list_outbound(row.id, posts=False)))
    session.execute(delete(INBOUND).where(INBOUND.c.list_id == row.id, INBOUND.c.id.not_in(_posted(row.id))))
    row.status = ListStatus.REMOVED


def purge_list(session: Session, row: MailingList) -> None:
    """Remove the list and everything of it: every table refers to it ON DELETE CASCADE."""
    session.execute(delete(MailingList).where(MailingList.id == row.id))


def _count(session: Session, table: Table, where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(where)) or 0)


def _posted(list_id: int) -> Select[tuple[int]]:
    return select(POSTS.c.inbound_id).where(POSTS.c.list_id == list_id)


def _list_outbound(list_id: int, posts: bool) -> ColumnElement[bool]:
    kind = OUTBOUND.c.post_id.is_not(None) if posts else OUTBOUND.c.post_id.is_(None)
    return and_(OUTBOUND.c.list_id == list_id, kind)


# -- members -----------------------------------------------------------------------------------------


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
