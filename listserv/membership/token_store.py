"""Membership tokens in the database: only hashes are stored; each is used once and expires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from listserv.membership.tokens import hash_token, new_token, same_hash
from listserv.store.queries import rowcount
from listserv.membership.tables import MembershipToken

HOUR = timedelta(hours=1)


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


def create_token(session: Session, list_id: int, email: str, kind: str, now: datetime, days: int, *,
                 requested_by: str = "", delivery: str = "each", display_name: str = "") -> str:  # fmt: skip
    token = new_token()
    session.add(MembershipToken(
        list_id=list_id, email=email, kind=kind, token_hash=hash_token(token), delivery=delivery,
        display_name=display_name, requested_by=requested_by, created_at=now, expires_at=now + timedelta(days=days),
        used_at=None,
    ))  # fmt: skip
    session.flush()
    return token


def load_token(session: Session, list_id: int, token: str, now: datetime) -> TokenInfo | None:
    """The token of this list with this value (looked up by its hash, compared in constant time)."""
    row = session.scalar(select(MembershipToken).where(MembershipToken.token_hash == hash_token(token),
                                                       MembershipToken.list_id == list_id))  # fmt: skip
    if row is None or not same_hash(row.token_hash, token):
        return None
    usable = row.used_at is None and row.expires_at > now
    return TokenInfo(row.id, row.email, row.kind, row.delivery, row.display_name, row.requested_by,
                     row.created_at, usable)  # fmt: skip


def use_token(session: Session, token_id: int, now: datetime) -> bool:
    """Mark a token used; False if it was used (or expired) meanwhile: single use, even across nodes."""
    result = session.execute(
        update(MembershipToken)
        .where(MembershipToken.id == token_id, MembershipToken.used_at.is_(None), MembershipToken.expires_at > now)
        .values(used_at=now)
    )
    return bool(rowcount(result))


def retire_tokens(session: Session, list_id: int, email: str, kind: str, now: datetime) -> None:
    """Use up every open token of a kind about one address (the other facilitators' approvals)."""
    session.execute(update(MembershipToken).where(
        MembershipToken.list_id == list_id, MembershipToken.email == email, MembershipToken.kind == kind,
        MembershipToken.used_at.is_(None)).values(used_at=now))  # fmt: skip


def pending_confirmation(session: Session, list_id: int, email: str, kinds: Sequence[str], now: datetime) -> bool:
    """A usable token of these kinds went to the address within the hour."""
    query = select(MembershipToken.id).where(
        MembershipToken.list_id == list_id, MembershipToken.email == email, MembershipToken.kind.in_(kinds),
        MembershipToken.used_at.is_(None), MembershipToken.expires_at > now, MembershipToken.created_at > now - HOUR,
    )  # fmt: skip
    return session.scalar(query.limit(1)) is not None


CONFIRMATION_KINDS = ("subscribe", "invite", "unsubscribe")


def confirmations_to(session: Session, email: str, now: datetime) -> int:
    query = select(func.count()).select_from(MembershipToken).where(
        MembershipToken.email == email, MembershipToken.kind.in_(CONFIRMATION_KINDS),
        MembershipToken.created_at > now - HOUR,
    )  # fmt: skip
    return int(session.scalar(query) or 0)


def confirmations_for(session: Session, requester: str, now: datetime) -> int:
    if not requester:
        return 0
    query = select(func.count()).select_from(MembershipToken).where(
        MembershipToken.requested_by == requester, MembershipToken.created_at > now - HOUR,
    )  # fmt: skip
    return int(session.scalar(query) or 0)


def prune(session: Session, now: datetime, keep_days: int = 30) -> int:
    """Forget tokens used or expired more than keep_days ago (the history keeps what they did)."""
    cutoff = now - timedelta(days=keep_days)
    dead = (MembershipToken.expires_at < cutoff) | (MembershipToken.used_at < cutoff)
    return rowcount(session.execute(delete(MembershipToken).where(dead)))
