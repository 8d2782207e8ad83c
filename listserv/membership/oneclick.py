"""One-click unsubscribe (RFC 8058): acting on a signed link (the links are made in outbound/oneclick.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from listserv.mail.message import ListInfo
from listserv.membership import store
from listserv.membership.lifecycle import leave
from listserv.membership.mail import open_scope
from listserv.outbound.oneclick import read_unsubscribe_token
from listserv.secret import load_secret
from listserv.store import queries
from listserv.store.schema import MailingList
from listserv.work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkCheck:
    valid: bool
    lst: ListInfo | None = None
    email: str = ""
    was_member: bool = False


def check_link(work: Work, list_id: int, token: str) -> LinkCheck:
    """Who a link is for, without changing anything (GET: link scanners must not unsubscribe anyone)."""
    email = read_unsubscribe_token(load_secret(work.settings.secret_file), list_id, token)
    if email is None:
        return LinkCheck(False)
    with work.sessions() as session:
        row = session.get(MailingList, list_id)
        if row is None:
            return LinkCheck(False)
        is_member = store.find_member(session, list_id, email) is not None
        return LinkCheck(True, queries.list_info(row), email, is_member)


def unsubscribe_by_link(work: Work, list_id: int, token: str) -> LinkCheck:
    """POST: the member the link was signed for leaves now (goodbye mail, wait-list moves up)."""
    email = read_unsubscribe_token(load_secret(work.settings.secret_file), list_id, token)
    if email is None:
        return LinkCheck(False)
    with work.sessions() as session, session.begin():
        if session.get(MailingList, list_id) is None:
            return LinkCheck(False)
        scope = open_scope(work, session, list_id)
        was_member = leave(scope, email, "one-click")
    log.info("one-click unsubscribe list=%s was_member=%s", scope.lst.address, was_member)
    return LinkCheck(True, scope.lst, email, was_member)
