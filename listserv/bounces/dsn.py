"""RFC 3464 delivery status notifications read field by field (pure).

A `message/delivery-status` part holds one per-message block and one block per recipient, with
`Final-Recipient`, `Original-Recipient`, `Action` and `Status` (RFC 3463: 5.x.x permanent,
4.x.x temporary). Python's email package parses each block as a header-only Message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from listserv.mail.addresses import address_problem, normalize_address

STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
TEXT_FIELD = re.compile(r"^(final-recipient|original-recipient|action|status|diagnostic-code):[ \t]*(.*)$",
                        re.IGNORECASE | re.MULTILINE)  # fmt: skip
MAX_TEXT = 64 * 1024
FAILED_ACTIONS = ("failed", "delayed")


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block: Final-Recipient, Original-Recipient (what we sent to, when given), Action, Status."""

    address: str
    original: str
    action: str
    status: str  # "5.1.1", or "" when the block has none
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and not self.status.startswith("4")

    @property
    def failed(self) -> bool:
        return self.action in FAILED_ACTIONS or (not self.action and self.status[:1] in ("4", "5"))


def status_parts(message: Message) -> Iterator[Message]:
    """Every message/delivery-status (or its RFC 6533 global form) part, however deep."""
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            yield part


def address_field(value: str | None) -> str:
    """`rfc822; alice@example.org` -> alice@example.org (the address type is optional in practice)."""
    if not value:
        return ""
    text = str(value).strip()
    kind, sep, rest = text.partition(";")
    address = rest if sep and kind.strip().lower() in ("rfc822", "utf-8", "x-unknown") else text
    address = normalize_address(address.strip().strip("<>").strip())
    return address if address_problem(address) is None else ""


def recipient_statuses(message: Message) -> list[RecipientStatus]:
    """The per-recipient blocks of every delivery-status part, in order."""
    found: list[RecipientStatus] = []
    for part in status_parts(message):
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            if not isinstance(block, Message):
                continue
            original = address_field(block.get("Original-Recipient"))
            address = address_field(block.get("Final-Recipient")) or original
            if not address:
                continue
            match = STATUS.search(str(block.get("Status", "")))
            found.append(RecipientStatus(address, original, str(block.get("Action", "")).strip().lower(),
                                         match.group(0) if match else "",
                                         " ".join(str(block.get("Diagnostic-Code", "")).split())[:300]))  # fmt: skip
    return found


def text_parts(message: Message) -> Iterator[Message]:
    """The report's own text parts: not those of the original message it returns."""
    if message.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
        return
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from text_parts(part)
    elif message.get_content_type() == "text/plain":
        yield message


def text_statuses(message: Message) -> list[RecipientStatus]:
    """RFC 3464 fields written into a text part instead of a delivery-status part (Amazon WorkMail,
    some Exchange and Notes gateways): each blank-line separated block with a Final-Recipient."""
    found: list[RecipientStatus] = []
    for part in text_parts(message):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or b"recipient:" not in payload.lower():
            continue
        text = payload[:MAX_TEXT].decode("utf-8", "replace").replace("\r\n", "\n")
        for block in re.split(r"\n[ \t]*\n", text):
            fields = {name.lower(): value.strip() for name, value in TEXT_FIELD.findall(block)}
            original = address_field(fields.get("original-recipient"))
            address = address_field(fields.get("final-recipient")) or original
            match = STATUS.search(fields.get("status", ""))
            if address and (match or fields.get("action")):
                found.append(RecipientStatus(address, original, fields.get("action", "").lower(),
                                             match.group(0) if match else "", fields.get("diagnostic-code", "")[:300]))  # fmt: skip
    return found
