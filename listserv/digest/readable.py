"""A digest message as a person reads it, for `digest preview`: the decoded text, never the
quoted-printable it travels in. Pure.

- a summary: its text part (or its HTML part);
- a plain digest (RFC 1153): its one text part;
- a MIME digest: the table of contents, each embedded post (its From, Date and Subject, a
  blank line, its text) between lines of 30 hyphens, then the end note.
"""

from __future__ import annotations

from email.message import Message

from listserv.mail.parse import decode_value, header_value, parse_bytes
from listserv.mail.text import decode_part, message_text

SHOWN_HEADERS = ("From", "Date", "Subject", "Reply-To")
SEPARATOR = "-" * 30


def first_part(message: Message, content_type: str) -> Message | None:
    return next((part for part in message.walk() if part.get_content_type() == content_type), None)


def embedded_text(part: Message) -> str:
    """One message/rfc822 part of a MIME digest: a few headers, then its text."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return ""
    lines = [f"{name}: {value}" for name in SHOWN_HEADERS if (value := decode_value(header_value(inner, name)))]
    return "\n".join(lines) + "\n\n" + message_text(inner).strip("\n")


def mime_digest_text(message: Message) -> str:
    chunks: list[str] = []
    for part in message.get_payload() if message.is_multipart() else []:
        if not isinstance(part, Message):
            continue
        if part.get_content_type() == "multipart/digest":
            posts = [embedded_text(p) for p in part.get_payload() if isinstance(p, Message)]
            chunks.append(f"\n{SEPARATOR}\n".join(posts))
        elif part.get_content_maintype() == "text":
            chunks.append(decode_part(part).replace("\r\n", "\n").strip("\n"))
    return f"\n{SEPARATOR}\n".join(chunks) + "\n"


def readable_text(raw: bytes, html: bool = False) -> str:
    """The text a reader sees in this digest (`html`: a summary's HTML part instead)."""
    message = parse_bytes(raw)
    if message.get_content_type() == "multipart/mixed":
        return mime_digest_text(message)
    part = first_part(message, "text/html" if html else "text/plain")
    if part is None:
        part = first_part(message, "text/plain")
    return decode_part(part).replace("\r\n", "\n") if part is not None else ""
