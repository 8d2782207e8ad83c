"""Small database and mail helpers the hold queue's modules share."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.mail.message import ListInfo
from listserv.moderation.mail import build_facilitator_mail
from listserv.moderation.tables import ModerationAttempt, ModerationLog
from listserv.outbound.queue import queue_message
from listserv.store.schema import Member


def audit(session: Session, list_id: int, held_id: int | None, actor: str, verb: str, at: datetime, rules: str = "",
          detail: str = "") -> None:  # fmt: skip
    session.add(ModerationLog(list_id=list_id, held_id=held_id, at=at, actor=actor[:254],
                              verb=verb, rules=rules, detail=detail[:4000]))  # fmt: skip


def mail_facilitator(session: Session, lst: ListInfo, to: str, subject: str, text: str, now: datetime,
                     reply_to: str = "") -> None:  # fmt: skip
    raw = build_facilitator_mail(lst, to, subject, text, now, reply_to=reply_to)
    queue_message(session, lst, "notice", raw, [to], now)


def is_facilitator(session: Session, list_id: int, email: str) -> bool:
    query = select(Member.id).where(Member.list_id == list_id, Member.email == email, Member.role == "facilitator")
    return session.scalar(query) is not None


def note_attempt(session: Session, list_id: int, address: str, now: datetime) -> None:
    session.add(ModerationAttempt(list_id=list_id, address=address[:254], at=now))


def too_many_attempts(session: Session, list_id: int, address: str, limit: int, now: datetime) -> bool:
    since = now - timedelta(hours=1)
    count = session.scalar(
        select(func.count()).select_from(ModerationAttempt)
        .where(ModerationAttempt.list_id == list_id, ModerationAttempt.address == address[:254],
               ModerationAttempt.at > since)
    )  # fmt: skip
    return (count or 0) >= limit


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
