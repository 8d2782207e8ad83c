"""Message-IDs from headers: the ids a header names, the parent In-Reply-To names, a message's chain. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from listserv.discussions.model import ThreadInput

_BRACKETED = re.compile(r"<([^<>]*)>")
_SEPARATORS = re.compile(r"[\s()\[\]\",;]+")


def _is_msgid(candidate: str) -> bool:
    """RFC 5322 shape check: ``left@right``, both sides non-empty."""
    at = candidate.find("@")
    return 0 < at < len(candidate) - 1


def parse_msgids(header_value: str | None) -> list[str]:
    """Extract bare Message-IDs from a Message-ID/In-Reply-To/References value.

    Tolerant of junk: takes every ``<...>`` group (innermost, so ``<<a@b>>``
    works), deletes whitespace inside it (folded headers), and keeps only
    ``left@right`` shapes -- so git-send-email's infamous ``<yes>`` is
    dropped.  If the value has no angle brackets at all, bare ``x@y`` tokens
    are accepted.  Order is preserved; duplicates are kept (see
    :func:`reference_chain`).
    """
    if not header_value:
        return []
    groups = _BRACKETED.findall(header_value)
    if groups:
        cleaned = ("".join(group.split()) for group in groups)
        return [ident for ident in cleaned if _is_msgid(ident)]
    if "<" in header_value or ">" in header_value:
        return []
    return [token for token in _SEPARATORS.split(header_value) if _is_msgid(token)]


def pick_in_reply_to(header_value: str | None, references: Sequence[str] = ()) -> str | None:
    """Choose the parent id from an In-Reply-To value.

    JWZ takes the first id.  Old MUAs put addresses in In-Reply-To
    (``<joe@example.com>'s message of ...``), so an id that References
    corroborates is preferred; otherwise the first id wins.
    """
    ids = parse_msgids(header_value)
    if not ids:
        return None
    corroborated = set(references)
    for ident in ids:
        if ident in corroborated:
            return ident
    return ids[0]


def bare_id(ident: str | None) -> str:
    """Strip whitespace and one pair of surrounding angle brackets."""
    if not ident:
        return ""
    text = ident.strip()
    if text[:1] == "<" and text[-1:] == ">":
        text = text[1:-1].strip()
    return text


def reference_chain(
    in_reply_to: str | None,
    references: Sequence[str],
    *,
    message_id: str | None = None,
) -> tuple[str, ...]:
    """Ancestor chain, oldest first, nearest parent last.

    References is the chain, deduplicated (first occurrence wins), with empty
    ids and ``message_id`` (self references) removed.  In-Reply-To, when
    present, is the direct parent: if References lists it elsewhere it is
    *moved* to the end, if References lacks it it is *appended*.  Rationale:
    In-Reply-To is written by the replier's own client for exactly this
    purpose, while References is copied, truncated, reordered or mangled by
    intermediaries (gmane rewrote In-Reply-To but not References; some
    clients reverse References).  Keeping both means the other ids still pull
    the message into the right discussion even when the parent is missing.
    """
    own = bare_id(message_id)
    parent = bare_id(in_reply_to)
    seen = {"", own, parent}
    chain: list[str] = []
    for ref in references:
        ident = bare_id(ref)
        if ident not in seen:
            seen.add(ident)
            chain.append(ident)
    if parent and parent != own:
        chain.append(parent)
    return tuple(chain)


def input_chain(msg: ThreadInput) -> tuple[str, ...]:
    return reference_chain(msg.in_reply_to, msg.references, message_id=msg.message_id)
