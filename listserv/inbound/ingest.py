"""Commit raw mail durably, and nothing else. The 250 depends on this commit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from listserv.inbound.parse import content_hash, read_message_id
from listserv.message import Recipient, Role
from listserv.replies import NO_STORAGE, NO_SUCH_LIST, TOO_BIG, Refused
from listserv.store import queries

log = logging.getLogger(__name__)


class Receive(Protocol):
    def __call__(self, raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool: ...


def dedupe_key(message_id: str, raw: bytes) -> str:
    return hashlib.sha256(f"{message_id}\n{content_hash(raw)}".encode()).hexdigest()


def make_receive(sessions: Callable[[], Session], max_size: int) -> Receive:
    """receive(...) -> True if stored now, False if we already had it. Raises Refused."""

    def receive(raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool:
        message_id = read_message_id(raw)
        key = dedupe_key(message_id, raw)
        try:
            with sessions() as session, session.begin():
                lst = queries.load_list(session, rcpt.list_address)
                if lst is None:
                    raise Refused(NO_SUCH_LIST)
                limit = min(filter(None, (lst.max_message_size, max_size)))
                if rcpt.role is Role.POST and len(raw) > limit:
                    raise Refused(TOO_BIG)
                values = dict(
                    list_id=lst.id, role=rcpt.role.value, mail_from=mail_from[:998],
                    rcpt=rcpt_address[:998], message_id=message_id[:998], dedupe_key=key, raw=raw,
                )  # fmt: skip
                stored = queries.insert_inbound(session, values)
        except OperationalError as error:
            if any(word in str(error.orig).lower() for word in ("full", "no space")):
                raise Refused(NO_STORAGE) from error
            raise
        log.info("%s list=%s role=%s msgid=%s", "received" if stored else "duplicate",
                 rcpt.list_address, rcpt.role.value, message_id)  # fmt: skip
        return stored

    return receive
