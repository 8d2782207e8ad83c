"""Plain functions over a Session. Hot paths use SQLAlchemy Core statements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    DateTime,
    Executable,
    Integer,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo, ListStatus
from listserv.store.schema import (
    Batch,
    BatchStatus,
    Delivery,
    DeliveryStatus,
    FanoutChoice,
    Inbound,
    InboundStatus,
    MailingList,
    Member,
    NoticeLog,
    Outbound,
)

T = TypeVar("T")
MEMBERS = cast(Table, Member.__table__)
INBOUND = cast(Table, Inbound.__table__)
OUTBOUND = cast(Table, Outbound.__table__)
BATCHES = cast(Table, Batch.__table__)
DELIVERIES = cast(Table, Delivery.__table__)
CHOICES = cast(Table, FanoutChoice.__table__)
LISTS = cast(Table, MailingList.__table__)
# Statements built once: building a select of a wide table costs more than running it (~0.3 ms)
LIST_BY_ADDRESS = select(LISTS).where(LISTS.c.address == bindparam("address"))
LIST_BY_ID = select(LISTS).where(LISTS.c.id == bindparam("list_id"))
NEW_INBOUND = {
    name: dialect_insert(INBOUND).on_conflict_do_nothing().returning(INBOUND.c.list_id, INBOUND.c.role,
                                                                      INBOUND.c.dedupe_key)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}  # fmt: skip
INBOUND_ID = {
    name: dialect_insert(INBOUND).on_conflict_do_nothing().returning(INBOUND.c.id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


IN_CHUNK = 500  # values per IN (...) list


def in_chunks(items: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """Items in lists of at most `size`, for IN (...) clauses that stay within every database's limits."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def list_info(row: Any) -> ListInfo:
    """From a MailingList, or a row of its columns (load_list: no ORM object for the hot path)."""
    return ListInfo(
        id=row.id, address=row.address, name=row.name, description=row.description,
        subject_prefix=row.subject_prefix, reply_to=row.reply_to,
        reply_to_address=row.reply_to_address, max_message_size=row.max_message_size,
        personalize=row.personalize, archive_url=row.archive_url, status=ListStatus(row.status),
        archive_access=row.archive_access,
    )  # fmt: skip


def load_list_addresses(session: Session) -> frozenset[str]:
    """The addresses we take mail for: every list but the removed ones (closed lists still let members leave)."""
    query = select(MailingList.address).where(MailingList.status != ListStatus.REMOVED)
    return frozenset(session.scalars(query))


def load_list(session: Session, address: str) -> ListInfo | None:
    row = session.execute(LIST_BY_ADDRESS, {"address": address}).first()
    return list_info(row) if row else None


def load_list_by_id(session: Session, list_id: int) -> ListInfo:
    return list_info(session.execute(LIST_BY_ID, {"list_id": list_id}).one())


# ORM attributes, as before: these statements still autoflush members added in the same session
MEMBER_ID = select(Member.id).where(Member.list_id == bindparam("list_id"), Member.email == bindparam("email"))
FACILITATORS = (
    select(Member.email).where(Member.list_id == bindparam("list_id"), Member.role == "facilitator").order_by(Member.id)
)


def is_member(session: Session, list_id: int, email: str) -> bool:
    return session.scalar(MEMBER_ID, {"list_id": list_id, "email": email}) is not None


def facilitators(session: Session, list_id: int) -> list[str]:
    return list(session.scalars(FACILITATORS, {"list_id": list_id}))


def insert_inbound(session: Session, values: Mapping[str, object]) -> bool:
    """Store raw mail; False when the same (list, role, dedupe_key) is already here.
    One statement (ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike), no savepoint. RETURNING
    says whether a row went in: psycopg reports no rowcount for an INSERT (-1)."""
    statement = INBOUND_ID[session.get_bind().dialect.name]
    return session.execute(statement, dict(values)).first() is not None


