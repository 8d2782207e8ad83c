"""Bounce queries: plain functions over a Session (events, member state, the ledger scan, settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.bounces.score import BouncePolicy
from listserv.bounces.tables import BounceEvent, BounceKind, BounceScan, MemberBounce, MemberState
from listserv.store.admin import ListSetting
from listserv.store.queries import rowcount
from listserv.store.schema import Batch, BatchStatus, Delivery, DeliveryStatus, MailingList, Member, Outbound

BOUNCE_SETTINGS = {
    "bounce_threshold": ListSetting(int, help="bounce score that disables a member's delivery (hard 1, soft 0.5); 0: off"),
    "bounce_half_life_days": ListSetting(int, help="days after which a bounce counts half", minimum=1),
    "bounce_remove_days": ListSetting(int, help="days disabled for bouncing before removal; 0: never"),
}  # fmt: skip
RELAY_SCAN = "relay"


def load_bounce_policy(session: Session, list_id: int) -> BouncePolicy:
    row = session.get_one(MailingList, list_id)
    return BouncePolicy(row.bounce_threshold, row.bounce_half_life_days, row.bounce_remove_days)


def member_bounce(session: Session, list_id: int, email: str) -> MemberBounce:
    """The member's bounce row, made on first need (once, even when two nodes race)."""
    query = select(MemberBounce).where(MemberBounce.list_id == list_id, MemberBounce.email == email)
    row = session.scalar(query)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(MemberBounce(list_id=list_id, email=email, state=MemberState.OK, score=0.0, reason="",
                                     delivery_before="each"))  # fmt: skip
            session.flush()
    except IntegrityError:
        pass
    return session.scalars(query).one()


def add_event(session: Session, list_id: int, email: str, kind: BounceKind, source: str, reason: str,
              now: datetime, delivery_id: int | None = None) -> bool:  # fmt: skip
    """Record a failure; False when this ledger row's refusal was counted already (by us or another node)."""
    try:
        with session.begin_nested():
            session.add(BounceEvent(list_id=list_id, email=email, kind=kind, source=source, reason=reason[:500],
                                    at=now, delivery_id=delivery_id))  # fmt: skip
            session.flush()
    except IntegrityError:
        return False
    return True


def events_since(
    session: Session, list_id: int, email: str, since: datetime | None
) -> list[tuple[datetime, BounceKind]]:
    query = select(BounceEvent.at, BounceEvent.kind).where(BounceEvent.list_id == list_id, BounceEvent.email == email)
    if since is not None:
        query = query.where(BounceEvent.at >= since)
    return [(at, BounceKind(kind)) for at, kind in session.execute(query)]


def move_state(session: Session, row_id: int, expected: MemberState, values: Mapping[str, object]) -> bool:
    """The claim: change the state only if it is still `expected` (another node may have moved it)."""
    query = update(MemberBounce).where(MemberBounce.id == row_id, MemberBounce.state == expected).values(**values)
    return bool(rowcount(session.execute(query)))


def forget(session: Session, list_id: int, email: str) -> None:
    """Someone who left on their own: no score to keep (a rejoin starts clean)."""
    session.execute(delete(BounceEvent).where(BounceEvent.list_id == list_id, BounceEvent.email == email))
    session.execute(delete(MemberBounce).where(MemberBounce.list_id == list_id, MemberBounce.email == email))


def mark_removed(session: Session, row_id: int, reason: str, now: datetime) -> None:
    values = dict(state=MemberState.REMOVED, removed_at=now, disabled_at=None, reason=reason[:500], last_bounce_at=now)
    session.execute(update(MemberBounce).where(MemberBounce.id == row_id).values(**values))


def to_review(session: Session, after_id: int, limit: int) -> list[MemberBounce]:
    """Rows whose score may have changed or whose next step may be due: everything not removed."""
    query = (select(MemberBounce).where(MemberBounce.id > after_id, MemberBounce.state != MemberState.REMOVED)
             .order_by(MemberBounce.id).limit(limit))  # fmt: skip
    return list(session.scalars(query))


