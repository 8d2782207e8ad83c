"""Membership's tokens (store/tokens.py keeps them): confirmations, invitations, approvals,
leave confirmations and renewals, and the counts that limit how many go out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.store.schema import Token
from listserv.store.tokens import detail_of, find_token, issue_token, usable

HOUR = timedelta(hours=1)
KINDS = ("subscribe", "approve", "invite", "unsubscribe", "renew")
CONFIRMATION_KINDS = ("subscribe", "invite", "unsubscribe")


@dataclass(frozen=True)
class TokenInfo:
    id: int
    email: str
    kind: str
    delivery: str
    display_name: str
    requested_by: str
    created_at: datetime
    usable: bool  # not used and not expired


def create_token(session: Session, secret: bytes, list_id: int, email: str, kind: str, now: datetime, days: int, *,
                 requested_by: str = "", delivery: str = "each", display_name: str = "") -> str:  # fmt: skip
    return issue_token(session, secret, purpose=kind, list_id=list_id, address=email, now=now,
                       expires=now + timedelta(days=days), requested_by=requested_by,
                       detail={"delivery": delivery, "display_name": display_name})  # fmt: skip


def load_token(session: Session, secret: bytes, list_id: int, token: str, now: datetime) -> TokenInfo | None:
    """The membership token of this list with this value, or None."""
    row = find_token(session, secret, token, list_id, KINDS)
    if row is None:
        return None
    detail = detail_of(row)
    return TokenInfo(row.id, row.address, row.purpose, detail.get("delivery", "each"), detail.get("display_name", ""),
                     row.requested_by, row.created_at, usable(row, now))  # fmt: skip


def pending_confirmation(session: Session, list_id: int, email: str, kinds: Sequence[str], now: datetime) -> bool:
    """A usable token of these kinds went to the address within the hour."""
    query = select(Token.id).where(
        Token.list_id == list_id, Token.address == email, Token.purpose.in_(kinds), Token.used_at.is_(None),
        Token.expires_at > now, Token.created_at > now - HOUR,
    )  # fmt: skip
    return session.scalar(query.limit(1)) is not None


def confirmations_to(session: Session, email: str, now: datetime) -> int:
    query = select(func.count()).select_from(Token).where(
        Token.address == email, Token.purpose.in_(CONFIRMATION_KINDS), Token.created_at > now - HOUR)  # fmt: skip
    return int(session.scalar(query) or 0)


def confirmations_for(session: Session, requester: str, now: datetime) -> int:
    if not requester:
        return 0
    query = select(func.count()).select_from(Token).where(Token.requested_by == requester, Token.purpose.in_(KINDS),
                                                           Token.created_at > now - HOUR)  # fmt: skip
    return int(session.scalar(query) or 0)


def waiting_replies(session: Session, list_id: int, email: str, now: datetime) -> list[Token]:
    """The membership tokens still open for an address (what `member show` lists)."""
    query = select(Token).where(Token.list_id == list_id, Token.address == email, Token.purpose.in_(KINDS),
                                Token.used_at.is_(None), Token.expires_at > now).order_by(Token.id)  # fmt: skip
    return list(session.scalars(query))
