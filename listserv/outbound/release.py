"""Releasing an accepted post to its members: decorate it once, thread it, plan the fan-out.

The worker calls this for a post the rules accepted; moderation calls it for a held post a
facilitator approved. Either way it runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from email.message import Message

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from listserv.discussions.controls import control_address
from listserv.discussions.headers import first_values
from listserv.discussions.steering import choices_for_fanout
from listserv.discussions.store import thread_accepted
from listserv.dkim.readiness import readiness
from listserv.dmarc.mitigate import mitigate_dmarc
from listserv.mail.message import ListInfo, Role
from listserv.outbound.arc import SealInputs
from listserv.outbound.decorate import decorate
from listserv.outbound.oneclick import mark_unsubscribe, public_base
from listserv.store import queries
from listserv.store.schema import Post
from listserv.work import Work

log = logging.getLogger(__name__)
ONE_CLICK_SETTING = select(queries.LISTS.c.one_click_unsubscribe).where(queries.LISTS.c.id == bindparam("list_id"))


def distribute(work: Work, session: Session, lst: ListInfo, post: Post, message: Message, raw: bytes,
               now: datetime, arc: SealInputs | None = None) -> int:  # fmt: skip
    """Decorate once, thread the post, then plan one delivery per receiving member. Returns the count.
    arc: the chain status and our own DKIM results as received, for the sender's ARC seal (None: a
    held post approved later, sealed with what the trusted Authentication-Results say).
    Threading comes late: on PostgreSQL it takes the list's lock until the commit (lock_threads);
    nothing before it reads the discussion, and the fan-out's choices read what it wrote."""
    headers = first_values(message)  # as received: decoration changes the message in place
    message = mitigate_dmarc(work, session, lst, message)  # From the list when the author's DMARC asks for it
    decorated = decorate(
        message, lst, work.templates.render_footer(lst, steer_address(work.optional_secret(), lst, post.id))
    )
    decorated, one_click = mark_one_click(session, work, lst, decorated)  # per-member links: personalised
    outbound_id = queries.insert_outbound(session, dict(
        list_id=lst.id, post_id=post.id, kind="post", mail_from=lst.service(Role.BOUNCES), raw=decorated,
        personalized=lst.personalize or one_click, created_at=now, arc_seal=seal_json(arc),
    ))  # fmt: skip
    thread_accepted(session, lst, post, headers, raw, now)
    choices_for_fanout(session, outbound_id, post.id)  # members' follow and mute of this discussion
    count = queries.plan_fanout(session, outbound_id, lst.id, post.sender, work.settings.batch_size, now)
    log.info("planned list=%s msgid=%s recipients=%d", lst.address, post.message_id, count)
    return count


def steer_address(secret: bytes, lst: ListInfo, post_id: int) -> str:
    """LIST-do+REF for the footer: follow, mute ... by reply ("" without the secret)."""
    return control_address(lst, secret, post_id) if secret else ""


def seal_json(arc: SealInputs | None) -> str:
    return json.dumps({} if arc is None else {"chain": arc[0], "results": list(arc[1])})


def mark_one_click(session: Session, work: Work, lst: ListInfo, raw: bytes) -> tuple[bytes, bool]:
    """A decorated post for a list with one-click unsubscribe (docs/deliverability.md: on by
    default where mail is signed and public_url is set) gets the one-click List-Unsubscribe pair
    with a member marker; True means it must go the personalised way (one copy per member).
    Without public_url there is nowhere public for the link to point: the mailto one stays alone."""
    setting = session.scalar(ONE_CLICK_SETTING, {"list_id": lst.id})
    state = readiness(work.settings, lst.domain, setting)
    base = public_base(work.settings.public_url)
    if not state.one_click or base is None:
        if setting:
            log.warning("one_click_unsubscribe is on but public_url is empty: mailto only list=%s", lst.address)
        return raw, False
    return mark_unsubscribe(raw, base, lst.id, lst.service(Role.LEAVE)), True
