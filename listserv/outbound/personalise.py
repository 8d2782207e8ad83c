"""Per-recipient changes to a shared outbound message (personalised lists only).

Today: the one-click unsubscribe token in List-Unsubscribe (membership/links.py). A message
without a marker is returned as it is, and the secret is read only when there is one.
"""

from __future__ import annotations

from listserv.membership.links import has_marker, insert_member_token
from listserv.membership.secret import load_secret


def personalise(raw: bytes, rcpt: str, secret_file: str) -> bytes:
    if not has_marker(raw):
        return raw
    return insert_member_token(raw, rcpt, load_secret(secret_file))
