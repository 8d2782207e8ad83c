"""Caps checked on raw bytes before any MIME parsing (RELIABILITY 6). Pure.

Python's email package is recursive and, for some inputs, quadratic; these
checks are linear scans that bound what the parser is later given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from listserv.replies import HEADER_TOO_BIG, TOO_BIG, TOO_COMPLEX, Reply

BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^";\r\n]{1,200})', re.IGNORECASE)
NESTED_MESSAGE = re.compile(rb"content-type:\s*message/(rfc822|global)", re.IGNORECASE)
HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Limits:
    max_size: int
    max_header_bytes: int
    max_parts: int
    max_depth: int


def header_block(raw: bytes) -> bytes:
    end = HEADER_END.search(raw)
    return raw if end is None else raw[: end.start()]


def count_parts(raw: bytes, boundaries: set[bytes]) -> int:
    """Delimiter lines of any declared boundary: an upper bound on the parts."""
    count = 0
    for line in raw.split(b"\n"):
        if line.startswith(b"--") and line[2:].rstrip(b"\r- \t") in boundaries:
            count += 1
    return count


def check_limits(raw: bytes, limits: Limits) -> Reply | None:
    """The refusal for a message over one of the caps, or None."""
    if len(raw) > limits.max_size:
        return TOO_BIG
    if len(header_block(raw)) > limits.max_header_bytes:
        return HEADER_TOO_BIG
    boundaries = {b.strip() for b in BOUNDARY.findall(raw)}
    if len(boundaries) + len(NESTED_MESSAGE.findall(raw)) > limits.max_depth:
        return TOO_COMPLEX
    if boundaries and count_parts(raw, boundaries) > limits.max_parts:
        return TOO_COMPLEX
    return None
