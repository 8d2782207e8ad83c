"""Apply a facilitator's decision on a held post, exactly once.

The claim is a conditional UPDATE ... WHERE status = 'held' whose row count says
whether this call won: on PostgreSQL a racing transaction waits for the row lock and
then finds the status changed; on SQLite writers are serialised (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from listserv.mail.message import Role
from listserv.mail.parse import parse_bytes, read_facts
from listserv.moderation.approve import ReplyCommand, Verb
from listserv.moderation.edit import apply_edit
from listserv.moderation.records import audit, mail_facilitator, when
from listserv.moderation.tables import HeldPost, HeldStatus, SenderRule
from listserv.outbound.release import distribute
from listserv.received import Received, notify_sender
from listserv.store import admin, queries
from listserv.store.schema import Delivery, Inbound, MailingList, Member, Outbound, Post
from listserv.store.tokens import use_token
from listserv.work import Work

log = logging.getLogger(__name__)
HELD = cast(Table, HeldPost.__table__)
STATUS = {
    Verb.APPROVE: HeldStatus.APPROVED, Verb.APPROVE_ALWAYS: HeldStatus.APPROVED, Verb.EDIT: HeldStatus.APPROVED,
    Verb.REJECT: HeldStatus.REJECTED, Verb.DISCARD: HeldStatus.DISCARDED,
}  # fmt: skip
DONE = {Verb.APPROVE: "approved", Verb.APPROVE_ALWAYS: "approved (and trusted the sender)", Verb.EDIT: "edited and approved",
        Verb.REJECT: "rejected", Verb.DISCARD: "discarded"}  # fmt: skip
DECISION = {HeldStatus.APPROVED: "accept", HeldStatus.REJECTED: "reject", HeldStatus.DISCARDED: "discard"}


@dataclass(frozen=True)
class HeldOutcome:
    applied: bool  # False: someone else handled it first
    held: HeldPost
    detail: str = ""


def claim(session: Session, held_id: int, status: HeldStatus, verb: str, actor: str, now: datetime,
          note: str = "") -> bool:  # fmt: skip
    """Move a held post out of the queue; True only for the one caller that did it."""
    result = session.execute(
        update(HELD).where(HELD.c.id == held_id, HELD.c.status == HeldStatus.HELD)
        .values(status=status, verb=verb, handled_by=actor[:254], handled_at=now, note=note)
    )  # fmt: skip
    return queries.rowcount(result) == 1


def reload(session: Session, held_id: int) -> HeldPost:
    held = session.execute(select(HeldPost).where(HeldPost.id == held_id).execution_options(populate_existing=True))
    return held.scalar_one()


def received_for(work: Work, session: Session, held: HeldPost, post: Post, now: datetime) -> Received:
    """The held post as the worker saw it, ready for distribute or notify_sender."""
    inbound = session.get_one(Inbound, held.inbound_id)
    message = parse_bytes(inbound.raw)
    if not message.get("Message-ID") and post.message_id:
        message["Message-ID"] = post.message_id  # the worker gave it one
    lst = queries.load_list_by_id(session, held.list_id)
    return Received(work, session, now, inbound, lst, Role.POST, "", message, read_facts(message))


def act(work: Work, session: Session, held_id: int, command: ReplyCommand, actor: str, now: datetime,
        token_id: int | None = None) -> HeldOutcome:  # fmt: skip
    """Approve, approve always, edit, reject or discard a held post, if nobody did already."""
    status = STATUS[command.verb]
    if not claim(session, held_id, status, command.verb.value, actor, now, command.reason):
        return HeldOutcome(False, reload(session, held_id))
    held = reload(session, held_id)
    if token_id is not None:
        use_token(session, token_id, now)
    post = session.get_one(Post, held.post_id)
    post.decision = DECISION[status]
    received = received_for(work, session, held, post, now)
    detail = apply(received, held, post, command, actor)
    audit(session, held.list_id, held.id, actor, command.verb.value, now, held.rules, detail)
    tell_other_facilitators(received, held, command, actor)
    log.info("%s list=%s held=%s by=%s %s", command.verb.value, received.lst.address, held.id, actor, detail)
    return HeldOutcome(True, held, detail)


def apply(received: Received, held: HeldPost, post: Post, command: ReplyCommand, actor: str) -> str:
    session = received.session
    if command.verb is Verb.REJECT:
        text = received.render("held-rejected.txt.j2", subject=held.subject or "(no subject)", reason=command.reason)
        told = notify_sender(received, f"held-rejected-{held.id}", f"Not distributed: {held.subject}", text)
        return f"reason: {command.reason or '(none given)'}" + ("" if told else "; the sender was not told")
    if command.verb is Verb.DISCARD:
        return ""
    message = apply_edit(received.message, command.text) if command.verb is Verb.EDIT else received.message
    distribute(received.work, session, received.lst, post, message, received.inbound.raw, received.now)
    credit_member(session, held.list_id, held.sender)
    detail = f"distributed: {recipients(session, post.id)} deliveries planned"
    if command.verb is Verb.APPROVE_ALWAYS:
        detail += "; " + trust_sender(session, held.list_id, held.sender, actor, received.now)
    return detail


def recipients(session: Session, post_id: int) -> int:
    """Deliveries planned for a post so far (a large list's are planned in chunks after this)."""
    query = select(func.count()).select_from(Delivery).join(Outbound, Outbound.id == Delivery.outbound_id)
    return int(session.scalar(query.where(Outbound.post_id == post_id)) or 0)


def credit_member(session: Session, list_id: int, email: str) -> None:
    """Count an approved post; a newcomer with enough of them posts freely from now on."""
    member = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if member is None:
        return
    member.posts_approved = (member.posts_approved or 0) + 1
    if member.moderation == "new" and member.posts_approved >= session.get_one(MailingList, list_id).new_member_posts:
        member.moderation = ""


def trust_sender(session: Session, list_id: int, email: str, actor: str, now: datetime) -> str:
    """'approve always': un-moderate a member, or let a non-member post (per the list's approve_always_adds)."""
    member = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
    if member is not None:
        member.moderation = "accept"
        return f"{email} is no longer moderated"
    rule = session.scalar(select(SenderRule).where(SenderRule.list_id == list_id, SenderRule.pattern == email))
    if session.get_one(MailingList, list_id).approve_always_adds == "member":
        admin.add_member(session, list_id, email, now)
        if rule is not None:
            session.delete(rule)
        return f"{email} was added as a member"
    if rule is None:
        session.add(SenderRule(list_id=list_id, pattern=email, action="accept", reason="",
                               created_by=actor[:254], created_at=now))  # fmt: skip
    else:
        rule.action, rule.created_by = "accept", actor[:254]
    return f"{email} may post without review"


def tell_other_facilitators(received: Received, held: HeldPost, command: ReplyCommand, actor: str) -> None:
    lst = received.lst
    for facilitator in queries.facilitators(received.session, held.list_id):
        if facilitator == actor:
            continue
        text = received.render("held-handled.txt.j2", held=held, actor=actor, done=DONE[command.verb],
                      reason=command.reason, at=when(held.handled_at))  # fmt: skip
        subject = f"{DONE[command.verb].split(' ')[0].capitalize()} by {actor}: {held.subject or '(no subject)'}"
        mail_facilitator(received.session, lst, facilitator, subject, text, received.now)
