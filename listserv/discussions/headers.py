"""A parsed message's threading facts, as the store keeps them. Pure.

Ids are bare (no angle brackets), parsed with :func:`jwz.parse_msgids` (so ``<yes>`` and
other non-ids are dropped), and made storable: at most 255 bytes of printable text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime

from listserv.discussions.ids import parse_msgids, pick_in_reply_to, reference_chain
from listserv.discussions.model import ThreadInput
from listserv.discussions.subjects import is_generic_title, normalize_subject
from listserv.mail.parse import decode_value

MAX_ID_BYTES = 255
MAX_REFERENCES = 1000  # the nearest ancestors kept from a References header
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")
_EARLIEST = datetime(1970, 1, 1)


def storable_id(ident: str) -> str:
    """``ident`` if it fits in MAX_ID_BYTES of printable text, else a stable shortened form.

    The same input always gives the same output, so a shortened id still threads.
    """
    clean = _UNPRINTABLE.sub("?", ident)
    data = clean.encode("utf-8", "replace")
    if len(data) <= MAX_ID_BYTES and clean == ident:
        return ident
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    head = data[:180].decode("utf-8", "ignore")
    return f"{head}#sha256-{digest}"


def synthetic_id(content_hash: str) -> str:
    """The id a message without a usable Message-ID is threaded under."""
    return f"no-message-id-{content_hash[:40]}@listserv.invalid"


def subject_key(subject: str, prefixes: tuple[str, ...]) -> str:
    """What discussions are matched on by the subject fallback; "" when the title is empty or
    generic ("help", "question", a tag alone: never matched)."""
    title = normalize_subject(subject, prefixes)
    return "" if is_generic_title(title) else hashlib.sha256(title.encode("utf-8", "replace")).hexdigest()


def first_values(message: Message) -> dict[str, str]:
    """Each header's first value as received, by lower-case name, in one pass over the headers.

    The same values :func:`listserv.mail.parse.header_value` gives, without a pass per name.
    """
    found: dict[str, str] = {}
    for key, value in message.raw_items():
        name = key.lower()
        if name not in found:
            found[name] = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return found


def message_date(headers: Mapping[str, str]) -> datetime | None:
    """The Date header as naive UTC, or None when it is missing or unreadable."""
    value = headers.get("date", "")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is not None:
        try:
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None
    return when if when >= _EARLIEST else None


def own_message_id(headers: Mapping[str, str]) -> str:
    """The bare Message-ID (storable), or "" when the header has no usable id."""
    ids = parse_msgids(headers.get("message-id", ""))
    return storable_id(ids[0]) if ids else ""


_ADDRESS_EDGE = frozenset(' \t\r\n<>()[],;:"')


class OwnAddresses:
    """The message's own addresses (From, To, Cc, Reply-To, Sender), for ``in`` tests with a
    lower-case id: never one of the ids it names. A search for the id as a whole word of those
    headers, not a parse of them (a long Cc line costs a millisecond to parse; few ids are
    tested)."""

    __slots__ = ("text",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        names = ("from", "to", "cc", "reply-to", "sender")
        self.text = " ".join(headers.get(name, "")[:10_000] for name in names).lower()

    def __contains__(self, ident: object) -> bool:
        if not isinstance(ident, str) or not ident:
            return False
        start = self.text.find(ident)
        while start >= 0:
            end = start + len(ident)
            before = self.text[start - 1] if start else " "
            after = self.text[end] if end < len(self.text) else " "
            if before in _ADDRESS_EDGE and after in _ADDRESS_EDGE:
                return True
            start = self.text.find(ident, start + 1)
        return False


def thread_input(headers: Mapping[str, str], message_id: str, date: datetime | None) -> ThreadInput:
    """The facts the JWZ core needs (``headers`` from :func:`first_values`); ``message_id`` is
    the id to thread under (bare)."""
    addresses = OwnAddresses(headers)
    references = [storable_id(ref) for ref in parse_msgids(headers.get("references", ""), addresses=addresses)]
    references = references[-MAX_REFERENCES:]
    in_reply_to = pick_in_reply_to(headers.get("in-reply-to", ""), references, addresses=addresses)
    return ThreadInput(
        message_id=message_id,
        in_reply_to=storable_id(in_reply_to) if in_reply_to else None,
        references=tuple(references),
        subject=decode_value(headers.get("subject", "")),
        date=date,
    )


def chain_of(msg: ThreadInput) -> tuple[str, ...]:
    return reference_chain(msg.in_reply_to, msg.references, message_id=msg.message_id)


def list_prefixes(subject_prefix: str) -> tuple[str, ...]:
    """A list's subject tag as the subject functions take it (none when it is blank)."""
    return (subject_prefix.strip(),) if subject_prefix.strip() else ()
