"""The two mitigations, done to the parsed post before decoration. Pure.

- munge: From becomes the list address with the author's name ("Ana Lopez via Team Practice"),
  the original From is kept in X-Original-From, and the author stays reachable by Reply-To or Cc;
- wrap: a new message From the list (same Subject, Date, To, Cc and threading headers) holding a
  short note and the original, untouched, as a message/rfc822 part (RFC 2046 5.2.1).
Message-ID, In-Reply-To and References are never changed, so threads stay whole.
"""

from __future__ import annotations

from email.header import Header
from email.message import Message
from email.utils import formataddr, getaddresses

from listserv.dmarc.policy import AuthorReply, DmarcAction
from listserv.mail.addresses import normalize_address
from listserv.mail.message import ListInfo
from listserv.mail.parse import MAX_DECODED, clean_header_value, decode_value, header_value
from listserv.mail.text import inline_text_part

MAX_NAME = 120  # characters of the author's name kept in the rewritten From
KEPT = ("date", "to", "cc", "subject", "message-id", "in-reply-to", "references")  # copied by wrap
LIST_SETS_REPLY_TO = ("list", "explicit")


def author_label(name: str, address: str) -> str:
    """The author as the rewritten From names them: their display name, else their address's local part."""
    label = clean_header_value(name).strip("\"' ") or address.partition("@")[0]
    return label[:MAX_NAME].rstrip()


def list_from(label: str, lst: ListInfo, address: str = "") -> str:
    """'"Ana Lopez via Team Practice" <team@…>': quoted as needed, RFC 2047 words when not ASCII."""
    phrase, address = f"{label} via {clean_header_value(lst.name)}", address or lst.address
    if phrase.isascii():
        return formataddr((phrase, address))
    encoded = Header(phrase, "utf-8", maxlinelen=76, header_name="From").encode(linesep="\r\n")  # words of <= 75
    return f"{encoded} <{address}>"


def original_from(message: Message) -> str:
    """The From header as it came (encoded-words and 8-bit octets kept), unfolded onto one line."""
    return next(iter(raw_values(message, "From")), "")


def raw_values(message: Message, header: str) -> list[str]:
    """A header's values as they came, unfolded: 8-bit octets stay octets when written back."""
    return [clean_header_value(str(value)) for name, value in message.raw_items() if name.lower() == header.lower()]


def author_of(message: Message) -> tuple[str, str]:
    """(normalised address, decoded display name) of the first From address; ("", "") without one."""
    for name, address in getaddresses([header_value(message, "From")[:MAX_DECODED]]):
        if "@" in address:
            return normalize_address(address), decode_value(name)
    return "", ""


def keep_author_reachable(message: Message, lst: ListInfo, reply: AuthorReply, author: str, address: str) -> None:
    """Reply-To the author, unless the message or the list already sets one: then, or with `cc`, Cc."""
    list_sets = lst.reply_to in LIST_SETS_REPLY_TO
    if reply is not AuthorReply.CC and not list_sets:
        if "Reply-To" not in message:  # an author's own Reply-To already says where replies go
            message["Reply-To"] = author
        return
    cc = raw_values(message, "Cc")
    if any(found.lower() == address for _, found in getaddresses(cc)):
        return
    del message["Cc"]
    message["Cc"] = ", ".join([*cc, author])


def munge(message: Message, lst: ListInfo, reply: AuthorReply, alias: str = "") -> Message:
    address, name = author_of(message)
    author, label = original_from(message), author_label(name, address)
    del message["X-Original-From"]
    message["X-Original-From"] = author
    del message["From"]
    message["From"] = list_from(label, lst)
    reach = list_from(label, lst, alias) if alias else author
    keep_author_reachable(message, lst, reply, reach, alias or address)
    return message


def wrap(message: Message, lst: ListInfo, reply: AuthorReply, alias: str = "") -> Message:
    address, name = author_of(message)
    author, label = original_from(message), author_label(name, address)
    reach = list_from(label, lst, alias) if alias else author
    outer = Message()
    outer["From"] = list_from(label, lst)
    for header, value in message.raw_items():
        if header.lower() in KEPT:
            outer[header] = value
    outer["X-Original-From"] = author
    keep_author_reachable(outer, lst, reply, reach, alias or address)
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = "multipart/mixed"
    attached = Message()
    attached["Content-Type"] = "message/rfc822"
    attached["Content-Disposition"] = "inline"
    attached.set_payload([message])
    outer.set_payload([note_part(label, address), attached])
    return outer


def note_part(label: str, address: str) -> Message:
    return inline_text_part(f"{label} <{address}> wrote the message attached below. The list sends it attached, "
                            "From\nthe list, so that mail providers that check the sender's domain (DMARC) deliver it.\n")  # fmt: skip


def mitigated(message: Message, lst: ListInfo, action: DmarcAction, reply: AuthorReply, alias: str = "") -> Message:
    """The message as members get it From the list: munged in place, or a new wrapper. With an
    alias (LIST-author+TOKEN@domain), replies reach the author through it."""
    if action is DmarcAction.WRAP:
        return wrap(message, lst, reply, alias)
    return munge(message, lst, reply, alias)
