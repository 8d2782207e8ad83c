"""Who gets an issue, recorded per (issue, member) before anything is queued.

Readers are members whose delivery mode is summary, mime-digest or plain-digest, who are
not on vacation and whose membership has not expired. The shared digests are planned in
the database (INSERT ... SELECT), like a post's fan-out: members are never loaded into
Python, whatever the size of the list.

Mode changes within a period (docs/digest.md): a member is owed, for the period, the
posts the list did not deliver to them one by one. So
- a reader who received some of the period's posts individually (they were in `each`
  mode for part of it) gets a digest of the other posts only;
- a member now in `each` mode who was a reader during the period (they got the previous
  issue, or their history shows a digest mode in or just before the period) gets a last
  digest of the posts they did not receive individually.
Nobody gets a post twice, and no post falls between the two modes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from listserv.digest.model import DIGEST_MODES
from listserv.digest.tables import DigestReceipt
from listserv.membership.tables import MembershipEvent
from listserv.store import queries
from listserv.store.schema import DeliveryStatus

RECEIPTS = cast(Table, DigestReceipt.__table__)
MEMBERS = queries.MEMBERS
DELIVERIES = queries.DELIVERIES
CHUNK = 500


def receiving(list_id: int, now: datetime) -> ColumnElement[bool]:
    """Members of the list who receive mail at all now (not on vacation, not expired)."""
    return and_(
        MEMBERS.c.list_id == list_id,
        or_(MEMBERS.c.vacation_until.is_(None), MEMBERS.c.vacation_until <= now),
        or_(MEMBERS.c.expires_at.is_(None), MEMBERS.c.expires_at > now),
    )


def count_readers(session: Session, list_id: int, now: datetime) -> dict[str, int]:
    query = (select(MEMBERS.c.delivery, func.count()).where(receiving(list_id, now), MEMBERS.c.delivery.in_(DIGEST_MODES))
             .group_by(MEMBERS.c.delivery))  # fmt: skip
    return {row[0]: int(row[1]) for row in session.execute(query)}


def reader_modes(session: Session, list_id: int, emails: Sequence[str], now: datetime) -> dict[str, str]:
    """Those of the addresses who read digests now -> their mode."""
    found: dict[str, str] = {}
    for index in range(0, len(emails), CHUNK):
        query = select(MEMBERS.c.email, MEMBERS.c.delivery).where(
            receiving(list_id, now), MEMBERS.c.delivery.in_(DIGEST_MODES), MEMBERS.c.email.in_(emails[index : index + CHUNK]))  # fmt: skip
        found.update({row[0]: row[1] for row in session.execute(query)})
    return found


def received_individually(session: Session, list_id: int, outbound_ids: Sequence[int], now: datetime,
                          emails: Sequence[str] | None = None) -> dict[str, set[int]]:  # fmt: skip
    """Readers (or the given addresses) -> the period's posts (outbound ids) delivered to them one by one."""
    found: dict[str, set[int]] = defaultdict(set)
    if emails is not None and not emails:
        return found
    for index in range(0, len(outbound_ids), CHUNK):
        query = select(DELIVERIES.c.rcpt, DELIVERIES.c.outbound_id).where(
            DELIVERIES.c.outbound_id.in_(outbound_ids[index : index + CHUNK]))  # fmt: skip
        if emails is None:
            readers = select(MEMBERS.c.email).where(receiving(list_id, now), MEMBERS.c.delivery.in_(DIGEST_MODES))
            query = query.where(DELIVERIES.c.rcpt.in_(readers))
        else:
            query = query.where(DELIVERIES.c.rcpt.in_(emails))
        for rcpt, outbound_id in session.execute(query):
            found[rcpt].add(outbound_id)
    return found


def mode_of(detail: str) -> str:
    """The mode a `delivery` history event set ("summary" or "summary (operator)")."""
    return (detail.split() or [""])[0]


