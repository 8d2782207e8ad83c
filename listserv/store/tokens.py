"""Tokens in the database: issued with a keyed MAC stored, found in constant time, used once.

Every capability that acts by reply (moderation, membership, digests and prompts) goes
through these functions; listserv/tokens.py makes and checks the token values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from listserv.store.queries import rowcount
from listserv.store.schema import Token
from listserv.tokens import is_token_shaped, lookup_keys, matches, new_token, token_key


def issue_token(session: Session, secret: bytes, *, purpose: str, list_id: int, address: str, now: datetime,
                expires: datetime, target_id: int | None = None, requested_by: str = "",
                detail: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """A new token; only its keyed MAC is stored."""
    token = new_token()
    session.add(Token(
        token_hash=token_key(secret, token), purpose=purpose, list_id=list_id, address=address[:254],
        target_id=target_id, requested_by=requested_by[:254], detail=json.dumps(dict(detail or {})),
        created_at=now, expires_at=expires, used_at=None,
    ))  # fmt: skip
    session.flush()
    return token


def find_token(session: Session, secret: bytes, token: str, list_id: int, purposes: Sequence[str]) -> Token | None:
    """The token of this list and one of these purposes (used or not, expired or not), or None."""
    if not is_token_shaped(token.strip()):
        return None
    keys = lookup_keys(secret, token)
    row = session.scalar(select(Token).where(Token.token_hash.in_(keys)))
    if row is None or not matches(row.token_hash, keys) or row.list_id != list_id or row.purpose not in purposes:
        return None
    return row


def usable(row: Token, now: datetime) -> bool:
    return row.used_at is None and row.expires_at > now


def detail_of(row: Token) -> dict[str, str]:
    try:
        found = json.loads(row.detail or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def use_token(session: Session, token_id: int, now: datetime) -> bool:
    """Mark a token used; False if it was used (or expired) meanwhile: single use, even across nodes."""
    result = session.execute(
        update(Token).where(Token.id == token_id, Token.used_at.is_(None), Token.expires_at > now).values(used_at=now)
    )
    return bool(rowcount(result))


def retire_tokens(session: Session, list_id: int, purpose: str, now: datetime, *, address: str | None = None,
                  target_id: int | None = None) -> None:  # fmt: skip
    """Use up the open tokens of a purpose about one address or one target (the other facilitators')."""
    query = update(Token).where(Token.list_id == list_id, Token.purpose == purpose, Token.used_at.is_(None))
    if address is not None:
        query = query.where(Token.address == address)
    if target_id is not None:
        query = query.where(Token.target_id == target_id)
    session.execute(query.values(used_at=now))


def prune_tokens(session: Session, now: datetime, keep_days: int = 30) -> int:
    """Forget tokens used or expired more than keep_days ago (what they did is in each feature's history)."""
    cutoff = now - timedelta(days=keep_days)
    return rowcount(session.execute(delete(Token).where((Token.expires_at < cutoff) | (Token.used_at < cutoff))))
