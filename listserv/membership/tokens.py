"""Capabilities in mail: confirmation tokens and signed one-click unsubscribe tokens. Pure.

Confirmation tokens are 128 bits from the CSPRNG, written in lower-case base32 (26
characters, safe in an address's local part whatever the MTA does to case); only their
SHA-256 is stored. Unsubscribe tokens are an HMAC-SHA256 over the list and the member's
address with the server secret (`secret_file`), so they need no storage, cannot be
guessed, and one member's token does nothing for another member or another list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

TOKEN_BYTES = 16  # 128 bits
MAC_BYTES = 16


def new_token() -> str:
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").rstrip("=").lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().lower().encode("ascii", "replace")).hexdigest()


def same_hash(stored: str, token: str) -> bool:
    """Constant-time comparison of a stored hash with a presented token's hash."""
    return hmac.compare_digest(stored.encode("ascii"), hash_token(token).encode("ascii"))


def _mac(secret: bytes, list_id: int, email: str) -> str:
    message = b"listserv-unsubscribe\x00%d\x00%s" % (list_id, email.encode("utf-8"))
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def unsubscribe_token(secret: bytes, list_id: int, email: str) -> str:
    """`<address, base64url>.<mac>`: names the member, and proves we wrote it."""
    name = base64.urlsafe_b64encode(email.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{name}.{_mac(secret, list_id, email)}"


def read_unsubscribe_token(secret: bytes, list_id: int, token: str) -> str | None:
    """The member address a token was made for, if it is genuine for this list."""
    name, dot, mac = token.partition(".")
    if not dot or not name or len(name) > 400 or len(mac) != 26:
        return None
    try:
        email = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    expected = _mac(secret, list_id, email)
    return email if hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii", "replace")) else None
