"""A facilitator's corrected text in place of a post's text, attachments kept. Pure."""

from __future__ import annotations

from email.charset import QP, Charset
from email.message import Message

from listserv.mail.text import body_parts

REPLACED_HEADERS = ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version")


def edited_part(text: str) -> Message:
    """A text/plain part (UTF-8, quoted-printable unless plain ASCII) holding text."""
    part = Message()
    if text.isascii():
        part.set_payload(text.replace("\r\n", "\n"), "us-ascii")
    else:
        charset = Charset("utf-8")
        charset.body_encoding = QP
        part.set_payload(text.replace("\r\n", "\n"), charset)
    del part["MIME-Version"]
    return part


def _set_content(target: Message, source: Message) -> None:
    """Make target carry source's content headers and payload (target keeps its other headers)."""
    for name in REPLACED_HEADERS:
        del target[name]
    for name, value in source.items():
        target[name] = value
    target.set_payload(source.get_payload())
    target.preamble = target.epilogue = None


def apply_edit(message: Message, text: str) -> Message:
    """The message with its first text part replaced by text.

    When that text sits in a multipart/alternative, the whole alternative (HTML
    included, and any images it shows) gives way to the corrected text, so that no
    reader sees the old version. Other parts (attachments) are kept as they were.
    """
    new = edited_part(text)
    first = next(body_parts(message), None)
    if first is None or first is message or not message.is_multipart():
        _set_content(message, new)
        if "MIME-Version" not in message:
            message["MIME-Version"] = "1.0"
        return message
    target = _outermost_alternative(message, first) or first
    if target is message:
        _set_content(message, new)
        return message
    _replace_child(message, target, new)
    return message


def _parents(root: Message, wanted: Message) -> list[Message] | None:
    """The chain of multiparts from root down to wanted's parent, or None."""
    payload = root.get_payload()
    if not root.is_multipart() or not isinstance(payload, list):
        return None
    for child in payload:
        if child is wanted:
            return [root]
        if isinstance(child, Message) and child.get_content_maintype() == "multipart":
            found = _parents(child, wanted)
            if found is not None:
                return [root] + found
    return None


def _outermost_alternative(root: Message, leaf: Message) -> Message | None:
    chain = _parents(root, leaf) or []
    return next((p for p in chain if p.get_content_type() == "multipart/alternative"), None)


def _replace_child(root: Message, old: Message, new: Message) -> None:
    chain = _parents(root, old) or []
    if not chain:
        return
    parent = chain[-1]
    payload = parent.get_payload()
    assert isinstance(payload, list)
    payload[payload.index(old)] = new
