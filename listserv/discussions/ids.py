"""Message-IDs from headers: the ids a header names, the parent In-Reply-To names, a message's chain. Pure.

Real headers are not always ``<id> <id>``. Old clients wrote RFC 822's free-text In-Reply-To
(``Message from Jane Doe <jane@example.com> of "Mon, 02 Sep 2002." <id@host>``), some add
comments (``<id> (Jane's message of ...)``), drop the brackets, repeat ids, fold or cut long
References. Ids are picked by their syntax and their context: comments and quoted strings
are skipped; an address that is part of a phrase (``from Jane <jane@x>``,
``<jane@x>'s message``) or one of the message's own addresses (From, To, Cc...) is not an
id; bare ``x@y`` tokens count only when the whole value is made of them and they do not
look like a person's mailbox. One pass, no backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

from listserv.discussions.model import ThreadInput

_WORD = re.compile(r"[^\s<>()\"]+")
_POSSESSIVE = re.compile(r"^['\u2019]s\b", re.IGNORECASE)
_SEPARATORS = ",;"
_ONLY_GROUPS = re.compile(r"\s*(?:<[^<>\s]*>[\s,]*)*")  # unambiguous: each repeat starts at a "<"
_GROUP = re.compile(r"<([^<>\s]*)>")
_JOINERS = frozenset({"of", "on", "at"})  # ``from Jane <jane@x> of "Monday"``
# A person's mailbox, as opposed to a generated id: letters, dots, hyphens, underscores
# and plus signs before the @, no digit run.
_MAILBOX_LOCAL = re.compile(r"[A-Za-z][A-Za-z._+-]{0,40}")


def _is_msgid(candidate: str) -> bool:
    """RFC 5322 shape check: ``left@right``, both sides non-empty."""
    at = candidate.find("@")
    return 0 < at < len(candidate) - 1


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    bracketed: bool  # an ``<...>`` group (whitespace inside removed) or a bare word


def _closing_parens(value: str) -> dict[int, int]:
    """Each ``(`` that is closed, mapped to its matching ``)``; nesting counts (RFC 822 comments)."""
    opened: list[int] = []
    matches: dict[int, int] = {}
    for index, char in enumerate(value):
        if char == "(":
            opened.append(index)
        elif char == ")" and opened:
            matches[opened.pop()] = index
    return matches


def _tokens(value: str) -> list[_Token]:
    """Words and ``<...>`` groups, outside comments and quoted strings, in order.

    An unclosed comment, quote or bracket is read as text, so a cut header keeps every id
    before the cut (a cut-off ``<id`` is dropped).
    """
    if _ONLY_GROUPS.fullmatch(value):  # the common case, ``<a@b> <c@d>``: no scan in Python
        return [_Token(group, True) for group in _GROUP.findall(value)]
    closing = _closing_parens(value) if "(" in value else {}
    tokens: list[_Token] = []
    pos, end = 0, len(value)
    close = -1  # the next ``>`` at or after pos, found once per ``>`` (linear on ``<<<<...``)
    quotes_left = True  # False once a quote was found unclosed: no later one closes either
    while pos < end:
        char = value[pos]
        if char.isspace() or char in _SEPARATORS or char == ">":
            pos += 1
        elif char == "(" and pos in closing:
            pos = closing[pos] + 1
        elif char == '"' and quotes_left and (quote := _quote_end(value, pos)) > 0:
            pos = quote + 1
        elif char == "<":
            if close < pos:
                close = value.find(">", pos + 1)
            if close < 0:
                break  # cut off: nothing after this ``<`` is an id
            inner = value.find("<", pos + 1, close)
            if inner >= 0:
                pos = inner  # ``<<a@b>>`` or ``< junk <a@b>``: the innermost group
            else:
                tokens.append(_Token("".join(value[pos + 1 : close].split()), True))
                pos = close + 1
        else:
            match = _WORD.match(value, pos)
            if match is None:
                quotes_left = quotes_left and char != '"'
                pos += 1  # a stray ``(`` or ``"``
                continue
            tokens.append(_Token(match.group().strip(_SEPARATORS), False))
            pos = match.end()
    return tokens


def _quote_end(value: str, start: int) -> int:
    """The index of the quote closing the one at ``start`` (backslash escapes), or -1."""
    pos = start + 1
    while True:
        close = value.find('"', pos)
        if close < 0:
            return -1
        backslashes = 0
        while value[close - 1 - backslashes] == "\\" and close - 1 - backslashes > start:
            backslashes += 1
        if backslashes % 2 == 0:
            return close
        pos = close + 1


def _in_phrase(tokens: list[_Token], index: int) -> bool:
    """Is the group at ``index`` someone's address in a phrase, not an id?

    ``<jane@x>'s message of ...`` (a possessive right after), and ``Message from Jane Doe
    <jane@x> of ...`` (a ``from`` among the words since the previous group, and the group
    followed by ``of``/``on``/``at`` or looking like a mailbox; ``Your message from Monday
    <1234.5@host>`` names an id).
    """
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if following is not None and not following.bracketed and _POSSESSIVE.match(following.text):
        return True
    back = index - 1
    while back >= 0 and not tokens[back].bracketed:
        if tokens[back].text.casefold() == "from":
            joined = following is not None and following.text.casefold() in _JOINERS
            return joined or _looks_like_mailbox(tokens[index].text)
        back -= 1
    return False


def _phrase_first(value: str) -> bool:
    """Does the value start with words (RFC 822's free-text In-Reply-To) rather than an id?"""
    tokens = _tokens(value[:1000])
    return bool(tokens) and not tokens[0].bracketed and not _is_msgid(tokens[0].text)


def _looks_like_mailbox(ident: str) -> bool:
    return _MAILBOX_LOCAL.fullmatch(ident.partition("@")[0]) is not None


def parse_msgids(header_value: str | None, *, addresses: Container[str] = ()) -> list[str]:
    """Bare Message-IDs of a Message-ID/In-Reply-To/References value, in order, repeats kept.

    Every ``<left@right>`` group outside comments and quoted strings (whitespace inside is a
    fold and is removed; ``<<a@b>>`` works), except an address in a phrase and the message's
    own ``addresses`` (lower case: From, To, Cc, Reply-To, Sender). Bare ``x@y`` tokens are
    ids only when the value has no groups and every word is one that does not look like a
    mailbox (``1030015585.13258@munnari.OZ.AU``, not ``ralf@uni-koblenz.de "Re: ..."``, nor
    ``message from jane@x of Monday``). Never raises.
    """
    if not header_value:
        return []
    tokens = _tokens(header_value)
    if any(token.bracketed for token in tokens):
        return [
            token.text
            for index, token in enumerate(tokens)
            if token.bracketed
            and _is_msgid(token.text)
            and token.text.lower() not in addresses
            and not _in_phrase(tokens, index)
        ]
    if tokens and all(_is_msgid(token.text) and not _looks_like_mailbox(token.text) for token in tokens):
        return [token.text for token in tokens if token.text.lower() not in addresses]
    return []


def pick_in_reply_to(
    header_value: str | None, references: Sequence[str] = (), *, addresses: Container[str] = ()
) -> str | None:
    """The parent id In-Reply-To names, or None.

    Among :func:`parse_msgids`'s ids (last first when the value starts with a phrase, as
    RFC 822's ``Message from ... of <date> <id>`` does): one References also names wins, then one that does not
    look like a person's mailbox (``jane.doe@example.com``; generated ids carry digits). Only
    mailbox-like ids left: with References, None (the References chain decides); without,
    the first.
    """
    ids = parse_msgids(header_value, addresses=addresses)
    if not ids:
        return None
    if _phrase_first(header_value or ""):
        ids.reverse()  # ``Message from Jane of "Monday" <older@x> <parent@x>``: the id comes last
    corroborated = set(references)
    for ident in ids:
        if ident in corroborated:
            return ident
    for ident in ids:
        if not _looks_like_mailbox(ident):
            return ident
    return None if references else ids[0]


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
