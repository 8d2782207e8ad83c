"""The three digest messages, as bytes ready to queue. Pure.

- summary: multipart/alternative, text/plain and text/html (both UTF-8, quoted-printable);
- MIME digest (RFC 2046 5.1.5): multipart/mixed of a text/plain table of contents, a
  multipart/digest with each post as a message/rfc822 part, and a text/plain end note.
  Each embedded post keeps its From, Date, Subject, Message-ID and threading headers and
  gets `Reply-To: LIST-reply+POST@domain`, so replying to it from a client that opens
  digest parts (Thunderbird, Apple Mail, mutt) posts in its discussion;
- plain digest (RFC 1153): one text/plain body: the contents, a line of 70 hyphens, each
  message (Date, From, To, Cc, Subject, Message-ID, Keywords, Summary headers, a blank
  line, its text) followed by a line of 30 hyphens, then "End of ... Digest" and a line
  of asterisks as long. Lines of a message that start with "-" are stuffed with "- "
  (RFC 934) so no message line can look like a separator.

Every digest comes from LIST-digest@domain: a plain Reply reaches the facilitators, never
the list, and "Re: ... Digest Vol 3, Issue 7" never becomes a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.charset import QP, Charset
from email.message import Message
from email.utils import formataddr, make_msgid

from listserv.digest.model import Digest, PostItem, reply_address
from listserv.mail.message import ListInfo, Role
from listserv.mail.parse import (
    clean_header_value,
    decode_value,
    header_value,
    parse_bytes,
)
from listserv.mail.text import message_text
from listserv.outbound.decorate import serialize
from listserv.outbound.headers import encode_value, list_headers, mail_date
from listserv.outbound.notices import address_automatic

KEPT_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "In-Reply-To", "References", "MIME-Version",
                "Content-Type", "Content-Transfer-Encoding", "Content-Disposition")  # fmt: skip
RFC1153_HEADERS = ("Date", "From", "To", "Cc", "Subject", "Message-ID", "Keywords", "Summary")
PREAMBLE_END = "-" * 70
MESSAGE_END = "-" * 30
FOOTER_LINE = "_" * 10


def utf8_part(text: str, subtype: str = "plain") -> Message:
    part = Message()
    charset = Charset("utf-8")
    charset.body_encoding = QP
    part.set_payload(text, charset)
    part.replace_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    return part


def boundary(lst: ListInfo, what: str) -> str:
    return make_msgid(what, domain=lst.domain).strip("<>").replace("@", ".")


def add_headers(message: Message, lst: ListInfo, subject: str, date: datetime, to: str = "") -> None:
    """From and To the list's digest address (a reply goes to the facilitators), list headers."""
    name = clean_header_value(lst.name)
    message["MIME-Version"] = "1.0"
    message["From"] = formataddr((f"{name} digest", lst.service(Role.DIGEST)))
    message["To"] = to or formataddr((f"{name} digest readers", lst.service(Role.DIGEST)))
    message["Subject"] = encode_value(subject)
    message["Date"] = mail_date(date)
    message["Message-ID"] = make_msgid("digest", domain=lst.domain)
    for header, value in list_headers(lst):
        if header != "X-BeenThere":
            message[header] = value
    message["X-BeenThere"] = lst.service(Role.DIGEST)


def build_summary(lst: ListInfo, digest: Digest, text: str, html: str, subject: str = "") -> bytes:
    message = Message()
    message["Content-Type"] = "multipart/alternative"
    message.set_boundary(boundary(lst, "alt"))
    message.attach(utf8_part(text))
    message.attach(utf8_part(html, "html"))
    add_headers(message, lst, subject or digest.title, digest.date)
    return serialize(message)


def embedded(lst: ListInfo, post: PostItem, raw: bytes) -> Message:
    """One post as a message/rfc822 part of a MIME digest."""
    inner = parse_bytes(raw)
    for name in {key for key in inner.keys() if key.title() not in {h.title() for h in KEPT_HEADERS}}:
        del inner[name]
    inner["Reply-To"] = reply_address(lst, post.post_id)
    part = Message()
    part["Content-Type"] = "message/rfc822"
    part.set_payload([inner])
    return part


def build_mime_digest(lst: ListInfo, digest: Digest, contents: str, end: str, raws: Sequence[bytes]) -> bytes:
    inner = Message()
    inner["Content-Type"] = "multipart/digest"
    inner.set_boundary(boundary(lst, "digest"))
    for post, raw in zip(digest.posts, raws):
        inner.attach(embedded(lst, post, raw))
    message = Message()
    message["Content-Type"] = "multipart/mixed"
    message.set_boundary(boundary(lst, "mixed"))
    message.attach(utf8_part(contents))
    message.attach(inner)
    message.attach(utf8_part(end))
    add_headers(message, lst, digest.digest_title, digest.date)
    return serialize(message)


def stuffed(line: str) -> str:
    return "- " + line if line.startswith("-") else line


def plain_text(raw: bytes) -> tuple[str, str]:
    """(the RFC 1153 header lines, the text) of one post; the list footer left out."""
    message = parse_bytes(raw)
    headers = []
    for name in RFC1153_HEADERS:
        value = decode_value(header_value(message, name))
        if value:
            headers.append(f"{name}: {value}")
    lines = message_text(message, keep_quotes=True).replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line.strip().startswith(FOOTER_LINE) and not line.strip().strip("_"):
            lines = lines[:index]
            break
    return "\n".join(headers), "\n".join(stuffed(line) for line in lines).strip("\n")


def build_plain_digest(lst: ListInfo, digest: Digest, contents: str, end: str, raws: Sequence[bytes]) -> bytes:
    chunks = [contents.rstrip("\n"), "", PREAMBLE_END, ""]
    for post, raw in zip(digest.posts, raws):
        headers, text = plain_text(raw)
        if post.attachments:
            text += "\n\n" + "\n".join(f"[attachment: {name}]" for name in post.attachments)
        chunks += [headers, "", text, "", MESSAGE_END, ""]
    closing = f"End of {digest.digest_title}"
    chunks += [closing, "*" * len(closing), "", "\n".join(stuffed(line) for line in end.rstrip("\n").split("\n"))]
    message = utf8_part("\n".join(chunks) + "\n")
    add_headers(message, lst, digest.digest_title, digest.date)
    return serialize(message)


def build_service_mail(lst: ListInfo, to: str, subject: str, text: str, reply_to: str, now: datetime, name: str = "",
                       in_reply_to: str = "") -> bytes:  # fmt: skip
    """A short automatic mail from one of the list's digest addresses (previews, confirmations),
    answered by a plain Reply to `reply_to`."""
    message = utf8_part(text)
    address_automatic(message, lst, now, sender=(name or f"{lst.name} digest", reply_to), to=to, subject=subject,
                      loop_marker=lst.service(Role.DIGEST), reply_to=reply_to, in_reply_to=in_reply_to,
                      kind="digest")  # fmt: skip
    return serialize(message)
