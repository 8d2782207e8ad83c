"""Rendering and queueing membership mail, with per-list templates and reply limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo
from listserv.membership import store
from listserv.membership.compose import compose_notice, confirm_address, split_subject
from listserv.membership.policy import ListPolicy
from listserv.outbound.notices import may_answer
from listserv.outbound.queue import queue_message
from listserv.received import Received
from listserv.settings import Settings
from listserv.store import queries
from listserv.work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scope:
    """One list's membership work inside one transaction, at one moment."""

    work: Work
    session: Session
    lst: ListInfo
    policy: ListPolicy
    now: datetime

    @property
    def settings(self) -> Settings:
        return self.work.settings


def open_scope(work: Work, session: Session, list_id: int, now: datetime | None = None) -> Scope:
    lst = queries.load_list_by_id(session, list_id)
    return Scope(work, session, lst, store.load_membership_policy(session, list_id), now or work.now())


def scope_of(received: Received) -> Scope:
    return open_scope(received.work, received.session, received.lst.id, received.now)


def may_answer_received(received: Received) -> bool:
    """Never act on or answer null senders, bounces or automatic mail (RELIABILITY 10)."""
    return may_answer(received.inbound.mail_from, received.facts)


def render(scope: Scope, template: str, **context: object) -> str:
    """A membership template (the list's own first, see Templates.render_for), with the list's policy."""
    base = dict(policy=scope.policy, guidelines=scope.policy.guidelines, now=scope.now)
    return scope.work.templates.render_for(scope.lst, template, **(base | context))


def send(scope: Scope, to: str, template: str, *, subject: str, token: str = "", in_reply_to: str = "",
         **context: object) -> bool:  # fmt: skip
    """Render and queue one mail to `to`. With a token, replies go to LIST-confirm+TOKEN.
    False when the template renders empty (a list can switch a mail off that way)."""
    return send_with(scope, to, template, subject, context, token=token, in_reply_to=in_reply_to)


def send_with(scope: Scope, to: str, template: str, subject: str, context: Mapping[str, object], *,
              token: str = "", in_reply_to: str = "") -> bool:  # fmt: skip
    text = render(scope, template, **(dict(context) | {"to": to, "token": token}))
    subject, text = split_subject(text, subject)
    if not text.strip():
        return False
    reply_address = confirm_address(scope.lst, token) if token else ""
    raw = compose_notice(scope.lst, to, subject, text, scope.now, in_reply_to, reply_address)
    queue_message(scope.session, scope.lst, "notice", raw, [to], scope.now)
    log.info("membership mail list=%s template=%s", scope.lst.address, template.removesuffix(".txt.j2"))
    return True


def answer_request(
    scope: Scope, to: str, template: str, *, subject: str, in_reply_to: str = "", **context: object
) -> bool:
    """A reply to someone's mail, at most reply_limit_per_address an hour to one address."""
    if not store.note_reply(scope.session, to, template, scope.now, scope.settings.reply_limit_per_address):
        log.info("membership reply suppressed list=%s reason=rate-limit", scope.lst.address)
        return False
    return send_with(scope, to, template, subject, context, in_reply_to=in_reply_to)
