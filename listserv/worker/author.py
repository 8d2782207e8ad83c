"""Mail to LIST-author+TOKEN@domain (dmarc/alias.py): a member's reply, forwarded to the author.

Forwarded unchanged but for a loop marker, so the replier's own DKIM signature still holds.
Only members may use an alias (an alias seen in an archive is no way to mail the author);
automatic mail is dropped; an unknown or expired alias, or a non-member, gets one notice.
"""

from __future__ import annotations

import logging

from listserv.dmarc.alias import find_author
from listserv.mail.message import Role
from listserv.outbound.decorate import serialize
from listserv.outbound.notices import may_answer
from listserv.outbound.queue import queue_message
from listserv.received import Received, notify_sender
from listserv.store import queries

log = logging.getLogger(__name__)


def handle_author(received: Received) -> None:
    lst, facts, marker = received.lst, received.facts, received.lst.service(Role.AUTHOR)
    if marker in facts.been_there or not may_answer(received.inbound.mail_from, facts):
        log.info("author alias dropped list=%s msgid=%s reason=loop-or-automatic", lst.address, facts.message_id)
        return
    author = find_author(received.session, received.work.secret(), lst, received.tag, received.now)
    member = queries.is_member(received.session, lst.id, facts.sender)
    if author is None or not member:
        reason = "not-a-member" if author else "unknown-or-expired"
        log.info("author alias refused list=%s msgid=%s reason=%s", lst.address, facts.message_id, reason)
        text = received.render("author-alias-refused.txt.j2", subject=facts.subject, member=member)
        notify_sender(received, "author-alias-refused", f"Not forwarded: {facts.subject}", text)
        return
    received.message["X-BeenThere"] = marker
    queue_message(received.session, lst, "forward", serialize(received.message), [author], received.now)
    log.info("author alias forwarded list=%s msgid=%s", lst.address, facts.message_id)
