"""Rendering and queueing membership mail, with per-list templates and reply limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jinja2
from sqlalchemy.orm import Session

from listserv.received import Incoming, queue_message
from listserv.membership import store
from listserv.membership.compose import compose, confirm_address, split_subject
from listserv.membership.policy import ListPolicy
from listserv.mail.message import ListInfo, Role
from listserv.outbound.notices import may_answer
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.schema import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scope:
    """One list's membership work inside one transaction, at one moment (`now` is passed in
    so that tests and jobs can drive time)."""

    session: Session
    settings: Settings
    templates: Templates
    lst: ListInfo
    policy: ListPolicy
    now: datetime


def open_scope(session: Session, settings: Settings, templates: Templates, list_id: int,
               now: datetime | None = None) -> Scope:  # fmt: skip
    lst = queries.load_list_by_id(session, list_id)
    return Scope(session, settings, templates, lst, store.load_policy(session, list_id), now or utcnow())


def scope_of(incoming: Incoming, now: datetime | None = None) -> Scope:
    return open_scope(incoming.session, incoming.settings, incoming.templates, incoming.lst.id, now)


def may_answer_incoming(incoming: Incoming) -> bool:
    """Never act on or answer null senders, bounces or automatic mail (RELIABILITY 10)."""
    return may_answer(incoming.inbound.mail_from, incoming.facts)


def render(scope: Scope, template: str, **context: object) -> str:
    """A template, from templates_dir/lists/LIST@DOMAIN/ first (the list's own), else the usual one."""
    lst = scope.lst
    base: dict[str, object] = dict(
        list=lst, policy=scope.policy, guidelines=scope.policy.guidelines, post=lst.address,
        request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER), join=lst.service(Role.JOIN),
        leave=lst.service(Role.LEAVE), now=scope.now,
    )  # fmt: skip
    try:
        return scope.templates.render(f"lists/{lst.address}/{template}", **(base | context))
    except jinja2.TemplateNotFound as missing:
        if missing.name != f"lists/{lst.address}/{template}":
            raise
    return scope.templates.render(template, **(base | context))


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
    raw = compose(scope.lst, to, subject, text, in_reply_to, reply_address)
    queue_message(scope.session, scope.lst, "notice", raw, [to])
    log.info("membership mail list=%s template=%s", scope.lst.address, template.removesuffix(".txt.j2"))
    return True


def answer(scope: Scope, to: str, template: str, *, subject: str, in_reply_to: str = "", **context: object) -> bool:
    """A reply to someone's mail, at most reply_limit_per_address an hour to one address."""
    if not store.note_reply(scope.session, to, template, scope.now, scope.settings.reply_limit_per_address):
        log.info("membership reply suppressed list=%s reason=rate-limit", scope.lst.address)
        return False
    return send_with(scope, to, template, subject, context, in_reply_to=in_reply_to)
