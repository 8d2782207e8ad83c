"""Archive addresses and member keys. Pure.

A post's permalink is BASE/LIST/m/TOKEN, TOKEN from its Message-ID alone (mail/permalinks.py).

A member key lets one member read a `members` archive until it expires: an HMAC-SHA256 with
the server secret over the list, the address and the expiry. Nothing is stored; a key stops
working when it expires or when the member leaves (checked on every request).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from listserv.mail.permalinks import archive_base

KEY_DAYS = 30  # how long a member's archive link works
MAC_BYTES = 16


class Access(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    PRIVATE = "private"


@dataclass(frozen=True)
class KeyCheck:
    email: str | None  # whose key it is, when the signature holds
    expired: bool = False


def _mac(secret: bytes, list_id: int, email: str, until: int) -> bytes:
    message = f"listserv-archive\x00{list_id}\x00{until}\x00{email}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def epoch(moment: datetime) -> int:
    """Unix time of a moment; a naive one is UTC, as everywhere in listserv."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def member_key(secret: bytes, list_id: int, email: str, now: datetime, days: int = KEY_DAYS) -> str:
    until = epoch(now + timedelta(days=days))
    return f"{_b64(email.encode())}.{until}.{_b64(_mac(secret, list_id, email, until))}"


def check_member_key(secret: bytes, list_id: int, key: str, now: datetime) -> KeyCheck:
    """Whose key this is (signature first, then expiry); KeyCheck(None) when tampered with or not a key."""
    parts = key.strip().split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(key) > 600:
        return KeyCheck(None)
    try:
        email, mac = _unb64(parts[0]).decode("utf-8"), _unb64(parts[2])
    except (binascii.Error, ValueError):
        return KeyCheck(None)
    until = int(parts[1])
    if not hmac.compare_digest(mac, _mac(secret, list_id, email, until)):
        return KeyCheck(None)
    return KeyCheck(email, expired=epoch(now) >= until)


def key_expiry(key: str) -> int:
    """The key's expiry as a Unix time (for the cookie's lifetime); 0 when unreadable."""
    parts = key.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def member_link(public_url: str, lst_local_part: str, key: str) -> str:
    """What a member follows: the archive's front page with their key (traded for a cookie)."""
    base = archive_base(public_url, lst_local_part)
    return f"{base}/?key={key}" if base else ""
