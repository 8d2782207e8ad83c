"""What the hold rules read from the message itself. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from listserv.inbound.authres import dmarc_failures
from listserv.mail.parse import decode_value, header_values
from listserv.mail.text import message_text

MAX_BODY = 64 * 1024  # characters of text the pattern rule searches
MAX_HEADERS = 500
SPAM_HEADERS = ("x-spam-flag", "x-spam-status")


@dataclass(frozen=True)
class ContentFacts:
    size: int
    recipients: int
    has_subject: bool
    headers: tuple[tuple[str, str], ...]
    body: str
    spam_flag: bool
    auth_failures: tuple[str, ...]


def count_recipients(message: Message) -> int:
    values = [v for name in ("To", "Cc") for v in header_values(message, name)]
    return len({a.lower() for _, a in getaddresses(values) if "@" in a})


def read_content(message: Message, size: int, sender: str, trusted_ids: tuple[str, ...]) -> ContentFacts:
    headers = tuple((str(k).lower(), decode_value(v)) for k, v in list(message.raw_items())[:MAX_HEADERS])
    spam = any(v.strip().lower().startswith("yes") for k, v in headers if k in SPAM_HEADERS)
    domain = sender.rpartition("@")[2]
    results = [v for k, v in headers if k == "authentication-results"]
    return ContentFacts(
        size=size, recipients=count_recipients(message),
        has_subject=bool(decode_value(message.get("Subject", "") or "").strip()),
        headers=headers, body=message_text(message)[:MAX_BODY], spam_flag=spam,
        auth_failures=dmarc_failures(results, domain, trusted_ids) if domain else (),
    )  # fmt: skip
