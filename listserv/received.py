"""What every role handler receives, and the one way to queue mail the list writes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo, ParsedMessage, Role
from listserv.outbound.notices import build_notice, may_answer
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.schema import Inbound, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """One received message being processed, inside the worker's transaction."""

    session: Session
    settings: Settings
    templates: Templates
    inbound: Inbound
    lst: ListInfo
    role: Role
    tag: str  # what followed "+" in the recipient's local part (tokens, VERP)
    message: Message
    facts: ParsedMessage

    def render(self, template: str, **context: object) -> str:
        lst = self.lst
        base = dict(list=lst, request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER))
        return self.templates.render(template, **(base | context))


def queue_message(session: Session, lst: ListInfo, kind: str, raw: bytes, rcpts: Sequence[str]) -> int:
    """Queue mail the list writes (notices, forwards) for delivery: one batch."""
    outbound_id = queries.insert_outbound(session, dict(
        list_id=lst.id, kind=kind, mail_from=lst.service(Role.BOUNCES), raw=raw,
        personalized=False, created_at=utcnow(),
    ))  # fmt: skip
    queries.add_deliveries(session, outbound_id, list(rcpts))
    return outbound_id


def notify_sender(incoming: Incoming, kind: str, subject: str, text: str) -> bool:
    """A notice to the sender, unless the mail was automatic or one of this kind went today."""
    lst, facts = incoming.lst, incoming.facts
    if not may_answer(incoming.inbound.mail_from, facts):
        log.info("notice suppressed list=%s kind=%s reason=automatic-sender", lst.address, kind)
        return False
    if not queries.note_notice(incoming.session, facts.sender, kind, utcnow().date().isoformat()):
        log.info("notice suppressed list=%s kind=%s reason=rate-limit", lst.address, kind)
        return False
    raw = build_notice(lst, facts.sender, subject, text, facts.message_id)
    queue_message(incoming.session, lst, "notice", raw, [facts.sender])
    return True
