"""A reply that came in through LIST-reply+POST: its header block rewritten so that it
threads under that post. Pure.

Only In-Reply-To and References are replaced (a reply to a digest names the digest
there), and the Subject when it is the digest's own ("Re: Team summary, Vol 1, Issue 3")
or missing. Everything else, the body included, is kept byte for byte.
"""

from __future__ import annotations

import re

from listserv.outbound.headers import encode_value

REPLACED = (b"in-reply-to:", b"references:")
DIGEST_SUBJECT = re.compile(r"(summary|digest),?\s+vol(ume)?\.?\s*\d+", re.IGNORECASE)
KEPT_REFERENCES = 20


def head_lines(raw: bytes) -> tuple[list[bytes], bytes]:
    """(header lines without line ends, the rest from the blank line on) of CRLF or LF mail."""
    data = raw.replace(b"\r\n", b"\n")
    end = data.find(b"\n\n")
    head, rest = (data, b"") if end < 0 else (data[:end], data[end + 1 :])
    return head.split(b"\n"), rest


def fields(lines: list[bytes]) -> list[list[bytes]]:
    """Header lines grouped into fields (a field and its continuation lines)."""
    grouped: list[list[bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and grouped:
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return grouped


def needs_subject(subject: str) -> bool:
    return not subject.strip() or bool(DIGEST_SUBJECT.search(subject))


def rethread(raw: bytes, parent: str, parent_references: str, subject: str | None) -> bytes:
    """The message with In-Reply-To: parent, References: the parent's plus the parent, and, if
    given, a new Subject. Lines end in CRLF."""
    lines, rest = head_lines(raw)
    references = (parent_references.split() + [parent])[-KEPT_REFERENCES:]
    kept = []
    for field in fields(lines):
        name = field[0].split(b":", 1)[0].strip().lower() + b":"
        if name in REPLACED or (subject is not None and name == b"subject:"):
            continue
        kept.extend(field)
    kept.append(b"In-Reply-To: " + parent.encode("ascii", "replace"))
    kept.append(b"References: " + "\n ".join(dict.fromkeys(references)).encode("ascii", "replace"))
    if subject is not None:
        kept.append(b"Subject: " + encode_value(subject).replace("\r\n", "\n").encode("ascii", "replace"))
    head = b"\n".join(kept)
    return (head + b"\n" + rest).replace(b"\n", b"\r\n")
