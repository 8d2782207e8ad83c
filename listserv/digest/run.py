"""`listserv digest run` and the digest job: send each list's issue when it is due.

For one list: plan (which period, is it due?) in a short transaction; gather the period
in another (on PostgreSQL holding the list's threading lock, so every post distributed
before the cut-off is committed and every later one falls after it); compose and render
with no transaction open; then one write transaction claims the issue (the draft row,
or a new row unique per list and period start), records a receipt per reader and plans
the deliveries. A run killed before that commit leaves nothing behind and the next run
does it all again; after it, the issue is sent and no run sends it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.digest import ledger
from listserv.digest.facilitation import send_preview
from listserv.digest.issue import (
    Built,
    IssueOutcome,
    IssuePlan,
    build_issue,
    plan_issue,
)
from listserv.digest.schedule import preview_at
from listserv.digest.tables import DigestIssue, IssueStatus
from listserv.mail.message import ListInfo, ListStatus, Role
from listserv.store import queries
from listserv.store.schema import MailingList
from listserv.work import Work

log = logging.getLogger(__name__)


def claim_issue(session: Session, plan: IssuePlan, end: datetime, now: datetime) -> int | None:
    """Take the issue for sending: the draft (if still a draft) or a new row. None: someone else did."""
    if plan.draft_id is not None:
        claimed = session.execute(update(DigestIssue).where(DigestIssue.id == plan.draft_id,
                                                            DigestIssue.status == IssueStatus.DRAFT)
                                  .values(status=IssueStatus.SENT, period_end=end, sent_at=now))  # fmt: skip
        return plan.draft_id if queries.rowcount(claimed) == 1 else None
    try:
        with session.begin_nested():
            issue = DigestIssue(list_id=plan.config.lst.id, period_start=plan.start, period_end=end,
                                status=IssueStatus.SENT, volume=0, number=0, note="", note_by="", note_state="",
                                posts=0, recipients=0, created_at=now, sent_at=now)  # fmt: skip
            session.add(issue)
            session.flush()
    except IntegrityError:
        return None
    return issue.id


def commit_issue(session: Session, batch_size: int, plan: IssuePlan, built: Built, end: datetime,
                 now: datetime) -> IssueOutcome:  # fmt: skip
    lst = plan.config.lst
    issue_id = claim_issue(session, plan, end, now)
    if issue_id is None:
        return IssueOutcome(lst.address, "raced")
    count = 0
    for mode, raw in built.shared.items():
        outbound_id = queue_digest(session, lst, raw, now)
        ledger.insert_shared_receipts(session, issue_id, lst.id, mode, outbound_id, built.excluded, now)
        count += ledger.plan_deliveries(session, issue_id, outbound_id, batch_size, now)
    for email, mode, raw in built.personal:
        outbound_id = queue_digest(session, lst, raw, now)
        ledger.insert_receipt(session, issue_id, lst.id, email, mode, outbound_id, now)
        queries.add_deliveries(session, outbound_id, [email], now)
        count += 1
    status = IssueStatus.SENT if count else IssueStatus.EMPTY
    volume, number = (plan.volume, plan.number) if count else (0, 0)
    session.execute(update(DigestIssue).where(DigestIssue.id == issue_id).values(
        status=status, volume=volume, number=number, posts=built.posts, recipients=count, period_end=end,
        sent_at=now))  # fmt: skip
    log.info("digest list=%s issue=%s vol=%s no=%s posts=%d recipients=%d", lst.address, issue_id, volume, number,
             built.posts, count)  # fmt: skip
    return IssueOutcome(lst.address, status.value, issue_id, volume, number, count, built.posts)


def queue_digest(session: Session, lst: ListInfo, raw: bytes, now: datetime) -> int:
    return queries.insert_outbound(session, dict(
        list_id=lst.id, kind="digest", mail_from=lst.service(Role.BOUNCES), raw=raw, personalized=lst.personalize,
        created_at=now,
    ))  # fmt: skip


def has_readers(work: Work, plan: IssuePlan, now: datetime) -> bool:
    """Whether anyone reads this list's digests (no preview for a list nobody reads that way)."""
    with work.sessions() as session:
        return bool(ledger.count_readers(session, plan.config.lst.id, now))


def send_list_digest(work: Work, list_id: int, now: datetime, force: bool = False) -> IssueOutcome:
    with work.sessions() as session, session.begin():
        plan = plan_issue(session, list_id, now, force)
    if plan.cutoff is None:
        when = preview_at(plan.config.schedule, plan.due, plan.start)
        if when is not None and when <= now and not plan.preview_sent and has_readers(work, plan, now):
            return send_preview(work, plan, now)
        return IssueOutcome(plan.config.lst.address, "waiting")
    built = build_issue(work.sessions, work.templates, plan, plan.cutoff, now, work.optional_secret())
    with work.sessions() as session, session.begin():
        return commit_issue(session, work.settings.batch_size, plan, built, plan.cutoff, now)


def run_digests(work: Work, list_address: str | None = None, force: bool = False) -> list[IssueOutcome]:
    """Send every issue that is due (or, with force, the current period's now)."""
    now = work.now()
    with work.sessions() as session:
        query = select(MailingList.id).order_by(MailingList.id)
        if list_address:  # asked for by name: an issue even of a closed list, never of a removed one
            query = query.where(MailingList.address == list_address, MailingList.status != ListStatus.REMOVED)
        else:
            query = query.where(MailingList.status == ListStatus.OPEN)
        ids = list(session.scalars(query))
    outcomes = []
    for list_id in ids:
        try:
            outcomes.append(send_list_digest(work, list_id, now, force))
        except Exception:
            log.exception("digest failed list_id=%s", list_id)
            if list_address:
                raise
    return outcomes
