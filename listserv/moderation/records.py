"""Small database and mail helpers the hold queue's modules share."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.received import queue_message
from listserv.mail.message import ListInfo, Role
from listserv.moderation.mail import build_facilitator_mail
from listserv.render import Templates
from listserv.store import queries
from listserv.store.schema import Member, utcnow
from listserv.moderation.tables import ModerationAttempt, ModerationLog

TOKEN_BYTES = 20  # 160 bits from the operating system's CSPRNG


def new_token() -> tuple[str, str]:
    """(token for the reply address, the hash we store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def audit(session: Session, list_id: int, held_id: int | None, actor: str, verb: str, rules: str = "",
          detail: str = "", at: datetime | None = None) -> None:  # fmt: skip
    session.add(ModerationLog(list_id=list_id, held_id=held_id, at=at or utcnow(), actor=actor[:254],
                              verb=verb, rules=rules, detail=detail[:4000]))  # fmt: skip


def render(templates: Templates, lst: ListInfo, name: str, **context: object) -> str:
    base = dict(list=lst, request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER))
    return templates.render(name, **(base | context))


def mail_facilitator(session: Session, lst: ListInfo, to: str, subject: str, text: str,
                     reply_to: str = "") -> None:  # fmt: skip
    raw = build_facilitator_mail(lst, to, subject, text, reply_to=reply_to)
    queue_message(session, lst, "notice", raw, [to])


def is_facilitator(session: Session, list_id: int, email: str) -> bool:
    query = select(Member.id).where(Member.list_id == list_id, Member.email == email, Member.role == "facilitator")
    return session.scalar(query) is not None


def facilitators(session: Session, list_id: int) -> list[str]:
    return queries.facilitators(session, list_id)


def note_attempt(session: Session, list_id: int, address: str) -> None:
    session.add(ModerationAttempt(list_id=list_id, address=address[:254], at=utcnow()))


def too_many_attempts(session: Session, list_id: int, address: str, limit: int) -> bool:
    since = utcnow() - timedelta(hours=1)
    count = session.scalar(
        select(func.count()).select_from(ModerationAttempt)
        .where(ModerationAttempt.list_id == list_id, ModerationAttempt.address == address[:254],
               ModerationAttempt.at > since)
    )  # fmt: skip
    return (count or 0) >= limit


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
