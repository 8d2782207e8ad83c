"""Steering a discussion by reply to LIST-do+REF: which command, and who may give it. Pure.

One word (and for `merge` its argument) on the first non-empty line of the reply's own words,
else in its Subject (the footer's mailto: link fills it in): `follow`, `mute`, `unmute`,
`answered` for members; `highlight`, `merge REF2` (or `merge into REF2`), `split`, `close`
and `reopen` for facilitators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from listserv.mail.message import ListInfo, Role
from listserv.tokens import signed_ref


class Verb(StrEnum):
    FOLLOW = "follow"
    MUTE = "mute"
    UNMUTE = "unmute"
    ANSWERED = "answered"
    HIGHLIGHT = "highlight"
    MERGE = "merge"
    SPLIT = "split"
    CLOSE = "close"
    REOPEN = "reopen"


MEMBER_VERBS = frozenset({Verb.FOLLOW, Verb.MUTE, Verb.UNMUTE, Verb.ANSWERED})
SYNONYMS = {"unfollow": Verb.UNMUTE, "stop": Verb.MUTE, "solved": Verb.ANSWERED, "open": Verb.REOPEN}
REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
TAG = re.compile(r"\+([A-Za-z0-9-]{3,40})@")  # the REF of a LIST-do+REF@domain address given as argument


@dataclass(frozen=True)
class Control:
    verb: Verb
    argument: str = ""  # merge: the other discussion's REF


@dataclass(frozen=True)
class Unclear:
    text: str  # what we read, for the answer ("" when there was nothing)


def read_control(subject: str, text: str) -> Control | Unclear:
    """The command in a reply: its first non-empty line if that starts with a command word, else its Subject."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    found = read_line(first)
    if found is None:
        found = read_line(REPLY_PREFIX.sub("", subject))
    return found if found is not None else Unclear(first or subject.strip())


def read_line(line: str) -> Control | None:
    words = line.replace(",", " ").strip().rstrip(".!").split()
    if not words:
        return None
    word = words[0].lower()
    verb = SYNONYMS.get(word) or (Verb(word) if word in tuple(Verb) else None)
    if verb is None:
        return None
    arguments = [w for w in words[1:] if w.lower() not in ("into", "with", "to")]
    if verb is Verb.MERGE:
        return Control(verb, ref_of(arguments[0])) if arguments else None
    return Control(verb)


def ref_of(word: str) -> str:
    """A REF given bare, or as the LIST-do+REF address or mailto: link it came in."""
    tagged = TAG.search(word)
    return tagged.group(1) if tagged else word.strip("<>").lower()


def refusal(verb: Verb, facilitator: bool, started_it: bool) -> str | None:
    """Why this sender may not give this command about this discussion, or None."""
    if verb in MEMBER_VERBS and verb is not Verb.ANSWERED or facilitator:
        return None
    if verb is Verb.ANSWERED:
        return None if started_it else "only the member who asked (or a facilitator) can mark it answered"
    return f"only the list's facilitators can {verb.value} a discussion"


def control_address(lst: ListInfo, secret: bytes, post_id: int) -> str:
    """LIST-do+REF@domain: where replies steer the discussion of this post."""
    return f"{lst.local_part}-{Role.CONTROL.value}+{signed_ref(secret, lst.id, post_id)}@{lst.domain}"
