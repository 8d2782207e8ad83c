"""What every role handler receives: one received message, inside the worker's transaction.

The worker (worker/process.py) claims an `inbound` row, parses it and hands a `Received`
to the handler for the recipient's role (LIST@, LIST-request@, LIST-moderate+TOKEN@, ...).
`notify_sender` is the one way a handler answers the sender: never automatic mail, at most
one notice of a kind per address and day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from sqlalchemy.orm import Session

from listserv.inbound.authcheck import reply_verdict
from listserv.inbound.authres import auth_refusal
from listserv.mail.message import ListInfo, ParsedMessage, Role
from listserv.outbound.notices import build_notice, may_answer
from listserv.outbound.queue import queue_message
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.schema import Inbound
from listserv.work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    work: Work
    session: Session
    now: datetime  # when the worker took it: one moment for the whole transaction
    inbound: Inbound
    lst: ListInfo
    role: Role
    tag: str  # what followed "+" in the recipient's local part (tokens, VERP)
    message: Message
    facts: ParsedMessage

    @property
    def settings(self) -> Settings:
        return self.work.settings

    @property
    def templates(self) -> Templates:
        return self.work.templates

    def render(self, template: str, **context: object) -> str:
        return self.templates.render_for(self.lst, template, **context)


def notify_sender(received: Received, kind: str, subject: str, text: str) -> bool:
    """A notice to the sender, unless the mail was automatic or one of this kind went today."""
    lst, facts = received.lst, received.facts
    if not may_answer(received.inbound.mail_from, facts):
        log.info("notice suppressed list=%s kind=%s reason=automatic-sender", lst.address, kind)
        return False
    if not queries.note_notice(received.session, facts.sender, kind, received.now.date().isoformat()):
        log.info("notice suppressed list=%s kind=%s reason=rate-limit", lst.address, kind)
        return False
    raw = build_notice(lst, facts.sender, subject, text, received.now, facts.message_id)
    queue_message(received.session, lst, "notice", raw, [facts.sender], received.now)
    return True


def authenticated(received: Received, address: str, what: str, kind: str) -> bool:
    """The sender's domain does not fail authentication (moderation_auth, as for held posts); when
    it does, the sender is told (once a day) that nothing was done. `kind`: whose mail, for the log."""
    domain = address.rpartition("@")[2]
    verdict = reply_verdict(received.inbound.raw, received.message, domain, received.settings)
    refusal = auth_refusal(verdict, received.settings.moderation_auth, domain)
    if refusal is None:
        return True
    log.warning("%s mail refused list=%s from=%s reason=%s", kind, received.lst.address, address, refusal)
    text = received.render("auth-refused.txt.j2", what=what, claimed=address, why=refusal, domain=domain)
    notify_sender(received, "auth-refused", f"Not done: {received.facts.subject or what}", text)
    return False
