"""A post's permalink token, derived from its Message-ID alone. Pure.

The token is the bare Message-ID in URL-safe base64 without padding, so it survives
re-imports, renames and re-threading, and is safe in a URL and as a file name. A Message-ID
longer than LONG_ID octets (a file name holds 255) gets `h-` and a hash of it instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

LONG_ID = 180
HASHED = "h-"


def post_token(message_id: str) -> str:
    """The permalink's last segment for a bare Message-ID (no angle brackets)."""
    data = message_id.encode("utf-8", "surrogateescape")
    if len(data) > LONG_ID:
        return HASHED + hashlib.sha256(data).hexdigest()[:40]
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def message_id_of(token: str) -> str | None:
    """The Message-ID a short-form token names; None for the hashed form or a token that is not ours."""
    if token.startswith(HASHED) or not token or len(token) > 260:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if text and post_token(text) == token else None


def permalink(archive: str, message_id: str) -> str:
    """archive: the list's archive base (BASE/LIST), "" when it has none."""
    return f"{archive}/m/{post_token(message_id)}" if archive and message_id else ""


def permalink_path(list_name: str, message_id: str) -> str:
    """/LIST/m/TOKEN: a post's path under the web root, for a Message-ID with or without brackets."""
    return f"/{list_name}/m/{post_token(message_id.strip().strip('<>'))}"


def archive_base(public_url: str, list_local_part: str) -> str:
    """BASE/LIST, where a list's archive is served; "" without public_url."""
    base = public_url.strip().rstrip("/")
    return f"{base}/{list_local_part}" if base else ""
