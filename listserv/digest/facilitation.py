"""The facilitators' side of a digest: the preview before it goes out, and capabilities
(tokens) in the reply addresses of the mail we send them.

A preview goes to each facilitator (`digest_preview_hours` before the issue is due) with
its own LIST-digest+TOKEN reply address. Whatever one of them replies (their own words,
quotes and signature trimmed) becomes the editorial note at the head of the summary; the
last reply before the digest goes out wins; `skip` sends it without a note. Tokens are
160 bits from the CSPRNG, stored hashed, bound to the list, the issue and the
facilitator they were sent to, and expire a day after the issue was due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.bounces.store import health
from listserv.digest.issue import IssueOutcome, IssuePlan, build_issue
from listserv.digest.mime import build_service_mail
from listserv.digest.render import render_summary
from listserv.digest.schedule import local_text
from listserv.digest.tables import DigestIssue, IssueStatus
from listserv.mail.message import ListInfo, Role
from listserv.outbound.queue import queue_message
from listserv.store import queries
from listserv.store import tokens as store_tokens
from listserv.store.schema import Token
from listserv.work import Work

log = logging.getLogger(__name__)
MAX_NOTE = 4000


def service_address(lst: ListInfo, role: Role, token: str = "") -> str:
    """LIST-digest@domain, or LIST-digest+TOKEN@domain (and the same for LIST-prompts)."""
    return f"{lst.local_part}-{role.value}{'+' + token if token else ''}@{lst.domain}"


def issue_token(session: Session, secret: bytes, lst: ListInfo, purpose: str, target_id: int, facilitator: str,
                now: datetime, expires: datetime) -> str:  # fmt: skip
    return store_tokens.issue_token(session, secret, purpose=purpose, list_id=lst.id, address=facilitator, now=now,
                                    expires=expires, target_id=target_id)  # fmt: skip


def find_token(session: Session, secret: bytes, lst: ListInfo, tag: str, purposes: tuple[str, ...]) -> Token | None:
    """Our token for this list and purpose, named by the recipient's +TAG."""
    return store_tokens.find_token(session, secret, tag, lst.id, purposes)


def draft_for(session: Session, plan: IssuePlan, now: datetime) -> DigestIssue | None:
    """The draft row of the coming issue (made now if need be); None if another node is making it."""
    lst = plan.config.lst
    draft = session.scalar(select(DigestIssue).where(DigestIssue.list_id == lst.id,
                                                     DigestIssue.period_start == plan.start))  # fmt: skip
    if draft is not None:
        return draft if draft.status == IssueStatus.DRAFT else None
    try:
        with session.begin_nested():
            draft = DigestIssue(list_id=lst.id, period_start=plan.start, period_end=plan.due,
                                status=IssueStatus.DRAFT, volume=0, number=0, note="", note_by="", note_state="",
                                posts=0, recipients=0, created_at=now)  # fmt: skip
            session.add(draft)
            session.flush()
    except IntegrityError:
        return None
    return draft


def send_preview(work: Work, plan: IssuePlan, now: datetime) -> IssueOutcome:
    """The coming summary as it stands, to each facilitator, with a reply address for the note."""
    lst, templates = plan.config.lst, work.templates
    built = build_issue(work.sessions, templates, plan, now, now, work.optional_secret())
    text, _ = render_summary(templates, lst, built.digest)
    with work.sessions() as session, session.begin():
        draft = draft_for(session, plan, now)
        if draft is None or draft.preview_sent_at is not None:
            return IssueOutcome(lst.address, "waiting")
        rcpts = queries.facilitators(session, lst.id)
        week = health(session, lst.id, now - timedelta(days=7))  # list health: bounces/, docs/bounces.md
        for facilitator in rcpts:
            token = issue_token(
                session, work.secret(), lst, "note", draft.id, facilitator, now, plan.due + timedelta(days=1)
            )
            body = templates.render("digest-preview.txt.j2", list=lst, summary=text, due=local_text(plan.due, plan.config.schedule),
                                    posts=built.posts, note=draft.note, note_state=draft.note_state,
                                    health=week)  # fmt: skip
            raw = build_service_mail(lst, facilitator, f"Preview: {built.digest.title}", body,
                                     service_address(lst, Role.DIGEST, token), now)  # fmt: skip
            queue_message(session, lst, "notice", raw, [facilitator], now)
        draft.preview_sent_at = now
    log.info("digest preview list=%s issue=%s facilitators=%d", lst.address, draft.id, len(rcpts))
    return IssueOutcome(lst.address, "preview", draft.id, posts=built.posts)
