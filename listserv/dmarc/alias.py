"""Reverse aliases: LIST-author+TOKEN@domain forwards to the author of a post whose From the list
rewrote (`dmarc_author_reply alias`). The token is the one token mechanism's (listserv/tokens.py):
only its keyed MAC is stored, it names the author and the list, and it expires after ALIAS_DAYS.
It is not single use: every member may reply, as often as they like, until it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo, Role
from listserv.store.tokens import find_token, issue_token, usable

PURPOSE = "author-alias"
ALIAS_DAYS = 90


def issue_alias(session: Session, secret: bytes, lst: ListInfo, author: str, now: datetime) -> str:
    """A new alias address for this author on this list."""
    token = issue_token(session, secret, purpose=PURPOSE, list_id=lst.id, address=author, now=now,
                        expires=now + timedelta(days=ALIAS_DAYS))  # fmt: skip
    return f"{lst.local_part}-{Role.AUTHOR.value}+{token}@{lst.domain}"


def find_author(session: Session, secret: bytes, lst: ListInfo, token: str, now: datetime) -> str | None:
    """The author an alias forwards to; None for an unknown or expired alias."""
    row = find_token(session, secret, token, lst.id, (PURPOSE,))
    return row.address if row is not None and usable(row, now) else None
