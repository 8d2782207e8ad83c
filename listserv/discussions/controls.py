"""Steering a discussion by reply to LIST-do+REF: which command, and who may give it. Pure.

One word (and for `merge` its argument) on the first non-empty line of the reply's own words,
else in its Subject (the footer's mailto: link fills it in): `follow`, `mute`, `unmute`,
`answered` for members; `highlight`, `merge REF2` (or `merge into REF2`), `split`, `close`,
`reopen` and `feedback` for facilitators. `feedback` takes its questions from the lines
that follow, one a line, each with its choices after `|` (default: yes | partly | no).
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
    FEEDBACK = "feedback"


MEMBER_VERBS = frozenset({Verb.FOLLOW, Verb.MUTE, Verb.UNMUTE, Verb.ANSWERED})
SYNONYMS = {"unfollow": Verb.UNMUTE, "stop": Verb.MUTE, "solved": Verb.ANSWERED, "open": Verb.REOPEN}
REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
ACTIONS = {Verb.FEEDBACK: "send a feedback form about"}  # how a refusal names the verb, where its word won't do
MAX_QUESTIONS, MAX_CHOICES, MAX_TEXT = 5, 9, 200
DEFAULT_CHOICES = ("yes", "partly", "no")
TAG = re.compile(r"\+([A-Za-z0-9-]{3,40})@")  # the REF of a LIST-do+REF@domain address given as argument


@dataclass(frozen=True)
class Question:
    text: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Control:
    verb: Verb
    argument: str = ""  # merge: the other discussion's REF
    questions: tuple[Question, ...] = ()  # feedback: the form


@dataclass(frozen=True)
class Unclear:
    text: str  # what we read, for the answer ("" when there was nothing)


def read_control(subject: str, text: str) -> Control | Unclear:
    """The command in a reply: its first non-empty line if that starts with a command word, else its Subject."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    found = read_line(first)
    rest = lines[1:]
    if found is None:
        found, rest = read_line(REPLY_PREFIX.sub("", subject)), lines
    if found is None:
        return Unclear(first or subject.strip())
    if found.verb is Verb.FEEDBACK:
        questions = read_questions(rest)
        return Control(found.verb, questions=questions) if questions else Unclear("feedback without questions")
    return found


def read_questions(lines: list[str]) -> tuple[Question, ...]:
    """A feedback form: a question a line, `question | choice | choice ...`; a blank-free block."""
    questions = []
    for line in lines[:MAX_QUESTIONS]:
        text, *choices = (part.strip()[:MAX_TEXT] for part in line.split("|"))
        if text:
            chosen = tuple(c for c in choices if c)[:MAX_CHOICES]
            questions.append(Question(text, chosen if len(chosen) >= 2 else DEFAULT_CHOICES))
    return tuple(questions)


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
    return f"only the list's facilitators can {ACTIONS.get(verb, verb.value)} a discussion"


def control_address(lst: ListInfo, secret: bytes, post_id: int) -> str:
    """LIST-do+REF@domain: where replies steer the discussion of this post."""
    return f"{lst.local_part}-{Role.CONTROL.value}+{signed_ref(secret, lst.id, post_id)}@{lst.domain}"
