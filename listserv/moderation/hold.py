"""Put a post on hold: the held_posts row, one notice (with its own token) per facilitator,
and a note to the sender that the post awaits review."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo
from listserv.mail.parse import parse_bytes
from listserv.mail.text import excerpt, message_text
from listserv.moderation.decide import Decision
from listserv.moderation.mail import (
    attached_message,
    build_facilitator_mail,
    moderate_address,
)
from listserv.moderation.records import audit, when
from listserv.moderation.rules import Action
from listserv.moderation.tables import HeldPost, HeldStatus
from listserv.outbound.queue import queue_message
from listserv.received import Received, notify_sender
from listserv.store import queries
from listserv.store.schema import Inbound, MailingList, Post
from listserv.store.tokens import issue_token
from listserv.work import Work

log = logging.getLogger(__name__)
PURPOSE = "moderate"


def hold_post(received: Received, post: Post, decision: Decision) -> HeldPost:
    session, lst, facts, now = received.session, received.lst, received.facts, received.now
    days = session.get_one(MailingList, lst.id).held_expire_days or 14
    reasons = [hit.reason for hit in decision.hits if hit.action is Action.HOLD]
    held = HeldPost(
        list_id=lst.id, post_id=post.id, inbound_id=received.inbound.id, sender=facts.sender[:254],
        subject=facts.subject, rules=decision.rule_ids, reasons="\n".join(reasons), status=HeldStatus.HELD,
        created_at=now, expires_at=now + timedelta(days=days), verb="", handled_by="", handled_at=None, note="",
    )  # fmt: skip
    session.add(held)
    session.flush()
    audit(session, lst.id, held.id, "listserv", "hold", now, decision.rule_ids, "; ".join(reasons))
    sent = send_hold_notices(session, received.work, lst, held, received.inbound, now)
    log.info("held list=%s msgid=%s held=%s rule=%s notices=%d", lst.address, facts.message_id, held.id,
             decision.rule_ids, sent)  # fmt: skip
    text = received.render("held-awaiting.txt.j2", subject=facts.subject or "(no subject)", reasons=reasons,
                           days=days)  # fmt: skip
    notify_sender(received, "held", f"Awaiting review: {facts.subject or '(no subject)'}", text)
    return held


def moderation_token(session: Session, secret: bytes, held: HeldPost, facilitator: str, now: datetime) -> str:
    """A single-use token for one facilitator to act on one held post, valid while it is held."""
    return issue_token(session, secret, purpose=PURPOSE, list_id=held.list_id, address=facilitator, now=now,
                       expires=held.expires_at, target_id=held.id)  # fmt: skip


def send_hold_notices(session: Session, work: Work, lst: ListInfo, held: HeldPost, inbound: Inbound,
                      now: datetime) -> int:  # fmt: skip
    """One notice to each facilitator, each with its own reply token. Returns how many."""
    rcpts = queries.facilitators(session, lst.id)
    if not rcpts:
        log.warning("held with no facilitator to tell list=%s held=%s (use `listserv held`)", lst.address, held.id)
    for facilitator in rcpts:
        token = moderation_token(session, work.secret(), held, facilitator, now)
        original = parse_bytes(inbound.raw)
        text = work.templates.render_for(
            lst, "held-notice.txt.j2", held=held, sender=held.sender, subject=held.subject or "(no subject)",
            reasons=held.reasons.splitlines(), excerpt=excerpt(message_text(original)),
            address=moderate_address(lst, token), expires=when(held.expires_at),
        )  # fmt: skip
        subject = f"Held for review: {held.subject or '(no subject)'}"
        raw = build_facilitator_mail(lst, facilitator, subject, text, now, reply_to=moderate_address(lst, token),
                                     original=attached_message(original))  # fmt: skip
        queue_message(session, lst, "notice", raw, [facilitator], now)
    return len(rcpts)


def load_held_post(session: Session, held_id: int) -> tuple[HeldPost, Post] | None:
    held = session.get(HeldPost, held_id)
    if held is None:
        return None
    return held, session.get_one(Post, held.post_id)