def former_readers(session: Session, list_id: int, start: datetime, end: datetime, previous_issue: int | None,
                   now: datetime) -> dict[str, str]:  # fmt: skip
    """Members now in `each` mode who read digests during the period -> the digest mode they had."""
    each = and_(receiving(list_id, now), MEMBERS.c.delivery == "each")
    changed = select(MembershipEvent.email).where(MembershipEvent.list_id == list_id,
                                                  MembershipEvent.event == "delivery", MembershipEvent.at >= start,
                                                  MembershipEvent.at < end)  # fmt: skip
    got_last = select(RECEIPTS.c.email).where(RECEIPTS.c.issue_id == (previous_issue or 0))
    candidates = list(
        session.scalars(
            select(MEMBERS.c.email).where(each, or_(MEMBERS.c.email.in_(changed), MEMBERS.c.email.in_(got_last)))
        )
    )
    previous = {row[0]: row[1] for row in session.execute(
        select(RECEIPTS.c.email, RECEIPTS.c.mode).where(RECEIPTS.c.issue_id == (previous_issue or 0),
                                                       RECEIPTS.c.email.in_(candidates)))} if candidates else {}  # fmt: skip
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for index in range(0, len(candidates), CHUNK):
        events = select(MembershipEvent.email, MembershipEvent.at, MembershipEvent.detail).where(
            MembershipEvent.list_id == list_id, MembershipEvent.event == "delivery", MembershipEvent.at < end,
            MembershipEvent.email.in_(candidates[index : index + CHUNK])).order_by(MembershipEvent.at)  # fmt: skip
        for email, at, detail in session.execute(events):
            history[email].append((at, mode_of(detail)))
    return {email: mode for email in candidates if (mode := reader_mode(history[email], start, previous.get(email)))}


def reader_mode(events: Sequence[tuple[datetime, str]], start: datetime, previous: str | None) -> str:
    """The last digest mode a member had during the period, or "" if they had none."""
    before = [mode for at, mode in events if at < start]
    during = [mode for at, mode in events if at >= start]
    had = ([previous] if previous else before[-1:]) + during
    modes = [mode for mode in had if mode in DIGEST_MODES]
    return modes[-1] if modes else ""


def insert_shared_receipts(session: Session, issue_id: int, list_id: int, mode: str, outbound_id: int,
                           excluded: Iterable[str], now: datetime) -> int:  # fmt: skip
    """One receipt per reader in `mode`, but those handled one by one, and those already served."""
    served = exists().where(RECEIPTS.c.issue_id == issue_id, RECEIPTS.c.email == MEMBERS.c.email)
    rows = select(
        literal(issue_id),
        MEMBERS.c.list_id,
        MEMBERS.c.email,
        MEMBERS.c.delivery,
        literal(outbound_id),
        literal(0),
        literal(now),
    ).where(receiving(list_id, now), MEMBERS.c.delivery == mode, ~served)
    left_out = sorted(set(excluded))
    if left_out:
        rows = rows.where(MEMBERS.c.email.not_in(left_out))
    columns = ["issue_id", "list_id", "email", "mode", "outbound_id", "partial", "created_at"]
    session.execute(insert(RECEIPTS).from_select(columns, rows))
    counted = select(func.count()).where(RECEIPTS.c.issue_id == issue_id, RECEIPTS.c.outbound_id == outbound_id)
    return int(session.scalar(counted) or 0)  # (psycopg reports -1 rows for INSERT ... SELECT with parameters)


def insert_receipt(session: Session, issue_id: int, list_id: int, email: str, mode: str, outbound_id: int,
                   now: datetime) -> None:  # fmt: skip
    session.execute(insert(RECEIPTS).values(issue_id=issue_id, list_id=list_id, email=email, mode=mode,
                                            outbound_id=outbound_id, partial=1, created_at=now))  # fmt: skip


def plan_deliveries(session: Session, issue_id: int, outbound_id: int, batch_size: int, now: datetime) -> int:
    """One pending delivery per receipt of this outbound message, in batches, inside the database; due now."""
    seq = (func.row_number().over(order_by=RECEIPTS.c.id) - 1) // batch_size
    rows = select(literal(outbound_id), seq, RECEIPTS.c.email, literal(DeliveryStatus.PENDING.value), literal(0),
                  literal(""), literal(now)).where(RECEIPTS.c.issue_id == issue_id,
                                                   RECEIPTS.c.outbound_id == outbound_id)  # fmt: skip
    columns = ["outbound_id", "batch_seq", "rcpt", "status", "attempts", "last_reply", "created_at"]
    session.execute(insert(DELIVERIES).from_select(columns, rows))
    queries.plan_batches(session, outbound_id, now)
    return int(session.scalar(select(func.count()).where(DELIVERIES.c.outbound_id == outbound_id)) or 0)


def receipts_of(session: Session, issue_id: int) -> dict[str, str]:
    return {row[0]: row[1] for row in session.execute(
        select(RECEIPTS.c.email, RECEIPTS.c.mode).where(RECEIPTS.c.issue_id == issue_id))}  # fmt: skip
