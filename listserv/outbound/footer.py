"""Add the list footer without breaking the message's MIME structure. Pure.

- text/plain, text/html: appended to the part, in its own charset and
  transfer encoding;
- multipart/alternative: appended to each text alternative (for
  multipart/related, to its root part);
- multipart/mixed: a footer part is attached at the end;
- anything else (signed, encrypted, other types) or text we cannot decode:
  wrapped in multipart/mixed with the original untouched as the first part.
"""

from __future__ import annotations

import base64
import quopri
import re
from collections.abc import Callable
from email.message import Message

from listserv.mail.text import inline_text_part

BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
TEXT_ENCODINGS = ("7bit", "8bit", "binary", "quoted-printable", "base64")


def add_footer(message: Message, text: str, html: str) -> Message:
    """The message with the footer added (the same object, or a new wrapper)."""
    if not text.strip():
        return message
    ctype = message.get_content_type()
    if ctype == "multipart/mixed" and isinstance(message.get_payload(), list):
        message.attach(inline_text_part(text))
        return message
    if ctype == "multipart/alternative" and _append_to_alternatives(message, text, html):
        return message
    if ctype == "text/plain" and _rewrite_text(message, lambda body: _append_plain(body, text)):
        return message
    if ctype == "text/html" and _rewrite_text(message, lambda body: _append_html(body, html)):
        return message
    return _wrap(message, text)


def _append_plain(body: str, footer: str) -> str:
    return (body if body.endswith("\n") or not body else body + "\n") + "\n" + footer


def _append_html(body: str, footer: str) -> str:
    ends = list(BODY_END.finditer(body))
    if not ends:
        return body + footer
    cut = ends[-1].start()
    return body[:cut] + footer + body[cut:]


def _append_to_alternatives(message: Message, text: str, html: str) -> bool:
    changed = False
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        related = part.get_payload() if part.get_content_type() == "multipart/related" else None
        if isinstance(related, list) and related and isinstance(related[0], Message):
            part = related[0]  # the root, usually the HTML that shows the other parts
        if part.is_multipart():
            continue
        if part.get_content_type() == "text/plain":
            changed |= _rewrite_text(part, lambda body: _append_plain(body, text))
        elif part.get_content_type() == "text/html":
            changed |= _rewrite_text(part, lambda body: _append_html(body, html))
    return changed


def _rewrite_text(part: Message, change: Callable[[str], str]) -> bool:
    """Decode a text part, change it, and encode it back the same way. False if we can't."""
    encoding = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    charset = part.get_content_charset("us-ascii")
    payload = part.get_payload(decode=True)
    if encoding not in TEXT_ENCODINGS or not isinstance(payload, bytes):
        return False
    try:
        body = payload.decode(charset)
        if body.encode(charset) != payload:
            return False  # not a charset we can write back as it was
    except (LookupError, ValueError):  # unknown charset, bad bytes (UnicodeError is a ValueError)
        return False
    new = change(body)
    try:
        data = new.encode(charset)
    except UnicodeEncodeError:
        charset, data = "utf-8", new.encode("utf-8")
        part.set_param("charset", charset)
    if encoding == "base64":
        part.set_payload(base64.encodebytes(data).decode("ascii"))
    elif encoding == "quoted-printable" or (not data.isascii() and encoding == "7bit"):
        part.set_payload(quopri.encodestring(data).decode("ascii"))
        encoding = "quoted-printable"
    else:
        part.set_payload(data.decode("ascii", "surrogateescape"))
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = encoding
    return True


def _wrap(message: Message, text: str) -> Message:
    """A multipart/mixed of the message itself, untouched but for its outer headers, and the footer."""
    outer = Message()
    for name, value in message.raw_items():  # as received: 8-bit values stay 8-bit
        if not name.lower().startswith("content-"):
            outer[name] = value
    for name in {n.lower() for n in message.keys() if not n.lower().startswith("content-")}:
        del message[name]
    if "Content-Type" not in message:
        message["Content-Type"] = "text/plain"
    outer["Content-Type"] = "multipart/mixed"
    outer.set_payload([message, inline_text_part(text)])
    if "MIME-Version" not in outer:
        outer["MIME-Version"] = "1.0"
    return outer
