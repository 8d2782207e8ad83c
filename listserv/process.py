"""The worker: received -> parsed -> decided -> stored -> planned for delivery.

Each message is claimed (attempts + 1, committed) before it is processed, so a
message that kills the process is quarantined after max_tries restarts instead
of crash-looping. Processing itself is one transaction: all or nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from email.utils import make_msgid

from sqlalchemy.orm import Session

from listserv.inbound import parse
from listserv.membership.commands import Command, first_text, read_command
from listserv.message import ListInfo, ParsedMessage, Role
from listserv.moderation.decide import Decision, decide
from listserv.moderation.rules import Action, Policy, PostFacts
from listserv.outbound.decorate import decorate
from listserv.outbound.headers import list_id
from listserv.outbound.notices import build_notice, forward_to_facilitators, may_answer
from listserv.outbound.render import Templates
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.schema import Inbound, InboundStatus, Post, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    sessions: Callable[[], Session]
    settings: Settings
    templates: Templates

    def process_next(self) -> bool:
        """Process the oldest waiting message. False when there is none."""
        with self.sessions() as session, session.begin():
            claimed = queries.claim_inbound(session, timedelta(seconds=self.settings.lease_seconds))
        if claimed is None:
            return False
        inbound_id, attempts = claimed
        if attempts > self.settings.max_tries:
            self._quarantine(inbound_id, "failed or interrupted %d times" % (attempts - 1))
            return True
        try:
            with self.sessions() as session, session.begin():
                self._process(session, session.get_one(Inbound, inbound_id))
        except Exception as error:
            log.exception("processing failed inbound=%s attempt=%s", inbound_id, attempts)
            reason = "".join(traceback.format_exception_only(error)).strip()
            if attempts >= self.settings.max_tries:
                self._quarantine(inbound_id, reason)
            else:
                self._retry_later(inbound_id, attempts, reason)
        return True

    def _retry_later(self, inbound_id: int, attempts: int, reason: str) -> None:
        delay = timedelta(seconds=self.settings.retry_seconds * attempts)
        with self.sessions() as session, session.begin():
            queries.retry_inbound_at(session, inbound_id, utcnow() + delay, reason)

    def _quarantine(self, inbound_id: int, reason: str) -> None:
        with self.sessions() as session, session.begin():
            queries.finish_inbound(session, inbound_id, InboundStatus.QUARANTINED, reason)
        log.error("quarantined inbound=%s reason=%s", inbound_id, reason)

    def _process(self, session: Session, inbound: Inbound) -> None:
        if inbound.status != InboundStatus.RECEIVED:
            return  # another node finished it
        lst = queries.load_list_by_id(session, inbound.list_id)
        message = parse.parse_bytes(inbound.raw)
        if not message.get("Message-ID"):
            message["Message-ID"] = make_msgid("listserv", domain=lst.domain)
        facts = parse.read_facts(message)
        role = Role(inbound.role)
        if role is Role.POST:
            self._post(session, inbound, lst, message, facts)
        elif role is Role.OWNER:
            self._forward(session, inbound, lst, message, facts)
        elif role is Role.REQUEST:
            self._request(session, inbound, lst, facts, message)
        else:
            log.info("bounce stored list=%s inbound=%s", lst.address, inbound.id)
        queries.finish_inbound(session, inbound.id, InboundStatus.DONE)

    def _post(self, session: Session, inbound: Inbound, lst: ListInfo, message: Message,
              facts: ParsedMessage) -> None:  # fmt: skip
        decision = decide(gather_facts(session, inbound, lst, facts), Policy())
        session.add(Post(
            list_id=lst.id, inbound_id=inbound.id, message_id=facts.message_id, sender=facts.sender,
            subject=facts.subject, in_reply_to=facts.in_reply_to, references=" ".join(facts.references),
            decision=decision.action.name.lower(), rules=decision.rule_ids, reason=decision.reason,
            defects=" ".join(facts.defects),
        ))  # fmt: skip
        log.info("decided list=%s msgid=%s action=%s rules=%s", lst.address, facts.message_id,
                 decision.action.name.lower(), decision.rule_ids or "-")  # fmt: skip
        if decision.action is Action.ACCEPT:
            self._distribute(session, lst, message, facts)
        elif decision.action is Action.REJECT:
            self._notify_rejected(session, inbound, lst, facts, decision)

    def _distribute(self, session: Session, lst: ListInfo, message: Message, facts: ParsedMessage) -> None:
        raw = decorate(message, lst, self.templates.render_footer(lst))
        outbound_id = queries.insert_outbound(session, dict(
            list_id=lst.id, kind="post", mail_from=lst.service(Role.BOUNCES), raw=raw,
            personalized=lst.personalize, created_at=utcnow(),
        ))  # fmt: skip
        count = queries.plan_fanout(session, outbound_id, lst.id, facts.sender, self.settings.batch_size)
        log.info("planned list=%s msgid=%s recipients=%d", lst.address, facts.message_id, count)

    def _notify_rejected(self, session: Session, inbound: Inbound, lst: ListInfo,
                         facts: ParsedMessage, decision: Decision) -> None:  # fmt: skip
        text = self.templates.render(
            "rejected.txt.j2", list=lst, subject=facts.subject, reason=decision.reason,
            owner=lst.service(Role.OWNER),
        )  # fmt: skip
        self.send_notice(session, inbound, lst, facts, "rejected", f"Not distributed: {facts.subject}", text)

    def send_notice(self, session: Session, inbound: Inbound, lst: ListInfo, facts: ParsedMessage,
                    kind: str, subject: str, text: str) -> bool:  # fmt: skip
        """Queue a notice to the sender, unless automatic or already sent today."""
        if not may_answer(inbound.mail_from, facts):
            log.info("notice suppressed list=%s kind=%s reason=automatic-sender", lst.address, kind)
            return False
        if not queries.note_notice(session, facts.sender, kind, utcnow().date().isoformat()):
            log.info("notice suppressed list=%s kind=%s reason=rate-limit", lst.address, kind)
            return False
        raw = build_notice(lst, facts.sender, subject, text, facts.message_id)
        self._queue(session, lst, "notice", raw, [facts.sender])
        return True

    def _queue(self, session: Session, lst: ListInfo, kind: str, raw: bytes, rcpts: list[str]) -> None:
        outbound_id = queries.insert_outbound(session, dict(
            list_id=lst.id, kind=kind, mail_from=lst.service(Role.BOUNCES), raw=raw,
            personalized=False, created_at=utcnow(),
        ))  # fmt: skip
        queries.add_deliveries(session, outbound_id, rcpts)

    def _forward(self, session: Session, inbound: Inbound, lst: ListInfo, message: Message,
                 facts: ParsedMessage) -> None:  # fmt: skip
        if lst.service(Role.OWNER) in facts.been_there:
            log.info("owner mail loop dropped list=%s msgid=%s", lst.address, facts.message_id)
            return
        rcpts = queries.facilitators(session, lst.id)
        if rcpts:
            self._queue(session, lst, "forward", forward_to_facilitators(message, lst), rcpts)
        log.info("forwarded to facilitators list=%s count=%d", lst.address, len(rcpts))

    def _request(self, session: Session, inbound: Inbound, lst: ListInfo, facts: ParsedMessage,
                 message: Message) -> None:  # fmt: skip
        command = read_command(facts.subject, first_text(message))
        context = dict(list=lst, request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER))
        if command is Command.UNSUBSCRIBE and queries.remove_member(session, lst.id, facts.sender):
            log.info("unsubscribed list=%s address=%s", lst.address, facts.sender)
            text = self.templates.render("goodbye.txt.j2", address=facts.sender, **context)
            self.send_notice(session, inbound, lst, facts, "goodbye", f"You have left {lst.name}", text)
            return
        text = self.templates.render("help.txt.j2", **context)
        self.send_notice(session, inbound, lst, facts, "help", f"Help for {lst.name}", text)


def gather_facts(session: Session, inbound: Inbound, lst: ListInfo, facts: ParsedMessage) -> PostFacts:
    return PostFacts(
        list_address=lst.address, list_ids=facts.list_ids, list_id=list_id(lst),
        been_there=facts.been_there, envelope_sender=inbound.mail_from.lower(), sender=facts.sender,
        sender_is_member=bool(facts.sender) and queries.is_member(session, lst.id, facts.sender),
        auto_submitted=facts.auto_submitted, precedence=facts.precedence,
    )  # fmt: skip
