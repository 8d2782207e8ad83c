"""Split an mbox into messages, one line at a time. Pure: the caller opens the file.

Handles what list archives are exported as: Mailman 2 pipermail (``From alice at
example.com  Mon Nov 30 10:00:00 2009``, sometimes with unquoted ``From `` in bodies),
Mailman 3 HyperKitty and Google Takeout (``From 1712...@xxx Wed Jul 24 12:00:00 +0000
2024``), mboxo and mboxrd.

* A message starts at a ``From `` line that carries a time (``hh:mm``) and follows a blank
  line (or starts the file). Without the blank line, only a complete ``From sender
  asctime`` line counts. So a body line "From what I saw at 10:30 ..." after a paragraph
  break is the one case that splits wrongly; it would need its writer to have quoted it.
* mboxrd unquoting: ``>From ``, ``>>From `` ... lose one ``>``. For mboxo files, where
  only ``From `` was quoted, a body line that really began with ``>From `` loses its
  ``>``: the two formats cannot be told apart, and this is what mutt and Dovecot do too.
* The blank line that separates messages is removed; everything else is kept as is,
  line endings included. Text before the first ``From `` line is one message of its own
  (a file holding a single message without an envelope).

Only the current message is held in memory, never the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

_CANDIDATE = re.compile(rb"From \S.*\d{1,2}:\d\d")
_ASCTIME = rb"[A-Za-z]{3},?\s+[A-Za-z]{3}\s+\d{1,2}\s+\d{1,2}:\d\d(?::\d\d)?(?:\s+[+-]\d{4})?\s+\d{4}"
_STRICT = re.compile(rb"From \S+(?: at \S+)?\s+" + _ASCTIME + rb"\s*$")
_ENVELOPE_DATE = re.compile(rb"(" + _ASCTIME + rb")\s*$")
_QUOTED = re.compile(rb">+From ")


@dataclass(frozen=True, slots=True)
class MboxMessage:
    raw: bytes
    envelope: bytes  # the From_ line without "From " and the line end; b"" when there was none
    offset: int  # where the message (its From_ line) starts in the input


def _is_blank(line: bytes) -> bool:
    return line in (b"\n", b"\r\n", b"")


def _starts_message(line: bytes, after_blank: bool) -> bool:
    if not line.startswith(b"From ") or not _CANDIDATE.match(line):
        return False
    return after_blank or _STRICT.match(line.rstrip(b"\r\n")) is not None


def _finish(lines: list[bytes], envelope: bytes, offset: int) -> MboxMessage:
    if lines and _is_blank(lines[-1]):
        lines.pop()  # the separator before the next From_ line
    return MboxMessage(b"".join(lines), envelope, offset)


def split_mbox(lines: Iterable[bytes]) -> Iterator[MboxMessage]:
    """Messages of an mbox given as byte lines (line ends included), in order."""
    current: list[bytes] | None = None
    envelope, start, position, after_blank = b"", 0, 0, True
    for line in lines:
        if _starts_message(line, after_blank):
            if current is not None:
                yield _finish(current, envelope, start)
            current, envelope, start = [], line[5:].rstrip(b"\r\n"), position
        elif current is None:
            if not _is_blank(line):
                current, envelope, start = [line], b"", position
        else:
            current.append(line[1:] if _QUOTED.match(line) else line)
        after_blank = _is_blank(line)
        position += len(line)
    if current is not None:
        yield _finish(current, envelope, start)


def envelope_date(envelope: bytes) -> datetime | None:
    """The date of a From_ line as naive UTC (asctime without a zone is taken as UTC)."""
    found = _ENVELOPE_DATE.search(envelope)
    if found is None:
        return None
    try:
        when = parsedate_to_datetime(found.group(1).decode("ascii", "replace"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def envelope_sender(envelope: bytes) -> str:
    """The sender of a From_ line; pipermail's ``alice at example.com`` becomes an address."""
    found = _ENVELOPE_DATE.search(envelope)
    text = (envelope[: found.start()] if found else envelope).decode("utf-8", "replace").strip()
    name, at, domain = text.partition(" at ")
    if at and " " not in name and " " not in domain.strip():
        return f"{name}@{domain.strip()}"
    return text.split()[0] if text else ""


def pipermail_address(value: str) -> str:
    """``alice at example.org (Alice)``, as pipermail writes From headers, as an address; else ""."""
    words = value.split()
    if len(words) >= 3 and words[1] == "at" and "@" not in words[0]:
        return f"{words[0].strip('<>')}@{words[2].strip('<>')}"
    return ""
