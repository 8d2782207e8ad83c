"""The bounce job: the relay's refusals from the delivery ledger, then every member with a bounce
history rescored (decay) and moved on when a step is due (resume, removal). Safe on several
nodes: a refusal is claimed by inserting its event (unique delivery id), each state change by
a conditional UPDATE of the member's row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from listserv.bounces import store
from listserv.bounces.act import count_bounce, review
from listserv.bounces.score import BounceStep
from listserv.bounces.tables import BounceKind
from listserv.membership.mail import Scope, open_scope
from listserv.work import Work

log = logging.getLogger(__name__)
BATCH = 500
KEEP_EVENTS = timedelta(days=180)


def run_bounces(work: Work) -> int:
    """Returns refusals counted plus steps taken."""
    now = work.now()
    done = count_refusals(work, now) + review_all(work, now)
    with work.sessions() as session, session.begin():
        store.prune_events(session, now - KEEP_EVENTS)
    return done


def refusal_kind(reply: str) -> BounceKind:
    """5xx at RCPT is a hard bounce; a 4xx given up on after give_up_hours is soft."""
    return BounceKind.HARD if reply.strip().startswith("5") else BounceKind.SOFT


def count_refusals(work: Work, now: datetime) -> int:
    """Failed deliveries past the cursor, each counted once (its event holds the delivery id); the
    cursor then moves to where the ledger is settled, so a batch still retrying 4xx answers holds
    back nothing but its own rows."""
    with work.sessions() as session, session.begin():
        position, settled = store.scan_position(session), store.settled_up_to(session)
    counted, after = 0, position
    while True:
        with work.sessions() as session, session.begin():
            found = store.refusals(session, after, BATCH)
            scopes: dict[int, Scope] = {}
            for refusal in found:
                if refusal.list_id not in scopes:
                    scopes[refusal.list_id] = open_scope(work, session, refusal.list_id, now)
                counted += count_bounce(scopes[refusal.list_id], refusal.rcpt, refusal_kind(refusal.reply), "relay",
                                        refusal.reply, refusal.delivery_id)  # fmt: skip
        if len(found) < BATCH:
            break
        after = found[-1].delivery_id
    if settled > position:
        with work.sessions() as session, session.begin():
            store.advance_scan(session, position, settled)
    return counted


def review_all(work: Work, now: datetime) -> int:
    steps, after = 0, 0
    while True:
        with work.sessions() as session, session.begin():
            rows = store.to_review(session, after, BATCH)
            for row in rows:
                scope = open_scope(work, session, row.list_id, now)
                steps += review(scope, row, store.load_bounce_policy(session, row.list_id)) is not BounceStep.NONE
        if len(rows) < BATCH:
            return steps
        after = rows[-1].id