def insert_inbound_rows(session: Session, rows: Sequence[Mapping[str, object]]) -> set[tuple[object, ...]]:
    """Store many messages in one statement; the (list_id, role, dedupe_key) of those that were new."""
    if not rows:
        return set()
    statement = NEW_INBOUND[session.get_bind().dialect.name]
    return {tuple(row) for row in session.execute(statement, list(rows))}


CLAIM_INBOUND = (
    update(INBOUND)
    .where(
        INBOUND.c.id
        == select(INBOUND.c.id)
        .where(INBOUND.c.status == InboundStatus.RECEIVED)
        .where(or_(INBOUND.c.lease_until.is_(None), INBOUND.c.lease_until < bindparam("now")))
        .order_by(INBOUND.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(attempts=INBOUND.c.attempts + 1, lease_until=bindparam("lease_to"), lease_node=bindparam("node"))
    .returning(INBOUND.c.id, INBOUND.c.attempts)
)
# Executed with the columns to set as parameters: SET renders them in the table's column order, as values() did
INBOUND_BY_ID = update(INBOUND).where(INBOUND.c.id == bindparam("inbound_id"))
REFUND_INBOUND = (
    update(INBOUND)
    .where(INBOUND.c.id == bindparam("inbound_id"), INBOUND.c.attempts > 0)
    .values(
        attempts=INBOUND.c.attempts - 1,
        lease_until=case((INBOUND.c.lease_until == bindparam("ours"), None), else_=INBOUND.c.lease_until),
        lease_node=case((INBOUND.c.lease_until == bindparam("ours"), None), else_=INBOUND.c.lease_node),
    )
)
INSERT_OUTBOUND = insert(OUTBOUND).returning(OUTBOUND.c.id)


INBOUND_ROW = select(Inbound).where(Inbound.id == bindparam("inbound_id"))


def load_inbound(session: Session, inbound_id: int) -> Inbound:
    """The claimed message, as session.get_one loads it (one prebuilt statement instead of a fresh one)."""
    return session.execute(INBOUND_ROW, {"inbound_id": inbound_id}).scalar_one()


def claim_inbound(session: Session, now: datetime, lease: timedelta) -> tuple[int, int] | None:
    """Take the oldest waiting message for a while: (id, attempts including this one)."""
    params = {"now": now, "lease_to": now + lease, "node": holder(session)}
    claimed = session.execute(CLAIM_INBOUND, params).first()
    return (claimed[0], claimed[1]) if claimed else None


def finish_inbound(session: Session, inbound_id: int, status: InboundStatus, error: str = "") -> None:
    values = {"status": status, "error": error, "lease_until": None, "lease_node": None}
    session.execute(INBOUND_BY_ID, {"inbound_id": inbound_id, **values})


def retry_inbound_at(session: Session, inbound_id: int, when: datetime, error: str) -> None:
    values = {"lease_until": when, "error": error, "lease_node": None}  # a wait, not a claim
    session.execute(INBOUND_BY_ID, {"inbound_id": inbound_id, **values})


def refund_inbound(session: Session, inbound_id: int, lease_until: datetime) -> None:
    """Give back a claim whose processing failed for a reason outside the message (the database or
    the disk): its attempt is not spent, and if the lease is still ours the message is free at once."""
    session.execute(REFUND_INBOUND, {"inbound_id": inbound_id, "ours": lease_until})


def insert_outbound(session: Session, values: Mapping[str, object]) -> int:
    return int(session.execute(INSERT_OUTBOUND, dict(values)).scalar_one())


PLAN_CHUNK = 5000  # members planned per transaction; the first batches go out meanwhile
FIRST_BATCHES = 8  # planned with the post itself: its first deliveries need not wait for the rest
LOW_WATER_BATCHES = 20  # the next chunk is planned once this few of a fan-out's batches are left


def plan_fanout(session: Session, outbound_id: int, list_id: int, sender: str, batch_size: int,
                now: datetime) -> int:  # fmt: skip
    """Plan the first chunk of a fan-out; `continue_fanout` plans the rest, chunk by chunk.

    One pending delivery per receiving member, grouped into batches, inside the database:
    members are never loaded into Python, whatever the size of the list. Returns how many
    deliveries this first chunk planned.
    """
    return _plan_chunk(session, now, outbound_id, list_id, sender, batch_size, after=0, planned=0,
                       batches=FIRST_BATCHES)  # fmt: skip


def _next_fanout() -> Select[Any]:
    """An unfinished fan-out with fewer than `ahead` batches left to send and its first batch gone out."""
    waiting = (
        select(func.count()).select_from(BATCHES)
        .where(BATCHES.c.outbound_id == OUTBOUND.c.id, BATCHES.c.status == BatchStatus.PENDING)
        .scalar_subquery()
    )  # fmt: skip
    started = (
        select(BATCHES.c.id)
        .where(BATCHES.c.outbound_id == OUTBOUND.c.id, BATCHES.c.status != BatchStatus.PENDING)
        .exists()
    )  # its first batch goes out before anything more is planned: the first delivery waits for nothing
    return (
        select(OUTBOUND.c.id, OUTBOUND.c.list_id, OUTBOUND.c.plan_exclude, OUTBOUND.c.plan_after,
               OUTBOUND.c.planned)
        .where(OUTBOUND.c.plan_after.is_not(None), waiting < bindparam("ahead", type_=Integer), started)
        .order_by(OUTBOUND.c.id).limit(1)
        .with_for_update(skip_locked=True)
    )  # fmt: skip


NEXT_FANOUT = _next_fanout()
UNPLANNED_FANOUT = select(OUTBOUND.c.id).where(OUTBOUND.c.plan_after.is_not(None)).limit(1)
HAS_CHOICES = select(CHOICES.c.member_id).where(CHOICES.c.outbound_id == bindparam("outbound_id")).limit(1)


def continue_fanout(session: Session, batch_size: int, now: datetime) -> bool:
    """Plan the next chunk of one unfinished fan-out whose senders are running short of work.

    Planning stays about one chunk ahead of sending, so the database is free for the
    senders (and the first deliveries) instead of busy planning 100,000 rows up front.
    False when no fan-out needs planning now.
    """
    ahead = min(LOW_WATER_BATCHES, max(1, PLAN_CHUNK // batch_size))
    row = session.execute(NEXT_FANOUT, {"ahead": ahead}).first()
    if row is None:
        return False
    _plan_chunk(session, now, row.id, row.list_id, row.plan_exclude, batch_size, row.plan_after, row.planned)
    return True


def fanout_unplanned(session: Session) -> bool:
    """Is some fan-out waiting for its senders to catch up before its next chunk is planned?"""
    return session.scalar(UNPLANNED_FANOUT) is not None


def wants_posts(choices: bool) -> ColumnElement[bool]:
    """Members in `each` mode, unless this fan-out carries members' own choices (follow, mute)."""
    if not choices:
        return MEMBERS.c.delivery == "each"
    choice = (select(CHOICES.c.receive)
              .where(CHOICES.c.outbound_id == bindparam("outbound_id"), CHOICES.c.member_id == MEMBERS.c.id)
              .scalar_subquery())  # fmt: skip
    return or_(choice.is_(True), and_(MEMBERS.c.delivery == "each", choice.is_(None)))


@dataclass(frozen=True)
class ChunkPlan:
    """The statements that plan one chunk: the deliveries, and the last member they reached."""

    deliveries: Executable
    last_member: Select[Any]


def _chunk_plan(choices: bool) -> ChunkPlan:
    """Parameters: outbound_id, list_id, after, sender, now, chunk, planned, batch_size."""
    now = bindparam("now", type_=DateTime())
    receiving = and_(
        MEMBERS.c.list_id == bindparam("list_id"),
        MEMBERS.c.id > bindparam("after"),
        wants_posts(choices),
        or_(MEMBERS.c.email != bindparam("sender"), MEMBERS.c.receive_own_posts),
        or_(MEMBERS.c.vacation_until.is_(None), MEMBERS.c.vacation_until <= now),  # membership: on vacation
        or_(MEMBERS.c.expires_at.is_(None), MEMBERS.c.expires_at > now),  # membership: expired
    )
    chunk = bindparam("chunk", type_=Integer)
    page = select(MEMBERS.c.id, MEMBERS.c.email).where(receiving).order_by(MEMBERS.c.id).limit(chunk).subquery()
    planned, batch_size = bindparam("planned", type_=Integer), bindparam("batch_size", type_=Integer)
    seq = (planned + func.row_number().over(order_by=page.c.id) - 1) // batch_size
    rows = select(
        bindparam("outbound_id", type_=Integer), seq, page.c.email, literal(DeliveryStatus.PENDING.value),
        literal(0), literal(""), now,
    )  # fmt: skip
    columns = ["outbound_id", "batch_seq", "rcpt", "status", "attempts", "last_reply", "created_at"]
    deliveries = insert(DELIVERIES).from_select(columns, rows).execution_options(preserve_rowcount=True)
    return ChunkPlan(deliveries, select(func.max(page.c.id)))


CHUNK_PLANS = {choices: _chunk_plan(choices) for choices in (False, True)}  # by: does the fan-out carry choices?
PLANNED = update(OUTBOUND).where(OUTBOUND.c.id == bindparam("outbound_id"))  # SET from the parameters


def _plan_chunk(session: Session, now: datetime, outbound_id: int, list_id: int, sender: str, batch_size: int,
                after: int, planned: int, batches: int = 0) -> int:  # fmt: skip
    chunk = batch_size * (batches or max(1, PLAN_CHUNK // batch_size))  # chunks never share a batch
    choices = session.scalar(HAS_CHOICES, {"outbound_id": outbound_id}) is not None
    plan = CHUNK_PLANS[choices]
    params = dict(outbound_id=outbound_id, list_id=list_id, after=after, sender=sender, now=now, chunk=chunk,
                  planned=planned, batch_size=batch_size)  # fmt: skip
    count = rowcount(session.execute(plan.deliveries, params))
    plan_batches(session, outbound_id, now, from_seq=planned // batch_size)
    last = session.scalar(plan.last_member, params) if count == chunk else None
    values = {"plan_after": last, "planned": planned + count, "plan_exclude": sender}
    session.execute(PLANNED, {"outbound_id": outbound_id, **values})
    return count


def _plan_batches() -> Executable:
    seqs = (
        select(
            DELIVERIES.c.outbound_id,
            DELIVERIES.c.batch_seq,
            literal(BatchStatus.PENDING.value),
            bindparam("due", type_=DateTime()),
            literal(0),
        )
        .where(DELIVERIES.c.outbound_id == bindparam("outbound_id"), DELIVERIES.c.batch_seq >= bindparam("from_seq"))
        .distinct()
    )
    columns = ["outbound_id", "seq", "status", "due_at", "attempts"]
    return insert(BATCHES).from_select(columns, seqs).execution_options(preserve_rowcount=True)


PLAN_BATCHES = _plan_batches()


def plan_batches(session: Session, outbound_id: int, due: datetime, from_seq: int = 0) -> int:
    params = {"outbound_id": outbound_id, "due": due, "from_seq": from_seq}
    return rowcount(session.execute(PLAN_BATCHES, params))


def add_deliveries(session: Session, outbound_id: int, rcpts: Sequence[str], now: datetime) -> None:
    """A small delivery (a notice, a forward): one batch."""
    session.execute(
        insert(DELIVERIES),
        [dict(outbound_id=outbound_id, batch_seq=0, rcpt=r, status=DeliveryStatus.PENDING,
              attempts=0, last_reply="", created_at=now) for r in rcpts],
    )  # fmt: skip
    plan_batches(session, outbound_id, now)


@dataclass(frozen=True)
class ClaimedBatch:
    id: int
    outbound_id: int
    seq: int
    attempts: int


CLAIM_BATCH = (
    update(BATCHES)
    .where(
        BATCHES.c.id
        == select(BATCHES.c.id)
        .where(
            or_(
                and_(BATCHES.c.status == BatchStatus.PENDING, BATCHES.c.due_at <= bindparam("now")),
                and_(BATCHES.c.status == BatchStatus.SENDING, BATCHES.c.lease_until < bindparam("now")),
            )
        )
        .order_by(BATCHES.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(
        status=BatchStatus.SENDING,
        lease_until=bindparam("lease_to"),
        attempts=BATCHES.c.attempts + 1,
        lease_node=bindparam("node"),
    )
    .returning(BATCHES.c.id, BATCHES.c.outbound_id, BATCHES.c.seq, BATCHES.c.attempts)
)


def claim_batch(session: Session, now: datetime, lease: timedelta) -> ClaimedBatch | None:
    params = {"now": now, "lease_to": now + lease, "node": holder(session)}
    row = session.execute(CLAIM_BATCH, params).first()
    return ClaimedBatch(row[0], row[1], row[2], row[3]) if row else None


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    raw: bytes
    personalized: bool
    arc_seal: str | None  # a post's ARC inputs (JSON), NULL for mail the list writes itself
    deliveries: tuple[tuple[int, str, datetime], ...]  # (id, rcpt, created_at)


OUTBOUND_MESSAGE = select(OUTBOUND.c.mail_from, OUTBOUND.c.raw, OUTBOUND.c.personalized, OUTBOUND.c.arc_seal).where(
    OUTBOUND.c.id == bindparam("outbound_id")
)
WAITING_DELIVERIES = (
    select(DELIVERIES.c.id, DELIVERIES.c.rcpt, DELIVERIES.c.created_at)
    .where(DELIVERIES.c.outbound_id == bindparam("outbound_id"), DELIVERIES.c.batch_seq == bindparam("seq"))
    .where(DELIVERIES.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DEFERRED)))
    .order_by(DELIVERIES.c.id)
)


def load_envelope(session: Session, batch: ClaimedBatch, known: Envelope | None = None) -> Envelope:
    """The batch's message and waiting recipients. `known`: an envelope of the same outbound read
    before (an outbound row never changes): its message is not read again for each batch."""
    if known is not None:
        outbound: tuple[Any, ...] = (known.mail_from, known.raw, known.personalized, known.arc_seal)
    else:
        outbound = tuple(session.execute(OUTBOUND_MESSAGE, {"outbound_id": batch.outbound_id}).one())
    rows = session.execute(WAITING_DELIVERIES, {"outbound_id": batch.outbound_id, "seq": batch.seq}).all()
    deliveries = tuple((r[0], r[1], r[2]) for r in rows)
    return Envelope(outbound[0], outbound[1], bool(outbound[2]), outbound[3], deliveries)


RECORD_DELIVERIES = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("new_status"), last_reply=bindparam("reply"), attempts=DELIVERIES.c.attempts + 1)
)
BATCH_BY_ID = update(BATCHES).where(BATCHES.c.id == bindparam("batch_id"))  # SET from the parameters


def record_deliveries(session: Session, status: DeliveryStatus, results: Iterable[tuple[int, str]]) -> None:
    """Set status and last reply for (delivery id, reply) pairs."""
    by_reply: dict[str, list[int]] = {}
    for delivery_id, reply in results:
        by_reply.setdefault(reply, []).append(delivery_id)
    for reply, ids in by_reply.items():
        session.execute(RECORD_DELIVERIES, {"ids": ids, "new_status": status, "reply": reply[:500]})


def finish_batch(session: Session, batch_id: int, retry_at: datetime | None) -> None:
    values: dict[str, object] = {"lease_until": None, "lease_node": None}
    if retry_at is None:
        values["status"] = BatchStatus.DONE
    else:
        values.update(status=BatchStatus.PENDING, due_at=retry_at)
    session.execute(BATCH_BY_ID, {"batch_id": batch_id, **values})


def holder(session: Session) -> str | None:
    """The node a session's claims are recorded for (store/nodes.py puts it in the session's info)."""
    node = session.info.get("node")
    return node if isinstance(node, str) else None


def note_notice(session: Session, address: str, kind: str, day: str) -> bool:
    """Record an automatic notice; False if one of this kind went to address today."""
    try:
        with session.begin_nested():
            session.add(NoticeLog(address=address, kind=kind, day=day))
            session.flush()
    except IntegrityError:
        return False
    return True
