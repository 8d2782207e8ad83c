"""Mail to LIST-owner (passed on to the list's facilitators) and to LIST-bounces (kept, then counted)."""

from __future__ import annotations

import logging

from listserv.bounces.handle import handle_bounce_report
from listserv.mail.message import Role
from listserv.outbound.notices import forward_to_facilitators
from listserv.outbound.queue import queue_message
from listserv.received import Received
from listserv.store import queries

log = logging.getLogger(__name__)


def handle_owner(received: Received) -> None:
    lst, facts = received.lst, received.facts
    if lst.service(Role.OWNER) in facts.been_there:
        log.info("owner mail loop dropped list=%s msgid=%s", lst.address, facts.message_id)
        return
    rcpts = queries.facilitators(received.session, lst.id)
    if rcpts:
        raw = forward_to_facilitators(received.message, lst)
        queue_message(received.session, lst, "forward", raw, rcpts, received.now)
    log.info("forwarded to facilitators list=%s count=%d", lst.address, len(rcpts))


def handle_bounce(received: Received) -> None:
    """Kept as received (inbound.raw) and counted against the members it names (bounces/handle.py)."""
    counted = handle_bounce_report(received)
    log.info("bounce stored list=%s inbound=%s tag=%s counted=%d", received.lst.address, received.inbound.id,
             received.tag, counted)  # fmt: skip
