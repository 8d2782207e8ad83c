"""Mail to LIST-owner: passed on to the list's facilitators."""

from __future__ import annotations

import logging

from listserv.received import Incoming, queue_message
from listserv.mail.message import Role
from listserv.outbound.notices import forward_to_facilitators
from listserv.store import queries

log = logging.getLogger(__name__)


def handle_owner(incoming: Incoming) -> None:
    lst, facts = incoming.lst, incoming.facts
    if lst.service(Role.OWNER) in facts.been_there:
        log.info("owner mail loop dropped list=%s msgid=%s", lst.address, facts.message_id)
        return
    rcpts = queries.facilitators(incoming.session, lst.id)
    if rcpts:
        queue_message(incoming.session, lst, "forward", forward_to_facilitators(incoming.message, lst), rcpts)
    log.info("forwarded to facilitators list=%s count=%d", lst.address, len(rcpts))


def handle_bounce(incoming: Incoming) -> None:
    """Kept as received (inbound.raw); bounce scoring builds on these rows."""
    log.info("bounce stored list=%s inbound=%s tag=%s", incoming.lst.address, incoming.inbound.id, incoming.tag)
