"""Curation commands in a reply to LIST-library+REF: what the member asked for. Pure.

One command a line, in the subject or the body: `add URL description`, `tag URL|N tag ...`,
`+1 N`, `outdated N`, `remove N` (facilitators), `describe N text`. N is a resource's number;
a link, DOI or ISBN names one too. Without N, +1, outdated and remove mean the one resource
the post shared. A subject that is a bare verb (the footer's `subject=add`) takes its
argument from the body's first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from listserv.mail.message import ListInfo, Role
from listserv.tokens import signed_ref

MAX_COMMANDS = 10
REPLY_MARKERS = re.compile(r"^\s*((re|aw|sv|vs|antw|fwd|fw|tr|wg)\s*:\s*)+", re.IGNORECASE)


class Verb(StrEnum):
    ADD = "add"
    TAG = "tag"
    RECOMMEND = "+1"
    OUTDATED = "outdated"
    REMOVE = "remove"
    DESCRIBE = "describe"


VERBS = {"add": Verb.ADD, "tag": Verb.TAG, "+1": Verb.RECOMMEND, "recommend": Verb.RECOMMEND,
         "outdated": Verb.OUTDATED, "remove": Verb.REMOVE, "describe": Verb.DESCRIBE}  # fmt: skip
NEEDS_REF = (Verb.ADD, Verb.TAG, Verb.DESCRIBE)


@dataclass(frozen=True)
class LibraryCommand:
    verb: Verb
    ref: str  # a number, a link, a DOI or an ISBN; "" for "the post's resource"
    text: str  # the tags, description or note that follow
    line: str


@dataclass(frozen=True)
class Commands:
    commands: tuple[LibraryCommand, ...]
    unclear: tuple[str, ...]  # lines that start like a command but are not one


def verb_of(line: str) -> Verb | None:
    first = line.split(maxsplit=1)[0].lower() if line.split() else ""
    return VERBS.get(first)


def read_line(line: str) -> LibraryCommand | str:
    """A command, or why the line is not one."""
    verb = verb_of(line)
    if verb is None:
        return f"{line[:80]}: not a library command"
    words = line.split(maxsplit=2)[1:]
    ref, text = (words + ["", ""])[:2]
    if verb in NEEDS_REF and not ref:
        return f"{line[:80]}: which resource? (a number or a link)"
    if verb in (Verb.TAG, Verb.DESCRIBE) and not text.strip():
        return f"{line[:80]}: {'which tags?' if verb is Verb.TAG else 'what should it say?'}"
    if verb in (Verb.RECOMMEND, Verb.OUTDATED, Verb.REMOVE):
        text = " ".join(words[1:]).strip()
    return LibraryCommand(verb, ref, text.strip(), line[:200])


def parse_commands(subject: str, body: str) -> Commands:
    subject = REPLY_MARKERS.sub("", subject).strip()
    lines = [line.strip() for line in body.splitlines() if line.strip() and not line.startswith(">")]
    candidates = []
    if verb_of(subject):
        if len(subject.split()) == 1 and lines and verb_of(lines[0]) is None:
            candidates.append(f"{subject} {lines.pop(0)}")  # subject=add, the link in the body
        else:
            candidates.append(subject)
    candidates += [line for line in lines if verb_of(line)]
    read = [read_line(line) for line in candidates[:MAX_COMMANDS]]
    return Commands(
        tuple(r for r in read if isinstance(r, LibraryCommand)), tuple(r for r in read if isinstance(r, str))
    )


def library_address(lst: ListInfo, secret: bytes, post_id: int) -> str:
    """LIST-library+REF@domain: where replies curate the resources of this post (REF as LIST-do+REF's)."""
    return f"{lst.local_part}-{Role.LIBRARY.value}+{signed_ref(secret, lst.id, post_id)}@{lst.domain}"
