"""Put a post on hold: the held_posts row, one notice (with its own token) per facilitator,
and a note to the sender that the post awaits review."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from listserv.received import Incoming, notify_sender, queue_message
from listserv.mail.parse import parse_bytes
from listserv.mail.message import ListInfo
from listserv.moderation.decide import Decision
from listserv.moderation.mail import attached_message, build_facilitator_mail, moderate_address
from listserv.moderation.rules import Action
from listserv.mail.text import excerpt, message_text
from listserv.render import Templates
from listserv.moderation.records import audit, facilitators, new_token, render, when
from listserv.store.schema import Inbound, MailingList, Post, utcnow
from listserv.moderation.tables import HeldPost, HeldStatus, ModerationToken

log = logging.getLogger(__name__)
PURPOSE = "moderate"


def hold_post(incoming: Incoming, post: Post, decision: Decision) -> HeldPost:
    session, lst, facts = incoming.session, incoming.lst, incoming.facts
    now = utcnow()
    days = session.get_one(MailingList, lst.id).held_expire_days or 14
    reasons = [hit.reason for hit in decision.hits if hit.action is Action.HOLD]
    held = HeldPost(
        list_id=lst.id, post_id=post.id, inbound_id=incoming.inbound.id, sender=facts.sender[:254],
        subject=facts.subject, rules=decision.rule_ids, reasons="\n".join(reasons), status=HeldStatus.HELD,
        created_at=now, expires_at=now + timedelta(days=days), verb="", handled_by="", handled_at=None, note="",
    )  # fmt: skip
    session.add(held)
    session.flush()
    audit(session, lst.id, held.id, "listserv", "hold", decision.rule_ids, "; ".join(reasons), now)
    sent = send_hold_notices(session, incoming.templates, lst, held, incoming.inbound)
    log.info("held list=%s msgid=%s held=%s rule=%s notices=%d", lst.address, facts.message_id, held.id,
             decision.rule_ids, sent)  # fmt: skip
    text = incoming.render("held-awaiting.txt.j2", subject=facts.subject or "(no subject)", reasons=reasons,
                           days=days)  # fmt: skip
    notify_sender(incoming, "held", f"Awaiting review: {facts.subject or '(no subject)'}", text)
    return held


def issue_token(session: Session, held: HeldPost, facilitator: str, now: datetime | None = None) -> str:
    """A new single-use token for one facilitator to act on one held post; only its hash is stored."""
    token, digest = new_token()
    session.add(ModerationToken(
        token_hash=digest, list_id=held.list_id, held_id=held.id, facilitator=facilitator, purpose=PURPOSE,
        created_at=now or utcnow(), expires_at=held.expires_at, used_at=None,
    ))  # fmt: skip
    return token


def send_hold_notices(session: Session, templates: Templates, lst: ListInfo, held: HeldPost,
                      inbound: Inbound) -> int:  # fmt: skip
    """One notice to each facilitator, each with its own reply token. Returns how many."""
    rcpts = facilitators(session, lst.id)
    if not rcpts:
        log.warning("held with no facilitator to tell list=%s held=%s (use `listserv held`)", lst.address, held.id)
    for facilitator in rcpts:
        token = issue_token(session, held, facilitator)
        original = parse_bytes(inbound.raw)
        text = render(
            templates, lst, "held-notice.txt.j2", held=held, sender=held.sender, subject=held.subject or "(no subject)",
            reasons=held.reasons.splitlines(), excerpt=excerpt(message_text(original)),
            address=moderate_address(lst, token), expires=when(held.expires_at),
        )  # fmt: skip
        subject = f"Held for review: {held.subject or '(no subject)'}"
        raw = build_facilitator_mail(lst, facilitator, subject, text, reply_to=moderate_address(lst, token),
                                     original=attached_message(original))  # fmt: skip
        queue_message(session, lst, "notice", raw, [facilitator])
    return len(rcpts)


def load_held_post(session: Session, held_id: int) -> tuple[HeldPost, Post] | None:
    held = session.get(HeldPost, held_id)
    if held is None:
        return None
    return held, session.get_one(Post, held.post_id)
