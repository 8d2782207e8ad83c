"""bytes -> ParsedMessage, tolerant of the malformed mail real senders produce. Pure.

We parse with the compat32 policy: the modern policy raises on some real
headers (e.g. ``To: unlisted-recipients:;``). Header values are decoded here,
once, and stripped of CR/LF so that no decoded value can inject a header.
Raw 8-bit header bytes are read as UTF-8 (RFC 6532), anything else as U+FFFD.
"""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr

from listserv.mail.addresses import normalize_address
from listserv.mail.message import ParsedMessage

HEADER_END = re.compile(rb"\n\r?\n")
NOT_A_FIELD = re.compile(rb"\A[ \t]|^(?!From |[\x21-\x39\x3b-\x7e]*:|[ \t]).", re.M)  # email.feedparser's headerRE
MESSAGE_ID_FIELD = re.compile(rb"^message-id:(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
MSGID = re.compile(r"<([^<>\s\x00-\x1f\x7f]{1,900})>")  # no controls: PostgreSQL refuses NUL
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
TRACE_HEADERS = (
    b"received:", b"return-path:", b"delivered-to:", b"x-original-to:", b"x-envelope-to:",
    b"authentication-results:", b"arc-", b"received-spf:", b"x-spam-",
)  # fmt: skip
MAX_DECODED = 4096  # longest header value we decode; longer ones are cut


def clean_header_value(value: str) -> str:
    """One line, no control characters: safe to write back into a header."""
    return CONTROL.sub(" ", value).strip()


def decode_value(raw: object) -> str:
    """Decode RFC 2047 encoded-words; bad bytes and unknown charsets degrade, never raise."""
    text = str(raw)[:MAX_DECODED]
    try:
        chunks = decode_header(text)
    except (ValueError, AssertionError, MessageError):
        return clean_header_value(text)
    try:
        return clean_header_value(str(make_header(chunks)))
    except (LookupError, ValueError, MessageError):  # e.g. UnicodeError, CharsetError
        return clean_header_value("".join(lenient_decode(data, charset) for data, charset in chunks))


def lenient_decode(data: bytes | str, charset: str | None) -> str:
    """One decoded chunk: undecodable bytes become U+FFFD, unknown charsets read as ASCII."""
    if isinstance(data, str):
        return data
    try:
        return data.decode(charset or "ascii", "replace")
    except (LookupError, ValueError):
        return data.decode("ascii", "replace")


def header_values(message: Message, name: str) -> list[str]:
    """Every value of a header as received, 8-bit bytes read as UTF-8 (undecodable: U+FFFD)."""
    name = name.lower()
    return [
        str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        for key, value in message.raw_items()
        if key.lower() == name
    ]


def header_value(message: Message, name: str) -> str:
    """The first value of a header as received (see header_values), or ""."""
    return next(iter(header_values(message, name)), "")


def message_ids(value: object) -> tuple[str, ...]:
    """Every <id> in a header value, in order, without duplicates."""
    return tuple(dict.fromkeys(MSGID.findall(str(value or ""))))


def first_message_id(value: object) -> str:
    ids = message_ids(value)
    return f"<{ids[0]}>" if ids else ""


def read_message_id(raw: bytes) -> str:
    """The Message-ID from the header block alone (cheap: used at intake). A header block of
    plain field lines is searched directly, as the parser would read it, in a twentieth of the
    time; anything unusual (a bare CR, a line that is not a field) goes to the parser itself."""
    end = HEADER_END.search(raw)
    block = raw if end is None else raw[: end.start() + 1]
    if raw[:1] not in b"\r\n" and b"\r" not in block.replace(b"\r\n", b"") and not NOT_A_FIELD.search(block):
        field = MESSAGE_ID_FIELD.search(block)
        return first_message_id(field.group(1).decode("utf-8", "replace") if field else "")
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    return first_message_id(header_value(headers, "Message-ID"))


def content_hash(raw: bytes) -> str:
    """sha256 of the message without the trace headers MTAs add on the way.

    The same message handed to us twice, by two MTA hops or over LF and CRLF,
    hashes the same; a different message reusing a Message-ID does not.
    """
    digest = hashlib.sha256()
    skipping = False
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    for index, line in enumerate(lines):
        if line == b"":
            digest.update(b"\n".join(lines[index:]))
            break
        if not line[:1].isspace():
            skipping = line.lower().startswith(TRACE_HEADERS)
        if not skipping:
            digest.update(line + b"\n")
    return digest.hexdigest()


def parse_bytes(raw: bytes) -> Message:
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def sender_of(message: Message) -> tuple[str, str]:
    """(normalised address, display name) of From, falling back to Sender."""
    for header in ("From", "Sender"):
        value = header_value(message, header)[:MAX_DECODED]
        pairs = getaddresses([value])
        name, address = pairs[0] if pairs else parseaddr(value)
        if "@" in address:
            return normalize_address(address), decode_value(name)
    return "", ""


def read_facts(message: Message) -> ParsedMessage:
    sender, name = sender_of(message)
    references = message_ids(header_value(message, "References"))
    in_reply_to = first_message_id(header_value(message, "In-Reply-To"))
    defects = tuple(sorted({type(d).__name__ for d in message.defects}))
    return ParsedMessage(
        message_id=first_message_id(header_value(message, "Message-ID")),
        in_reply_to=in_reply_to,
        references=tuple(f"<{r}>" for r in references),
        subject=decode_value(header_value(message, "Subject")),
        sender=sender,
        sender_name=name,
        auto_submitted=decode_value(header_value(message, "Auto-Submitted")).lower(),
        precedence=decode_value(header_value(message, "Precedence")).lower(),
        list_ids=tuple(decode_value(v).lower() for v in header_values(message, "List-Id")),
        been_there=tuple(normalize_address(decode_value(v)) for v in header_values(message, "X-BeenThere")),
        defects=defects,
    )
