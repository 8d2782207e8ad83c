"""The readable text of a message: the first text part, or its HTML turned into text. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.charset import QP, Charset
from email.message import Message
from html import unescape
from html.parser import HTMLParser

MAX_DECODE = 256 * 1024  # bytes of a part we ever decode
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol", "hr"}
SKIPPED_TAGS = {"blockquote", "style", "script", "head", "title"}  # quoted text, and what is never shown
# Where a client's signature or quoted original starts in HTML: nothing after it is a command.
QUOTE_MARKERS = (
    ("id", "divrplyfwdmsg"), ("id", "appendonsend"), ("class", "gmail_quote"), ("class", "yahoo_quoted"),
    ("class", "moz-cite-prefix"), ("id", "mail-editor-reference-message-container"), ("name", "messagereplysection"),
    ("id", "signature"), ("class", "gmail_signature"), ("class", "moz-signature"),  # signatures: not a command
)  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self, keep_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_quotes = keep_quotes
        self.chunks: list[str] = []
        self.skipping = 0  # depth inside blockquote/style/...
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if not self.keep_quotes and is_quote_marker(attrs):
            self.stopped = True
            return
        if tag in SKIPPED_TAGS and not (self.keep_quotes and tag == "blockquote"):
            self.skipping += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in BLOCK_TAGS:
            self.line_break()

    def line_break(self) -> None:
        """A block starts or ends a line; <p>a</p><p>b</p> is two lines, not a blank one between."""
        while self.chunks and self.chunks[-1] == " ":
            self.chunks.pop()
        if self.chunks and not self.chunks[-1].endswith("\n"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping and not (self.keep_quotes and tag == "blockquote"):
            self.skipping -= 1
        elif tag in BLOCK_TAGS and tag != "br" and not self.stopped:
            self.line_break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skipping:
            self.chunks.append(re.sub(r"[ \t\r\n]+", " ", data))


def is_quote_marker(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        words = (value or "").lower().split()
        if any(name == key and marker in words for key, marker in QUOTE_MARKERS):
            return True
    return False


def html_to_text(html: str, keep_quotes: bool = False) -> str:
    """Visible text, one line per block; quoted originals (blockquote, Gmail's and Outlook's
    reply containers) are left out unless keep_quotes."""
    parser = _TextExtractor(keep_quotes)
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    text = unescape("".join(parser.chunks)).replace("\xa0", " ")
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_parts(message: Message) -> Iterator[Message]:
    """Leaf parts that are the message's own text, in order: not attachments, not inside
    an attached message."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        if part.get_content_maintype() == "message" and part is not message:
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack[0:0] = [p for p in payload if isinstance(p, Message)]
            continue
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        if part.get_content_maintype() == "text" and disposition != "attachment":
            yield part


def decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    data = payload[:MAX_DECODE]
    try:
        return data.decode(part.get_content_charset("utf-8") or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def message_text(message: Message, keep_quotes: bool = True) -> str:
    """The first text/plain part, else the first text/html part as text, else ""."""
    parts = list(body_parts(message))
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.get_content_type() == wanted:
                text = decode_part(part)
                return html_to_text(text, keep_quotes) if wanted == "text/html" else text.replace("\r\n", "\n")
    return ""


def excerpt(text: str, max_lines: int = 30, max_chars: int = 2000) -> str:
    """The first part of a text for a notice; '[...]' marks a cut."""
    text = text.strip()
    lines = text.splitlines()
    cut = "\n".join(lines[:max_lines])
    if len(cut) > max_chars:
        cut = cut[:max_chars].rsplit(" ", 1)[0]
    return cut + ("\n[...]" if cut != text else "")


def inline_text_part(text: str) -> Message:
    """A text/plain part shown inline: us-ascii as it is, anything else UTF-8 quoted-printable."""
    part = Message()
    if text.isascii():
        part.set_payload(text, "us-ascii")
    else:
        charset = Charset("utf-8")
        charset.body_encoding = QP
        part.set_payload(text, charset)
    del part["MIME-Version"]
    part["Content-Disposition"] = "inline"
    return part
