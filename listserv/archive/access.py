"""Who may read a list's archive, and the link a member asks for (docs/archive.md).

`public`: anyone. `private`: no archive pages (404). `members`: a member follows a signed,
expiring link (links.member_key), mailed on request (`archive` to LIST-request, or the form
on the archive's pages); the server keeps it in a cookie and checks on every page that the
key still holds and its owner is still a member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from listserv.archive.links import Access, KeyCheck, check_member_key, member_key, member_link
from listserv.mail.addresses import normalize_address
from listserv.mail.message import ListInfo
from listserv.outbound.notices import build_notice
from listserv.outbound.queue import queue_message
from listserv.store.queries import is_member, note_notice
from listserv.work import Work

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    OPEN = "open"  # show the page
    OFF = "off"  # no archive (private, or no such list): 404
    NEEDED = "needed"  # members only, no key shown
    EXPIRED = "expired"
    INVALID = "invalid"  # tampered with, not a key, or its owner left


@dataclass(frozen=True)
class AccessCheck:
    verdict: Verdict
    email: str = ""


def check_access(work: Work, session: Session, lst: ListInfo, key: str | None, now: datetime) -> AccessCheck:
    if lst.archive_access == Access.PUBLIC:
        return AccessCheck(Verdict.OPEN)
    if lst.archive_access != Access.MEMBERS:
        return AccessCheck(Verdict.OFF)
    if not key:
        return AccessCheck(Verdict.NEEDED)
    check: KeyCheck = check_member_key(work.secret(), lst.id, key, now)
    if check.email is None:
        return AccessCheck(Verdict.INVALID)
    if check.expired:
        return AccessCheck(Verdict.EXPIRED, check.email)
    if not is_member(session, lst.id, check.email):
        return AccessCheck(Verdict.INVALID, check.email)
    return AccessCheck(Verdict.OPEN, check.email)


def link_for(work: Work, lst: ListInfo, email: str, now: datetime) -> str:
    """A member's archive link ("" without public_url)."""
    return member_link(work.settings.public_url, lst.local_part, member_key(work.secret(), lst.id, email, now))


def mail_link(work: Work, session: Session, lst: ListInfo, email: str, now: datetime) -> bool:
    """Queue a member's link (at most one a day per address); False when nothing was sent.
    The web form answers the same either way, so it tells no one who is a member."""
    email = normalize_address(email.strip())
    if lst.archive_access != Access.MEMBERS or "@" not in email or not is_member(session, lst.id, email):
        return False
    link = link_for(work, lst, email, now)
    if not link or not note_notice(session, email, f"archive-link:{lst.id}", now.date().isoformat()):
        return False
    text = work.templates.render_for(lst, "archive-link.txt.j2", link=link)
    queue_message(session, lst, "notice", build_notice(lst, email, f"Your link to the {lst.name} archive", text, now),
                  [email], now)  # fmt: skip
    log.info("archive link queued list=%s to=%s", lst.address, email)
    return True
