"""Mail to LIST@domain: gather facts, decide, record the post, distribute or answer."""

from __future__ import annotations

import logging

from listserv.received import Incoming, notify_sender
from listserv.membership.oneclick import mark_one_click
from listserv.mail.message import Role
from listserv.moderation.decide import Decision, decide
from listserv.inbound.authres import trusted_ids_of
from listserv.moderation.facts import read_content
from listserv.moderation.rules import Action, PostFacts
from listserv.outbound.decorate import decorate
from listserv.outbound.headers import list_id
from listserv.moderation.hold import hold_post
from listserv.moderation.policy import load_policy, load_standing
from listserv.store import queries
from listserv.discussions.store import thread_accepted
from listserv.store.schema import Post, utcnow

log = logging.getLogger(__name__)


def handle_post(incoming: Incoming) -> None:
    decision = decide(gather_facts(incoming), load_policy(incoming.session, incoming.lst.id))
    post = record_post(incoming, decision)
    log.info("decided list=%s msgid=%s action=%s rules=%s", incoming.lst.address, incoming.facts.message_id,
             decision.action.name.lower(), decision.rule_ids or "-")  # fmt: skip
    if decision.action is Action.ACCEPT:
        distribute(incoming, post)
    elif decision.action is Action.HOLD:
        hold_post(incoming, post, decision)
    elif decision.action is Action.REJECT:
        text = incoming.render("rejected.txt.j2", subject=incoming.facts.subject, reason=decision.reason)
        notify_sender(incoming, "rejected", f"Not distributed: {incoming.facts.subject}", text)


def gather_facts(incoming: Incoming) -> PostFacts:
    lst, facts = incoming.lst, incoming.facts
    standing = load_standing(incoming.session, lst.id, facts.sender)
    trusted = trusted_ids_of(incoming.settings.authserv_ids)
    content = read_content(incoming.message, len(incoming.inbound.raw), facts.sender, trusted)
    return PostFacts(
        list_address=lst.address, list_ids=facts.list_ids, list_id=list_id(lst),
        been_there=facts.been_there, envelope_sender=incoming.inbound.mail_from.lower(), sender=facts.sender,
        sender_is_member=standing.is_member, auto_submitted=facts.auto_submitted, precedence=facts.precedence,
        sender_is_facilitator=standing.is_facilitator, member_moderation=standing.moderation,
        member_posts=standing.posts_approved, size=content.size, recipients=content.recipients,
        has_subject=content.has_subject, headers=content.headers, body=content.body,
        spam_flag=content.spam_flag, auth_failures=content.auth_failures,
    )  # fmt: skip


def record_post(incoming: Incoming, decision: Decision) -> Post:
    facts = incoming.facts
    post = Post(
        list_id=incoming.lst.id, inbound_id=incoming.inbound.id, message_id=facts.message_id,
        sender=facts.sender, subject=facts.subject, in_reply_to=facts.in_reply_to,
        references=" ".join(facts.references), decision=decision.action.name.lower(),
        rules=decision.rule_ids, reason=decision.reason, defects=" ".join(facts.defects), created_at=utcnow(),
    )  # fmt: skip
    incoming.session.add(post)
    incoming.session.flush()
    return post


def distribute(incoming: Incoming, post: Post) -> int:
    """Thread the post, decorate once, then plan one delivery per receiving member. Returns the count."""
    lst, session = incoming.lst, incoming.session
    thread_accepted(incoming, post)
    raw = decorate(incoming.message, lst, incoming.templates.render_footer(lst))
    raw, one_click = mark_one_click(session, incoming.settings, lst, raw)  # per-member links: personalised
    outbound_id = queries.insert_outbound(session, dict(
        list_id=lst.id, post_id=post.id, kind="post", mail_from=lst.service(Role.BOUNCES), raw=raw,
        personalized=lst.personalize or one_click, created_at=utcnow(),
    ))  # fmt: skip
    count = queries.plan_fanout(session, outbound_id, lst.id, post.sender, incoming.settings.batch_size)
    log.info("planned list=%s msgid=%s recipients=%d", lst.address, post.message_id, count)
    return count
