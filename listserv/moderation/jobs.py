"""Periodic work on the hold queue: a daily reminder to facilitators, and expiry.

Both are safe on several nodes at once: a reminder is claimed through notice_log's
unique (address, kind, day), an expiry through the same conditional UPDATE as a
facilitator's decision.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from listserv.moderation.act import claim, received_for, reload
from listserv.moderation.hold import moderation_token
from listserv.moderation.mail import moderate_address
from listserv.moderation.records import audit, mail_facilitator, when
from listserv.moderation.tables import HeldPost, HeldStatus, ModerationAttempt
from listserv.received import notify_sender
from listserv.store import queries
from listserv.store.schema import MailingList, Post
from listserv.work import Work

log = logging.getLogger(__name__)
REMIND_AFTER = timedelta(days=1)
MAX_ITEMS = 50  # per reminder


def age(delta: timedelta) -> str:
    days, hours = delta.days, delta.seconds // 3600
    return f"{days} day{'s' if days != 1 else ''}" if days else f"{hours} hour{'s' if hours != 1 else ''}"


def remind_facilitators(work: Work) -> int:
    """Once a day per facilitator: the list's posts held for more than a day. Returns mails queued."""
    now = work.now()
    with work.sessions() as session, session.begin():
        lists = session.scalars(
            select(HeldPost.list_id).where(HeldPost.status == HeldStatus.HELD, HeldPost.created_at < now - REMIND_AFTER)
            .distinct()
        ).all()  # fmt: skip
    sent = 0
    for list_id in lists:
        with work.sessions() as session, session.begin():
            sent += remind_list(session, work, list_id, now)
    return sent


def remind_list(session: Session, work: Work, list_id: int, now: datetime) -> int:
    lst = queries.load_list_by_id(session, list_id)
    waiting = session.scalars(
        select(HeldPost).where(HeldPost.list_id == list_id, HeldPost.status == HeldStatus.HELD,
                               HeldPost.created_at < now - REMIND_AFTER).order_by(HeldPost.id).limit(MAX_ITEMS)
    ).all()  # fmt: skip
    sent = 0
    for facilitator in queries.facilitators(session, list_id):
        if not queries.note_notice(session, facilitator, f"held-summary-{list_id}", now.date().isoformat()):
            continue  # this facilitator had today's summary (perhaps from another node)
        items = [dict(subject=h.subject or "(no subject)", sender=h.sender, age=age(now - h.created_at),
                      reasons=h.rules, expires=when(h.expires_at),
                      address=moderate_address(lst, moderation_token(session, work.secret(), h, facilitator, now)))
                 for h in waiting]  # fmt: skip
        text = work.templates.render_for(lst, "held-reminder.txt.j2", items=items)
        mail_facilitator(session, lst, facilitator, f"{len(items)} waiting for review on {lst.name}", text, now)
        sent += 1
    log.info("held reminders list=%s waiting=%d sent=%d", lst.address, len(waiting), sent)
    return sent


def expire_held(work: Work) -> int:
    """Held posts past their list's held_expire_days: not distributed, and the sender is told."""
    now = work.now()
    with work.sessions() as session, session.begin():
        due = session.scalars(
            select(HeldPost.id).where(HeldPost.status == HeldStatus.HELD, HeldPost.expires_at <= now)
            .order_by(HeldPost.id).limit(500)
        ).all()  # fmt: skip
        session.execute(delete(ModerationAttempt).where(ModerationAttempt.at < now - timedelta(days=1)))
    expired = 0
    for held_id in due:
        with work.sessions() as session, session.begin():
            expired += expire_one(work, session, held_id, now)
    return expired


def expire_one(work: Work, session: Session, held_id: int, now: datetime) -> int:
    if not claim(session, held_id, HeldStatus.EXPIRED, "expire", "listserv", now):
        return 0  # a facilitator (or another node) got there first
    held = reload(session, held_id)
    post = session.get_one(Post, held.post_id)
    post.decision = "discard"
    received = received_for(work, session, held, post, now)
    days = session.get_one(MailingList, held.list_id).held_expire_days
    text = received.render("held-expired.txt.j2", subject=held.subject or "(no subject)", days=days,
                           sent=when(held.created_at))  # fmt: skip
    told = notify_sender(received, "held-expired", f"Not distributed: {held.subject}", text)
    audit(session, held.list_id, held.id, "listserv", "expire", now, held.rules,
          f"not reviewed within {days} days" + ("" if told else "; the sender was not told"))  # fmt: skip
    log.info("expired list=%s held=%s", received.lst.address, held.id)
    return 1
