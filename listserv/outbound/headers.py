"""List headers (RFC 2369, RFC 2919), subject prefix and Reply-To policy. Pure."""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from email.header import Header
from email.message import Message
from email.utils import formatdate

from listserv.mail.message import ListInfo, Role
from listserv.mail.parse import clean_header_value, decode_value, header_value

REMOVED = (
    "List-Id", "List-Post", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
    "List-Subscribe", "List-Archive", "List-Owner", "Precedence", "Return-Path",
    "Delivered-To", "X-Original-To", "Errors-To", "Archived-At",
)  # fmt: skip
# Reply markers in several languages; "Fwd:" is not one and is kept.
REPLY_MARKER = re.compile(r"^\s*((re|aw|sv|vs|antw)(\[\d+\]|\^\d+)?\s*:\s*)+", re.IGNORECASE)


def mail_date(moment: datetime) -> str:
    """A Date header value for a naive UTC moment (RFC 5322)."""
    return formatdate(calendar.timegm(moment.timetuple()), localtime=False)


def list_id(lst: ListInfo) -> str:
    return f"<{lst.local_part}.{lst.domain}>"


def encode_value(value: str, header_name: str = "Subject") -> str:
    """One line of text as a header value: as is if ASCII, else RFC 2047 words of at most 75 characters."""
    value = clean_header_value(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=76, header_name=header_name).encode(linesep="\r\n")


def list_headers(lst: ListInfo) -> list[tuple[str, str]]:
    name = clean_header_value(lst.name).replace('"', "'").replace("\\", "/")
    headers = [
        ("List-Id", f'"{name}" {list_id(lst)}' if name.isascii() else list_id(lst)),
        ("List-Post", f"<mailto:{lst.address}>"),
        ("List-Help", f"<mailto:{lst.service(Role.REQUEST)}?subject=help>"),
        ("List-Unsubscribe", f"<mailto:{lst.service(Role.REQUEST)}?subject=unsubscribe>"),
        ("List-Owner", f"<mailto:{lst.service(Role.OWNER)}>"),
    ]
    if lst.archive_url:
        headers.append(("List-Archive", f"<{clean_header_value(lst.archive_url)}>"))
    headers += [("Precedence", "list"), ("X-BeenThere", lst.address)]
    return headers


def prefix_subject(subject: str, prefix: str) -> str:
    """'[team] Re: topic' for any mix of reply markers and earlier prefixes."""
    subject = clean_header_value(subject)
    prefix = clean_header_value(prefix)
    if not prefix:
        return subject
    while True:
        stripped = re.sub(rf"\s*{re.escape(prefix)}\s*", " ", subject, flags=re.IGNORECASE).strip()
        collapsed = REPLY_MARKER.sub("Re: ", stripped, count=1)
        if collapsed == subject:
            break
        subject = collapsed
    return f"{prefix} {subject}".strip()


def apply_list_headers(message: Message, lst: ListInfo) -> None:
    for name in REMOVED:
        del message[name]
    if lst.subject_prefix:
        new = prefix_subject(decode_value(header_value(message, "Subject")), lst.subject_prefix)
        del message["Subject"]
        message["Subject"] = encode_value(new)
    if lst.reply_to == "list":
        del message["Reply-To"]
        message["Reply-To"] = lst.address
    elif lst.reply_to == "explicit" and lst.reply_to_address:
        del message["Reply-To"]
        message["Reply-To"] = clean_header_value(lst.reply_to_address)
    for name, value in list_headers(lst):
        message[name] = value
