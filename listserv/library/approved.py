"""The `library-approved` job: posts held and then approved join the library too.

The worker harvests each post it accepts (worker/post.py). A held post is distributed later,
by a facilitator's approval (moderation/act.py), which the library cannot hook without the two
capabilities importing each other; so this job, every few minutes, harvests the posts approved
in the last 30 days that are not marked yet (a token of purpose `library-seen`, kept as
long as the window, is the mark). On PostgreSQL the held rows are locked with SKIP LOCKED, so two
nodes never harvest the same post.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import exists, select

from listserv.library.intake import harvest_post
from listserv.mail.parse import parse_bytes, read_facts
from listserv.moderation.tables import HeldPost, HeldStatus
from listserv.store import queries
from listserv.store.schema import Inbound, Post, Token
from listserv.store.tokens import issue_token
from listserv.work import Work

log = logging.getLogger(__name__)
WINDOW = timedelta(days=30)
BATCH = 50
HARVESTED = "library-seen"  # tokens.purpose holds 16 characters


def run_approved(work: Work) -> int:
    """Harvest up to BATCH approved posts not yet in the library; how many."""
    now = work.now()
    with work.sessions() as session, session.begin():
        harvested = exists().where(Token.purpose == HARVESTED, Token.target_id == HeldPost.post_id)
        query = (
            select(HeldPost.id, HeldPost.post_id)
            .where(HeldPost.status == HeldStatus.APPROVED.value, HeldPost.handled_at >= now - WINDOW, ~harvested)
            .order_by(HeldPost.id).limit(BATCH).with_for_update(skip_locked=True, of=HeldPost)
        )  # fmt: skip
        rows = session.execute(query).all()
        for _, post_id in rows:
            post = session.get_one(Post, post_id)
            message = parse_bytes(session.get_one(Inbound, post.inbound_id).raw)
            lst = queries.load_list_by_id(session, post.list_id)
            harvest_post(session, lst.address, post, message, read_facts(message).sender_name, now)
            issue_token(session, work.secret(), purpose=HARVESTED, list_id=lst.id, address="", now=now,
                        expires=now + 2 * WINDOW, target_id=post.id)  # fmt: skip
    if rows:
        log.info("library harvested %d approved posts", len(rows))
    return len(rows)
