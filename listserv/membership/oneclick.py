"""One-click unsubscribe (RFC 8058): marking a list's posts, and acting on a signed link."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from listserv.membership import store
from listserv.membership.lifecycle import leave
from listserv.membership.links import mark_unsubscribe, public_base
from listserv.membership.mail import open_scope
from listserv.membership.secret import load_secret
from listserv.membership.tokens import read_unsubscribe_token
from listserv.mail.message import ListInfo, Role
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.schema import MailingList, utcnow

log = logging.getLogger(__name__)


def mark_one_click(session: Session, settings: Settings, lst: ListInfo, raw: bytes) -> tuple[bytes, bool]:
    """A decorated post for a list with one_click_unsubscribe gets the one-click List-Unsubscribe
    pair with a member marker; True means it must go the personalised way (one copy per member)."""
    enabled = session.scalar(select(MailingList.one_click_unsubscribe).where(MailingList.id == lst.id))
    if not enabled:
        return raw, False
    base = public_base(settings.public_url, settings.http_listen.host, settings.http_listen.port)
    return mark_unsubscribe(raw, base, lst.id, lst.service(Role.LEAVE)), True


@dataclass(frozen=True)
class LinkCheck:
    valid: bool
    lst: ListInfo | None = None
    email: str = ""
    was_member: bool = False


def check_link(sessions: Callable[[], Session], settings: Settings, list_id: int, token: str) -> LinkCheck:
    """Who a link is for, without changing anything (GET: link scanners must not unsubscribe anyone)."""
    email = read_unsubscribe_token(load_secret(settings.secret_file), list_id, token)
    if email is None:
        return LinkCheck(False)
    with sessions() as session:
        row = session.get(MailingList, list_id)
        if row is None:
            return LinkCheck(False)
        is_member = store.find_member(session, list_id, email) is not None
        return LinkCheck(True, queries.list_info(row), email, is_member)


def unsubscribe_by_link(sessions: Callable[[], Session], settings: Settings, templates: Templates, list_id: int,
                        token: str, now: datetime | None = None) -> LinkCheck:  # fmt: skip
    """POST: the member the link was signed for leaves now (goodbye mail, wait-list moves up)."""
    email = read_unsubscribe_token(load_secret(settings.secret_file), list_id, token)
    if email is None:
        return LinkCheck(False)
    with sessions() as session, session.begin():
        if session.get(MailingList, list_id) is None:
            return LinkCheck(False)
        scope = open_scope(session, settings, templates, list_id, now or utcnow())
        was_member = leave(scope, email, "one-click")
    log.info("one-click unsubscribe list=%s was_member=%s", scope.lst.address, was_member)
    return LinkCheck(True, scope.lst, email, was_member)