def prune_events(session: Session, before: datetime) -> int:
    return rowcount(session.execute(delete(BounceEvent).where(BounceEvent.at < before)))


def find_member(session: Session, list_id: int, email: str) -> Member | None:
    return session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))


# -- the delivery ledger: what the relay refused ---------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    delivery_id: int
    list_id: int
    rcpt: str
    reply: str


def scan_position(session: Session) -> int:
    row = session.get(BounceScan, RELAY_SCAN)
    if row is None:
        try:
            with session.begin_nested():
                session.add(BounceScan(name=RELAY_SCAN, last_id=0))
                session.flush()
        except IntegrityError:
            pass
        row = session.get_one(BounceScan, RELAY_SCAN)
    return row.last_id


def settled_up_to(session: Session) -> int:
    """The highest delivery id below which every delivery is final: a batch not done yet may still
    turn its pending or deferred deliveries into failures, so the scan stops before the first of them."""
    open_batches = select(Batch.outbound_id, Batch.seq).where(Batch.status != BatchStatus.DONE).subquery()
    first_open = session.scalar(
        select(func.min(Delivery.id)).join(
            open_batches,
            and_(Delivery.outbound_id == open_batches.c.outbound_id, Delivery.batch_seq == open_batches.c.seq),
        )  # fmt: skip
    )
    if first_open is not None:
        return int(first_open) - 1
    return int(session.scalar(select(func.max(Delivery.id))) or 0)


def refusals(session: Session, after: int, limit: int) -> list[Refusal]:
    """Failed deliveries of list mail with an id above `after` and not counted yet, oldest first."""
    counted = select(BounceEvent.id).where(BounceEvent.delivery_id == Delivery.id).exists()
    query = (
        select(Delivery.id, Outbound.list_id, Delivery.rcpt, Delivery.last_reply)
        .join(Outbound, Outbound.id == Delivery.outbound_id)
        .where(Delivery.id > after, Delivery.status == DeliveryStatus.FAILED, ~counted)
        .where(Outbound.list_id.is_not(None))
        .order_by(Delivery.id)
        .limit(limit)
    )
    return [Refusal(r[0], r[1], r[2], r[3]) for r in session.execute(query) if r[1] is not None]


def advance_scan(session: Session, old: int, new: int) -> None:
    """Move the cursor to the settled point (never back: another node may have moved it further)."""
    session.execute(update(BounceScan).where(BounceScan.name == RELAY_SCAN, BounceScan.last_id == old)
                    .values(last_id=new))  # fmt: skip


# -- what `bounce ls` and the facilitators see ------------------------------------------------------


def rows_of_list(session: Session, list_id: int) -> list[MemberBounce]:
    query = select(MemberBounce).where(MemberBounce.list_id == list_id).order_by(MemberBounce.email)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ListHealth:
    """Members paused or removed for bouncing, or removed for a complaint, in a period."""

    paused: list[str]
    removed: list[str]
    complained: list[str]

    @property
    def quiet(self) -> bool:
        return not (self.paused or self.removed or self.complained)


def health(session: Session, list_id: int, since: datetime) -> ListHealth:
    query = select(MemberBounce).where(
        MemberBounce.list_id == list_id,
        or_(MemberBounce.disabled_at >= since, MemberBounce.removed_at >= since),
    ).order_by(MemberBounce.email)  # fmt: skip
    paused, removed, complained = [], [], []
    for row in session.scalars(query):
        if row.state == MemberState.DISABLED:
            paused.append(row.email)
        elif row.state == MemberState.REMOVED and row.disabled_at is None:
            complained.append(row.email)
        elif row.state == MemberState.REMOVED:
            removed.append(row.email)
    return ListHealth(paused, removed, complained)
