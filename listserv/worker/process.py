"""The worker: received -> parsed -> handled by the recipient's role -> done, retried or quarantined.

Each message is claimed (attempts + 1, committed) before it is processed, so a
message that kills the process is quarantined after max_tries restarts instead
of crash-looping. Processing itself is one transaction: all or nothing.

Only the message's own failures spend attempts. When the database or the disk fails
(store/faults.py: disk full, PostgreSQL down, connection lost), the worker keeps the claim
in memory, pauses (1 s, doubling up to fault_backoff_seconds) and then first gives the
claim back with its attempt refunded, before taking new work: no restart and no lease
expiry needed, and a disk that stays full for hours quarantines nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy.orm import Session

from listserv.digest.mailin import (
    handle_digest,
    handle_prompts,
    handle_reply,
    handle_vote,
)
from listserv.engagement.controls import handle_control
from listserv.engagement.record import member_record
from listserv.engagement.replies import handle_report
from listserv.library.mailin import handle_library, library_request
from listserv.mail import parse
from listserv.mail.addresses import parse_recipient
from listserv.mail.message import Recipient, Role
from listserv.membership.requests import (
    handle_confirm,
    handle_join,
    handle_leave,
    handle_request,
)
from listserv.moderation.reply import handle_moderate
from listserv.received import Received
from listserv.store import queries
from listserv.store.faults import Backoff, describe_failure, is_resource_failure
from listserv.store.schema import Inbound, InboundStatus
from listserv.work import Work
from listserv.worker.author import handle_author
from listserv.worker.owner import handle_bounce, handle_owner
from listserv.worker.post import handle_post

log = logging.getLogger(__name__)
Handler = Callable[[Received], None]


class Worker:
    def __init__(self, work: Work) -> None:
        self.work, self.settings = work, work.settings
        self.backoff = Backoff(timedelta(seconds=self.settings.fault_backoff_seconds))
        self.refunds: dict[int, datetime] = {}  # claims to give back (inbound id -> our lease), kept in memory

    def process_next(self) -> bool:
        """Plan the next chunk of a large fan-out, or process the oldest waiting message.
        False when there is nothing to do, or while the database is failing."""
        if self.backoff.waiting(self.work.now()):
            return False
        try:
            self._give_back_claims()
            done = self._next()
        except Exception as error:
            if not is_resource_failure(error):
                raise
            self._pause(error)
            return False
        self.backoff.succeeded()
        return done

    def _next(self) -> bool:
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.work.sessions() as session, session.begin():
            now = self.work.now()
            if queries.continue_fanout(session, self.settings.batch_size, now):
                return True
            claimed = queries.claim_inbound(session, now, lease)
        if claimed is None:
            return False
        inbound_id, attempts = claimed
        if attempts > self.settings.max_tries:
            self._quarantine(inbound_id, "failed or interrupted %d times" % (attempts - 1))
            return True
        try:
            with self.work.sessions() as session, session.begin():
                self._process(session, queries.load_inbound(session, inbound_id))
        except Exception as error:
            if is_resource_failure(error):
                self.refunds[inbound_id] = now + lease  # claim_inbound's lease_until
                raise
            log.exception("processing failed inbound=%s attempt=%s", inbound_id, attempts)
            reason = "".join(traceback.format_exception_only(error)).strip()
            if attempts >= self.settings.max_tries:
                self._quarantine(inbound_id, reason)
            else:
                self._retry_later(inbound_id, attempts, reason)
        return True

    def _give_back_claims(self) -> None:
        """Refund the attempts that resource failures spent, and free those messages at once."""
        for inbound_id, lease_until in list(self.refunds.items()):
            with self.work.sessions() as session, session.begin():
                queries.refund_inbound(session, inbound_id, lease_until)
            del self.refunds[inbound_id]
            log.info("gave back inbound=%s: its attempt is not counted", inbound_id)

    def _pause(self, error: BaseException) -> None:
        delay = self.backoff.failed(self.work.now())
        held = (
            f"; holding inbound={','.join(map(str, self.refunds))} without spending its attempt" if self.refunds else ""
        )
        log.warning(
            "processing paused %gs: %s%s",
            delay.total_seconds(),
            describe_failure(error, self.settings.database_url),
            held,
        )

    def fanout_unplanned(self) -> bool:
        if self.backoff.waiting(self.work.now()):
            return False
        with self.work.sessions() as session, session.begin():
            return queries.fanout_unplanned(session)

    def _retry_later(self, inbound_id: int, attempts: int, reason: str) -> None:
        delay = timedelta(seconds=self.settings.retry_seconds * attempts)
        with self.work.sessions() as session, session.begin():
            queries.retry_inbound_at(session, inbound_id, self.work.now() + delay, reason)

    def _quarantine(self, inbound_id: int, reason: str) -> None:
        with self.work.sessions() as session, session.begin():
            queries.finish_inbound(session, inbound_id, InboundStatus.QUARANTINED, reason)
        log.error("quarantined inbound=%s reason=%s", inbound_id, reason)

    def _process(self, session: Session, inbound: Inbound) -> None:
        if inbound.status != InboundStatus.RECEIVED:
            return  # another node finished it
        lst = queries.load_list_by_id(session, inbound.list_id)
        message = parse.parse_bytes(inbound.raw)
        if not message.get("Message-ID"):
            message["Message-ID"] = make_msgid("listserv", domain=lst.domain)
        role = Role(inbound.role)
        tag = parse_recipient(inbound.rcpt, {lst.address}) or Recipient(lst.address, role)
        received = Received(self.work, session, self.work.now(), inbound, lst, role, tag.tag, message,
                            parse.read_facts(message))  # fmt: skip
        HANDLERS[role](received)
        queries.finish_inbound(session, inbound.id, InboundStatus.DONE)


def handle_requests(received: Received) -> None:
    """LIST-request: the library's commands (`library`, `library anonymise`), else membership's."""
    if not library_request(received):
        handle_request(received, record=member_record)  # `stats` words the engagement record


HANDLERS: dict[Role, Handler] = {
    Role.POST: handle_post,
    Role.OWNER: handle_owner,
    Role.REQUEST: handle_requests,
    Role.BOUNCES: handle_bounce,
    Role.MODERATE: handle_moderate,
    Role.JOIN: handle_join,
    Role.LEAVE: handle_leave,
    Role.CONFIRM: handle_confirm,
    Role.REPLY: handle_reply,
    Role.DIGEST: handle_digest,
    Role.PROMPTS: handle_prompts,
    Role.VOTE: handle_vote,
    Role.AUTHOR: handle_author,
    Role.REPORT: handle_report,
    Role.LIBRARY: handle_library,
    Role.CONTROL: handle_control,
}
