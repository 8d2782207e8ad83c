"""Retention: delete what has done its job, a few hundred rows per transaction (docs/storage.md).

Pruned, each after its setting's days (0 keeps forever):

- `keep_deliveries_days`: deliveries that reached their end (sent or failed), batches that are
  done, and the `outbound` rows of notices, forwards and digests once no delivery or batch
  of theirs is left. A post's `outbound` row (the post as it was sent) is never pruned.
- `keep_service_mail_days`: processed `inbound` rows for service addresses (requests, joins,
  confirmations, moderation replies, ...) that are not a post's raw mail, and `notice_log`.
- `keep_bounces_days`: processed delivery reports received at LIST-bounces.

Kept forever: lists, posts and their raw mail (the archive), discussions, and whatever is
still waiting or quarantined. Safe on several nodes at once: each batch picks its rows with
`FOR UPDATE SKIP LOCKED` (PostgreSQL) and deleting a row twice deletes nothing. Rows are taken
in id order from where the previous batch stopped, and only below the first row that is new
enough to keep (rows are numbered in the order they were written), so a run reads each row once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, delete, exists, select
from sqlalchemy.orm import Session

from listserv.settings import Settings
from listserv.store.queries import BATCHES, DELIVERIES, INBOUND, OUTBOUND, rowcount
from listserv.store.schema import BatchStatus, DeliveryStatus, InboundStatus, NoticeLog, Post

BATCH = 500  # rows per transaction
MAX_BATCHES = 200  # per kind and run (100,000 rows); the next run goes on from there
POSTS = cast(Table, Post.__table__)
NOTICES = cast(Table, NoticeLog.__table__)
FINISHED = (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)


@dataclass(frozen=True)
class Policy:
    """Days each kind of row is kept; 0 keeps it forever."""

    deliveries_days: int = Settings.keep_deliveries_days
    service_mail_days: int = Settings.keep_service_mail_days
    bounces_days: int = Settings.keep_bounces_days

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.keep_deliveries_days, settings.keep_service_mail_days, settings.keep_bounces_days)


@dataclass(frozen=True)
class Kind:
    """One kind of row retention deletes: its table, the column that dates it, and which rows."""

    name: str
    table: Table
    days: Callable[[Policy], int]
    prunable: Callable[[datetime], ColumnElement[bool]]  # rows written before the cutoff that may go
    recent: Callable[[datetime], ColumnElement[bool]] | None  # rows written since; numbered after the old ones


def _finished_delivery(cutoff: datetime) -> ColumnElement[bool]:
    return and_(DELIVERIES.c.status.in_(FINISHED), DELIVERIES.c.created_at < cutoff)


def _done_batch(cutoff: datetime) -> ColumnElement[bool]:
    return and_(BATCHES.c.status == BatchStatus.DONE, BATCHES.c.due_at < cutoff)


def _spent_service_outbound(cutoff: datetime) -> ColumnElement[bool]:
    """A notice, forward or digest sent long enough ago, whose deliveries and batches are gone."""
    return and_(
        OUTBOUND.c.post_id.is_(None), OUTBOUND.c.kind != "post", OUTBOUND.c.plan_after.is_(None),
        OUTBOUND.c.created_at < cutoff,
        ~exists().where(DELIVERIES.c.outbound_id == OUTBOUND.c.id),
        ~exists().where(BATCHES.c.outbound_id == OUTBOUND.c.id),
    )  # fmt: skip


def _processed(cutoff: datetime, bounces: bool) -> ColumnElement[bool]:
    """Processed mail to a service address (or to LIST-bounces) that is no post's raw mail."""
    role = INBOUND.c.role == "bounces" if bounces else INBOUND.c.role.not_in(("post", "bounces"))
    return and_(
        role, INBOUND.c.status == InboundStatus.DONE, INBOUND.c.received_at < cutoff,
        ~exists().where(POSTS.c.inbound_id == INBOUND.c.id),
    )  # fmt: skip


def _old_notice(cutoff: datetime) -> ColumnElement[bool]:
    return NOTICES.c.day < cutoff.date().isoformat()


def _recent_notice(cutoff: datetime) -> ColumnElement[bool]:
    return NOTICES.c.day >= cutoff.date().isoformat()


def _delivery_days(policy: Policy) -> int:
    return policy.deliveries_days


def _service_days(policy: Policy) -> int:
    return policy.service_mail_days


def _bounce_days(policy: Policy) -> int:
    return policy.bounces_days


KINDS = (  # in this order: a notice's outbound row goes once its deliveries and batches have gone
    Kind("deliveries", DELIVERIES, _delivery_days, _finished_delivery, lambda c: DELIVERIES.c.created_at >= c),
    Kind("batches", BATCHES, _delivery_days, _done_batch, None),  # a retried batch's due_at moves on
    Kind("outbound", OUTBOUND, _delivery_days, _spent_service_outbound, lambda c: OUTBOUND.c.created_at >= c),
    Kind("service-mail", INBOUND, _service_days, lambda c: _processed(c, bounces=False),
         lambda c: INBOUND.c.received_at >= c),
    Kind("bounces", INBOUND, _bounce_days, lambda c: _processed(c, bounces=True),
         lambda c: INBOUND.c.received_at >= c),
    Kind("notice-log", NOTICES, _service_days, _old_notice, _recent_notice),
)  # fmt: skip


def cutoff_of(days: int, now: datetime) -> datetime | None:
    """Rows written before this moment may go; None: keep them forever. Pure."""
    return now - timedelta(days=days) if days > 0 else None


def prune(sessions: Callable[[], Session], policy: Policy, now: datetime, batch: int = BATCH,
          max_batches: int = MAX_BATCHES) -> dict[str, int]:  # fmt: skip
    """Apply the policy at `now`: rows deleted per kind (only the kinds that had some)."""
    removed: dict[str, int] = {}
    for kind in KINDS:
        cutoff = cutoff_of(kind.days(policy), now)
        if cutoff is not None:
            removed[kind.name] = prune_kind(sessions, kind, cutoff, batch, max_batches)
    return {name: count for name, count in removed.items() if count}


def prune_kind(sessions: Callable[[], Session], kind: Kind, cutoff: datetime, batch: int, max_batches: int) -> int:
    """Delete one kind's rows written before `cutoff`, `batch` rows per transaction."""
    with sessions() as session:
        stop = first_to_keep(session, kind, cutoff)
    removed, after = 0, 0
    for _ in range(max_batches):
        with sessions() as session, session.begin():
            ids = next_ids(session, kind, cutoff, after, stop, batch)
            if ids:
                removed += rowcount(session.execute(delete(kind.table).where(kind.table.c.id.in_(ids))))
        if len(ids) < batch:
            break
        after = ids[-1]
    return removed


def first_to_keep(session: Session, kind: Kind, cutoff: datetime) -> int | None:
    """The id of the first row new enough to keep: nothing from there on is looked at this run."""
    if kind.recent is None:
        return None
    return session.scalar(select(kind.table.c.id).where(kind.recent(cutoff)).order_by(kind.table.c.id).limit(1))


def next_ids(session: Session, kind: Kind, cutoff: datetime, after: int, stop: int | None, batch: int) -> list[int]:
    table = kind.table
    query = select(table.c.id).where(table.c.id > after, kind.prunable(cutoff))
    if stop is not None:
        query = query.where(table.c.id < stop)
    return list(session.scalars(query.order_by(table.c.id).limit(batch).with_for_update(skip_locked=True)))
