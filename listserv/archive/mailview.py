"""A stored message as the archive shows it: text with quotes folded, sanitised HTML, attachments. Pure.

Text parts are shown as text (the templates escape them); a message with only HTML is
cleaned by nh3 (ammonia): no script, no event handlers, no styles, no images (remote images
track readers), links made safe. Nothing from the mail reaches a page any other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

import nh3

from listserv.mail.parse import decode_value, header_value, parse_bytes, sender_of
from listserv.mail.text import body_parts, decode_part

TAGS = frozenset(nh3.ALLOWED_TAGS) - {"img", "map", "area", "picture", "source", "video", "audio"}
ATTRIBUTES = {tag: set(names) - {"style", "src", "srcset"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ATTACHMENTS = 100


@dataclass(frozen=True)
class Block:
    """Consecutive lines of a text part: the author's own, or quoted (shown folded)."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Attachment:
    index: int  # position among the message's leaf parts: stable for the same raw bytes
    filename: str  # safe to put in a URL and a file system
    content_type: str
    size: int


@dataclass(frozen=True)
class MailView:
    author: str  # the display name, else the address
    address: str
    subject: str
    blocks: tuple[Block, ...]
    html: str  # sanitised, when the message has no text part
    attachments: tuple[Attachment, ...]


def clean_html(html: str) -> str:
    return nh3.clean(html, tags=set(TAGS), attributes=ATTRIBUTES, url_schemes=set(URL_SCHEMES),
                     link_rel="nofollow noopener noreferrer")  # fmt: skip


def text_blocks(text: str) -> tuple[Block, ...]:
    """Lines starting with '>' are quoted; an 'On ... wrote:' line just before a quote goes with it."""
    blocks: list[Block] = []
    lines: list[str] = []
    quoted = False
    for line in text.replace("\r\n", "\n").split("\n"):
        is_quote = line.lstrip().startswith(">")
        if is_quote != quoted and lines:
            intro = lines.pop() if is_quote and lines[-1].rstrip().endswith(":") else None
            if lines:
                blocks.append(Block("\n".join(lines).strip("\n"), quoted))
            lines = [intro] if intro is not None else []
        quoted = is_quote
        lines.append(line)
    if lines:
        blocks.append(Block("\n".join(lines).strip("\n"), quoted))
    return tuple(block for block in blocks if block.text.strip())


def safe_filename(name: str, index: int) -> str:
    cleaned = UNSAFE_NAME.sub("_", name.replace("\\", "/").rpartition("/")[2]).strip("._")[:100]
    return cleaned or f"attachment-{index}.bin"


def leaves(message: Message) -> list[Message]:
    return [part for part in message.walk() if not part.is_multipart()][: MAX_ATTACHMENTS * 4]


def attachments_of(message: Message) -> list[tuple[Attachment, Message]]:
    shown = {id(part) for part in body_parts(message)}
    found: list[tuple[Attachment, Message]] = []
    for index, part in enumerate(leaves(message)):
        if id(part) in shown or part is message:
            continue
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        name = safe_filename(decode_value(part.get_filename() or ""), index)
        found.append((Attachment(index, name, part.get_content_type(), size), part))
    return found[:MAX_ATTACHMENTS]


def view_message(raw: bytes) -> MailView:
    message = parse_bytes(raw)
    address, name = sender_of(message)
    parts = list(body_parts(message))
    plain = next((p for p in parts if p.get_content_type() == "text/plain"), None)
    html = next((p for p in parts if p.get_content_type() == "text/html"), None)
    blocks = text_blocks(decode_part(plain)) if plain is not None else ()
    cleaned = clean_html(decode_part(html)) if plain is None and html is not None else ""
    return MailView(author=name or address or "(unknown)", address=address,
                    subject=decode_value(header_value(message, "Subject")), blocks=blocks, html=cleaned,
                    attachments=tuple(a for a, _ in attachments_of(message)))  # fmt: skip


def attachment_data(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    for attachment, part in attachments_of(parse_bytes(raw)):
        if attachment.index == index:
            payload = part.get_payload(decode=True)
            return attachment, payload if isinstance(payload, bytes) else b""
    return None
