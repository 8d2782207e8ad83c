"""Subject normalisation for the threading subject fallback.

Pure functions, no I/O.  Two subjects that normalise to the same string are
considered "the same discussion title" by the guarded subject fallback in
:mod:`listserv.discussions.jwz`.

Normalisation strips, from the *start* of the subject and any number of times
in any order:

* reply markers: ``Re:``, ``RE:``, ``AW:``, ``SV:``, ``VS:``, ``Antw:``,
  ``Odp:``, ``YNT:``, ``RES:``, ``RIF:``, ``Réf:``, ``Ref:``, with an optional
  counter (``Re[2]:``, ``Re^2:``, ``Re(2):``) and either an ASCII or a
  full-width colon;
* forward markers: ``Fwd:``, ``Fw:``, ``WG:``, ``TR:``, ``ENC:``, ``RV:``,
  ``Doorst:`` (same counter/colon rules);
* list tags given in ``prefixes`` -- and only those.  A bracketed tag that was
  not configured (``[PATCH]``, ``[SOLVED]``) is part of the title and is kept.

Then whitespace runs are folded to one space and the result is case-folded.

All scanning is done with a moving index (never by re-slicing the string) and
with regular expressions that cannot backtrack quadratically, so a hostile
``Re: Re: Re: ...`` subject of any length costs linear time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

__all__ = ["is_generic_title", "is_reply_subject", "normalize_subject"]

_REPLY_WORDS = ("antw", "odp", "ynt", "res", "rif", "réf", "ref", "re", "aw", "sv", "vs")
_FORWARD_WORDS = ("doorst", "fwd", "fw", "wg", "tr", "enc", "rv")

# One marker: optional leading space, a marker word, an optional counter, a
# colon.  The only unbounded repeats are separated by a mandatory literal, so
# a failed match costs O(length of the whitespace run), never quadratic.
_MARKER = re.compile(
    r"\s*(?P<word>" + "|".join(_REPLY_WORDS + _FORWARD_WORDS) + r")"
    r"\s*(?:(?:\[\d{1,9}\]|\^\d{1,9}|\(\d{1,9}\))\s*)?[:\uff1a]",
    re.IGNORECASE,
)


def _prefix_patterns(prefixes: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    return _compile_prefixes(tuple(prefixes))


@functools.lru_cache(maxsize=64)
def _compile_prefixes(prefixes: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Compile list-tag patterns.

    ``"[notmuch]"`` (or ``"(notmuch)"``) matches literally; a bare ``"notmuch"``
    matches the bracketed tag ``[notmuch]``.  Matching ignores case, and any
    whitespace run in the prefix matches any whitespace run in the subject.
    """
    patterns: list[re.Pattern[str]] = []
    for prefix in prefixes:
        words = prefix.split()
        if not words:
            continue
        body = r"\s+".join(re.escape(word) for word in words)
        if words[0][0] not in "[(":
            body = r"\[\s*" + body + r"\s*\]"
        patterns.append(re.compile(r"\s*" + body, re.IGNORECASE))
    return tuple(patterns)


def _match_prefix(subject: str, pos: int, patterns: tuple[re.Pattern[str], ...]) -> int | None:
    """Return the end of a configured list tag starting at ``pos``, if any."""
    for pattern in patterns:
        match = pattern.match(subject, pos)
        if match is not None and match.end() > pos:
            return match.end()
    return None


def _skip_noise(subject: str, patterns: tuple[re.Pattern[str], ...]) -> tuple[int, bool | None]:
    """Skip every leading marker and list tag.

    Returns the index where the title starts and whether the *first* marker
    seen was a reply (True), a forward (False) or absent (None).
    """
    pos = 0
    first_is_reply: bool | None = None
    while True:
        end = _match_prefix(subject, pos, patterns) if patterns else None
        if end is None:
            match = _MARKER.match(subject, pos)
            if match is None:
                return pos, first_is_reply
            if first_is_reply is None:
                first_is_reply = match.group("word").lower() in _REPLY_WORDS
            end = match.end()
        pos = end


def normalize_subject(subject: str, prefixes: Sequence[str] = ()) -> str:
    """Return the comparable title of ``subject``.

    >>> normalize_subject("Re: AW: [dev] Fwd:  Hello   World", ["[dev]"])
    'hello world'
    >>> normalize_subject("[PATCH] Question")
    '[patch] question'
    """
    start, _ = _skip_noise(subject, _prefix_patterns(prefixes))
    return " ".join(subject[start:].split()).casefold()


def is_reply_subject(subject: str, prefixes: Sequence[str] = ()) -> bool:
    """True if the subject starts (after configured list tags) with a reply marker.

    A forward (``Fwd: Re: x``) is *not* a reply: the first marker decides.

    >>> is_reply_subject("[dev] RE[2]: plans", ["dev"])
    True
    >>> is_reply_subject("Fwd: Re: plans")
    False
    >>> is_reply_subject("Question")
    False
    """
    _, first_is_reply = _skip_noise(subject, _prefix_patterns(prefixes))
    return first_is_reply is True


# Titles that say nothing about the conversation: two posts called "Help" are not one
# discussion, however close in time.
GENERIC_TITLES = frozenset({
    "help", "help needed", "help please", "please help", "need help", "question", "a question",
    "quick question", "questions", "query", "test", "testing", "test message", "hi", "hello",
    "hey", "problem", "problems", "issue", "thanks", "thank you", "fyi", "info", "urgent",
    "no subject", "untitled", "update",
})  # fmt: skip
_TAG_ONLY = re.compile(r"(?:\[[^\[\]]{0,64}\]\s*)+")
_EDGE_PUNCTUATION = " \t!?.:;,-_*()'\""


def is_generic_title(title: str) -> bool:
    """True for a normalised title the subject fallback must never match on: empty, a
    bracketed tag alone (``[ilug]``: the list's prefix when it is not configured), or a
    word like "help", "question", "test" (:data:`GENERIC_TITLES`), punctuation aside.

    >>> is_generic_title("help!")
    True
    >>> is_generic_title("help with postfix")
    False
    """
    bare = title.strip(_EDGE_PUNCTUATION)
    return not bare or _TAG_ONLY.fullmatch(bare) is not None or bare in GENERIC_TITLES
