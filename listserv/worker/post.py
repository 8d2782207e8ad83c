"""Mail to LIST@domain: gather facts, decide, record the post, then release, hold or answer."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert
from sqlalchemy.orm import make_transient_to_detached

from listserv.discussions.steering import closed_discussion
from listserv.inbound.authcheck import sender_auth
from listserv.inbound.authres import SenderAuth, trusted_ids_of
from listserv.library.intake import harvest_post
from listserv.library.mailin import with_library_address
from listserv.mail.message import ListStatus
from listserv.moderation.decide import Decision, decide
from listserv.moderation.facts import read_content
from listserv.moderation.hold import hold_post
from listserv.moderation.policy import load_moderation_policy, load_standing
from listserv.moderation.rules import Action, Hit, PostFacts
from listserv.outbound.headers import list_id
from listserv.outbound.release import distribute
from listserv.received import Received, notify_sender
from listserv.store.schema import Post

log = logging.getLogger(__name__)
POSTS = cast(Table, Post.__table__)
POST_COLUMNS = tuple(column.key for column in POSTS.c if column.key != "id")
INSERT_POST = insert(POSTS)


def handle_post(received: Received) -> None:
    if received.lst.status is not ListStatus.OPEN:
        log.info("dropped list=%s msgid=%s reason=list-closed", received.lst.address, received.facts.message_id)
        return  # queued before the list closed, or a scheduled prompt: a closed list takes no posts
    auth = authenticate(received)
    facts = gather_facts(received, auth)
    decision = closed_to_posts(received, decide(facts, load_moderation_policy(received.session, received.lst.id)),
                               facts.sender_is_facilitator)  # fmt: skip
    post = record_post(received, decision)
    log.info("decided list=%s msgid=%s action=%s rules=%s", received.lst.address, received.facts.message_id,
             decision.action.name.lower(), decision.rule_ids or "-")  # fmt: skip
    if decision.action is Action.ACCEPT:
        harvest_post(received.session, received.lst.address, post, received.message, received.facts.sender_name,
                     received.now)  # fmt: skip
        lst = with_library_address(received.work.optional_secret(), received.lst, post)
        distribute(received.work, received.session, lst, post, received.message, received.inbound.raw,
                   received.now, auth.seal_inputs())  # fmt: skip
    elif decision.action is Action.HOLD:
        hold_post(received, post, decision)
    elif decision.action is Action.REJECT:
        text = received.render("rejected.txt.j2", subject=received.facts.subject, reason=decision.reason)
        notify_sender(received, "rejected", f"Not distributed: {received.facts.subject}", text)


def closed_to_posts(received: Received, decision: Decision, facilitator: bool) -> Decision:
    """A post that would join a discussion a facilitator closed is refused (docs/engagement.md);
    a facilitator's own (a closing summary) still goes out."""
    if decision.action is not Action.ACCEPT or facilitator:
        return decision
    facts = received.facts
    closed = closed_discussion(received.session, received.lst.id, [facts.in_reply_to, *reversed(facts.references)])
    if closed is None:
        return decision
    reason = f"the discussion \u201c{closed.subject}\u201d was closed to new posts by its facilitators"
    return Decision(Action.REJECT, (*decision.hits, Hit("discussion-closed", Action.REJECT, reason)))


def authenticate(received: Received) -> SenderAuth:
    facts = received.facts
    auth = sender_auth(received.inbound.raw, received.message, facts.sender.rpartition("@")[2], received.settings)
    log.info("authentication list=%s msgid=%s domain=%s %s", received.lst.address, facts.message_id,
             auth.domain or "-", auth)  # fmt: skip
    return auth


def gather_facts(received: Received, auth: SenderAuth) -> PostFacts:
    lst, facts = received.lst, received.facts
    standing = load_standing(received.session, lst.id, facts.sender)
    trusted = trusted_ids_of(received.settings.authserv_ids)
    content = read_content(received.message, len(received.inbound.raw), facts.sender, trusted)
    return PostFacts(
        list_address=lst.address, list_ids=facts.list_ids, list_id=list_id(lst),
        been_there=facts.been_there, envelope_sender=received.inbound.mail_from.lower(), sender=facts.sender,
        sender_is_member=standing.is_member, auto_submitted=facts.auto_submitted, precedence=facts.precedence,
        sender_is_facilitator=standing.is_facilitator, member_moderation=standing.moderation,
        member_posts=standing.posts_approved, size=content.size, recipients=content.recipients,
        has_subject=content.has_subject, headers=content.headers, body=content.body,
        spam_flag=content.spam_flag, auth_failures=auth.failures or content.auth_failures,
        auth_passed=auth.verdict.passed, arc_chain=auth.arc,
    )  # fmt: skip


def record_post(received: Received, decision: Decision) -> Post:
    facts = received.facts
    post = Post(
        list_id=received.lst.id, inbound_id=received.inbound.id, message_id=facts.message_id,
        sender=facts.sender, subject=facts.subject, in_reply_to=facts.in_reply_to,
        references=" ".join(facts.references), decision=decision.action.name.lower(),
        rules=decision.rule_ids, reason=decision.reason, defects=" ".join(facts.defects), created_at=received.now,
    )  # fmt: skip
    values = {key: getattr(post, key) for key in POST_COLUMNS}
    inserted = cast(CursorResult[Any], received.session.execute(INSERT_POST, values)).inserted_primary_key
    assert inserted is not None  # an INSERT of one row
    post.id = inserted[0]
    make_transient_to_detached(post)
    received.session.add(post)  # persistent, as after a flush, without the unit of work's cost
    return post
