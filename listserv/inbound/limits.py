"""Caps checked on raw bytes before any MIME parsing (RELIABILITY 6). Pure.

Python's email package is recursive and, for some inputs, quadratic; these
checks are one linear scan that bounds what the parser is later given.

The scan reads structure the way the parser will: lines end in CRLF, CR or
LF; a Content-Type field is unfolded and its type and boundary are read by
the email package itself, so no spelling of the boundary parameter (quoted,
RFC 2231, folded) is missed. It over-counts rather than under-counts: every
Content-Type field opens a level, even one the parser would ignore, and a
level closes only at its own close delimiter (or, for message/*, at the next
delimiter of the multipart around it).

A Content-Type field is also capped in length: the email package reads its
parameters in time quadratic in their length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from listserv.inbound.replies import HEADER_TOO_BIG, TOO_BIG, TOO_COMPLEX, Reply

HEADER_END = re.compile(rb"\r?\n\r?\n")
# A delimiter-like line, or a Content-Type field with its continuation lines.
STRUCTURE = re.compile(rb"^(?:--[^\n]*|content-type:[^\n]*(?:\n[ \t][^\n]*)*)", re.MULTILINE | re.IGNORECASE)
CONTAINER = re.compile(rb"(?:multipart|message)/", re.IGNORECASE)
MAX_CONTENT_TYPE = 4096  # octets in one unfolded Content-Type field; real ones are far shorter


@dataclass(frozen=True)
class Limits:
    max_size: int
    max_header_bytes: int
    max_parts: int  # delimiter lines, plus one for each message/* part
    max_depth: int  # multipart and message/* levels nested in each other


@dataclass(frozen=True)
class Level:
    boundary: bytes | None  # None: a message/* part
    digest: bool = False  # its parts are message/rfc822 unless they say otherwise


def header_block(raw: bytes) -> bytes:
    end = HEADER_END.search(raw)
    return raw if end is None else raw[: end.start()]


def opened_level(field: bytes) -> Level | None:
    """The level a Content-Type field opens, read by the email package itself."""
    if not CONTAINER.search(field):
        return None
    header = BytesHeaderParser(policy=policy.compat32).parsebytes(field + b"\n\n")
    if header.get_content_maintype() == "message":
        return Level(None)
    boundary = header.get_boundary()
    if header.get_content_maintype() != "multipart" or boundary is None:
        return None  # the parser reads it as a single part
    digest = header.get_content_subtype() == "digest"
    return Level(boundary.encode("ascii", "surrogateescape"), digest)


def close_part(stack: list[Level], token: bytes) -> None:
    """Pop what the delimiter line '--<token>' ends, if it belongs to the innermost multipart."""
    top = len(stack)
    while top and stack[top - 1].boundary is None:
        top -= 1  # message/* parts end with the part that holds them
    if not top:
        return
    level = stack[top - 1]
    if token == level.boundary:
        del stack[top:]
        if level.digest:
            stack.append(Level(None))
    elif level.boundary is not None and token == level.boundary + b"--":
        del stack[top - 1 :]


def structure_problem(raw: bytes, limits: Limits) -> bool:
    """True if the message nests deeper, or has more parts, than the limits allow."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    stack: list[Level] = []
    boundaries: set[bytes] = set()
    parts = 0
    for match in STRUCTURE.finditer(text):
        line = match.group()
        if line.startswith(b"--"):
            token = line[2:].rstrip(b" \t")
            if token in boundaries:
                parts += 1  # a delimiter line starts a part
                close_part(stack, token)
            elif token[:-2] in boundaries:
                close_part(stack, token)
        elif len(line) > MAX_CONTENT_TYPE:
            return True
        elif (level := opened_level(line)) is not None:
            stack.append(level)
            if level.boundary is None:
                parts += 1  # a message/* part holds one more message
            else:
                boundaries.add(level.boundary)
        if len(stack) > limits.max_depth or parts > limits.max_parts:
            return True
    return False


def check_limits(raw: bytes, limits: Limits) -> Reply | None:
    """The refusal for a message over one of the caps, or None."""
    if len(raw) > limits.max_size:
        return TOO_BIG
    if len(header_block(raw)) > limits.max_header_bytes:
        return HEADER_TOO_BIG
    if structure_problem(raw, limits):
        return TOO_COMPLEX
    return None
