"""Queue mail the list writes itself (notices, forwards, answers) for delivery: one batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo, Role
from listserv.store import queries


def queue_message(session: Session, lst: ListInfo, kind: str, raw: bytes, rcpts: Sequence[str],
                  now: datetime) -> int:  # fmt: skip
    outbound_id = queries.insert_outbound(session, dict(
        list_id=lst.id, kind=kind, mail_from=lst.service(Role.BOUNCES), raw=raw, personalized=False, created_at=now,
    ))  # fmt: skip
    queries.add_deliveries(session, outbound_id, list(rcpts), now)
    return outbound_id
