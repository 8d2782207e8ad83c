"""Capabilities in mail: one kind of token for every address that lets someone act by replying
(LIST-moderate+TOKEN, LIST-confirm+TOKEN, LIST-digest+TOKEN, LIST-prompts+TOKEN, ...). Pure.

A token is 128 bits from the CSPRNG in lower-case base32 (26 characters: safe in an address's
local part whatever an MTA does to case). The database keeps only a keyed MAC of it
(HMAC-SHA256 with the server's secret_file), so neither a copy of the database nor a backup
can confirm a guessed token. Each token is bound to a list, a purpose and the address it was
sent to, expires, and is used once (store/tokens.py). Tokens issued before migration 0006
were stored as plain SHA-256; they are still found until they expire.

One-click unsubscribe links are signed the other way round, with no storage at all
(outbound/oneclick.py): they must keep working for as long as a member keeps the mail. So are
the references of discussion controls (LIST-do+REF, `signed_ref`): every member gets the same
copy of a post, so REF names the post, not a person; who may act is the sender's membership.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

TOKEN_BYTES = 16  # 128 bits
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # ours, and those issued before 0006 (urlsafe base64)


def new_token() -> str:
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").rstrip("=").lower()


def token_key(secret: bytes, token: str) -> str:
    """What the database keeps of a token: its keyed MAC."""
    return hmac.new(secret, b"listserv-token\x00" + token.strip().lower().encode("ascii", "replace"),
                    hashlib.sha256).hexdigest()  # fmt: skip


def lookup_keys(secret: bytes, token: str) -> tuple[str, ...]:
    """Every stored form a presented token may have: the keyed MAC, and the SHA-256 of older tokens."""
    text = token.strip()
    older = (hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest(),
             hashlib.sha256(text.lower().encode("ascii", "replace")).hexdigest())  # fmt: skip
    return tuple(dict.fromkeys((token_key(secret, text), *older)))


def is_token_shaped(text: str) -> bool:
    return bool(TOKEN_SHAPE.match(text))


def matches(stored: str, candidates: Sequence[str]) -> bool:
    """Constant-time comparison of a stored key with a presented token's keys."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(stored.encode("ascii"), candidate.encode("ascii"))
    return found


REF_MAC_BYTES = 10  # 80 bits, in 16 base32 characters: "POSTID-MAC" stays within a 26-character tag


def signed_ref(secret: bytes, list_id: int, post_id: int) -> str:
    """An unguessable, storage-free name for one post of one list: `POSTID-MAC`."""
    message = f"listserv-control\x00{list_id}\x00{post_id}".encode("ascii")
    mac = hmac.new(secret, message, hashlib.sha256).digest()[:REF_MAC_BYTES]
    return f"{post_id}-{base64.b32encode(mac).decode('ascii').lower()}"


def read_signed_ref(secret: bytes, list_id: int, ref: str) -> int | None:
    """The post a reference names, or None when it was not made by `signed_ref` for this list."""
    number, dash, _ = ref.strip().lower().partition("-")
    if not dash or not number.isdigit() or len(number) > 12:
        return None
    presented = ref.strip().lower().encode("ascii", "replace")
    expected = signed_ref(secret, list_id, int(number)).encode("ascii")
    return int(number) if hmac.compare_digest(expected, presented) else None
