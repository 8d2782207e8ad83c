"""Membership mail as bytes: templates may start with a Subject line; tokens ride in From/Reply-To. Pure."""

from __future__ import annotations

from datetime import datetime
from email.utils import formataddr

from listserv.mail.message import ListInfo, Role
from listserv.mail.parse import clean_header_value, parse_bytes
from listserv.outbound.decorate import serialize
from listserv.outbound.notices import build_notice


def split_subject(text: str, default: str) -> tuple[str, str]:
    """A template's optional first line 'Subject: ...' and the text after it."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if first.lower().startswith("subject:"):
        return clean_header_value(first[8:]) or default, rest.lstrip("\n")
    return default, text


def confirm_address(lst: ListInfo, token: str) -> str:
    """LIST-confirm+TOKEN@domain: replying to it answers the confirmation."""
    return f"{lst.local_part}-{Role.CONFIRM.value}+{token}@{lst.domain}"


def compose_notice(lst: ListInfo, to: str, subject: str, text: str, now: datetime, in_reply_to: str = "",
            reply_address: str = "") -> bytes:  # fmt: skip
    """A notice from the list; with reply_address, it is also the From and Reply-To, so that
    any mail client's reply lands there (a confirmation's LIST-confirm+TOKEN)."""
    raw = build_notice(lst, to, subject, text, now, in_reply_to)
    if not reply_address:
        return raw
    message = parse_bytes(raw)
    del message["From"]
    message["From"] = formataddr((clean_header_value(lst.name), reply_address))
    message["Reply-To"] = reply_address
    return serialize(message)
