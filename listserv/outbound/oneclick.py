"""RFC 8058 one-click unsubscribe: signed links, and headers made per member from a marker. Pure.

Unsubscribe tokens are an HMAC-SHA256 over the list and the member's address with the
server secret (`secret_file`), so they need no storage, cannot be guessed, and one member's
token does nothing for another member or another list.

A post to a list with `one_click_unsubscribe` is decorated once, with

    List-Unsubscribe: <BASE/unsubscribe/LIST_ID/%%unsubscribe-token:LIST_ID%%>,
     <mailto:LIST-leave@domain?subject=unsubscribe>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

and the sender (personalised path, one transaction per member) replaces the marker with that
member's signed token. Only the List-Unsubscribe field we wrote is touched: a marker a poster
puts anywhere else (Subject, body) stays as it is, so no member's token can leak into text
that others see when they reply.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

MAC_BYTES = 16
MARKER = re.compile(rb"%%unsubscribe-token:(\d{1,12})%%")
FIELD = b"list-unsubscribe:"
POST_FIELD = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"


def public_base(public_url: str) -> str | None:
    """Where links in mail point: the public_url setting. None when it is empty: then mail carries
    no links at all (never http_listen's address, which only works on the server itself)."""
    return public_url.strip().rstrip("/") or None


def unsubscribe_path(list_id: int, token: str) -> str:
    return f"/unsubscribe/{list_id}/{token}"


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """(header block with its last CRLF, the rest starting with the blank line)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return raw, b""
    return raw[: end + 2], raw[end + 2 :]


def header_lines(head: bytes) -> list[bytes]:
    return head.split(b"\r\n")[:-1] if head.endswith(b"\r\n") else head.split(b"\r\n")


def mark_unsubscribe(raw: bytes, base: str, list_id: int, leave_address: str) -> bytes:
    """Replace the List-Unsubscribe field of a decorated message by the one-click pair with a marker."""
    head, rest = split_head(raw)
    url = base + unsubscribe_path(list_id, f"%%unsubscribe-token:{list_id}%%")
    field = [f"List-Unsubscribe: <{url}>,".encode("ascii", "replace"),
             f" <mailto:{leave_address}?subject=unsubscribe>".encode("ascii", "replace"), POST_FIELD]  # fmt: skip
    kept: list[bytes] = []
    skipping = False
    for line in header_lines(head):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        lower = line.lower()
        skipping = lower.startswith(FIELD) or lower.startswith(b"list-unsubscribe-post:")
        if not skipping:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept + field) + rest


def insert_member_token(raw: bytes, rcpt: str, secret: bytes) -> bytes:
    """The member's copy: the marker in our List-Unsubscribe field becomes their signed token."""
    head, rest = split_head(raw)
    out: list[bytes] = []
    inside = False
    for line in header_lines(head):
        if line[:1] not in (b" ", b"\t"):
            inside = line.lower().startswith(FIELD)
        if inside:
            line = MARKER.sub(lambda m: unsubscribe_token(secret, int(m[1]), rcpt).encode("ascii"), line)
        out.append(line)
    return b"".join(line + b"\r\n" for line in out) + rest


def has_marker(raw: bytes) -> bool:
    """Whether our List-Unsubscribe field carries a marker (cheap when the message has none at all)."""
    head = split_head(raw)[0]
    if MARKER.search(head) is None:
        return False
    inside = False
    for line in header_lines(head):
        if line[:1] not in (b" ", b"\t"):
            inside = line.lower().startswith(FIELD)
        if inside and MARKER.search(line):
            return True
    return False


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
