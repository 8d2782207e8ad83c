"""What a facilitator's reply to a hold notice asks for. Pure.

The writer's own text is what is left of the reply once quoted lines, the
attribution line above them ("On ... wrote:"), signatures and the original that
Outlook pastes below a "From:/Sent:" block are taken away; HTML-only replies are
read as text first. The first line of it holds the verb:

    (nothing at all) / approve       distribute the post
    approve always / trust           distribute, and trust the sender from now on
    reject REASON...                 the sender is told, with the reason
    discard                          dropped silently
    edit + the corrected text        the corrected text is distributed instead

Anything else is UNCLEAR: nothing is done and the facilitator is asked again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum

from listserv.mail.text import message_text

MAX_REASON = 2000
MAX_EDIT = 256 * 1024


class Verb(StrEnum):
    APPROVE = "approve"
    APPROVE_ALWAYS = "approve-always"
    REJECT = "reject"
    DISCARD = "discard"
    EDIT = "edit"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class ReplyCommand:
    verb: Verb
    reason: str = ""  # reject: the reason given
    text: str = ""  # edit: the corrected text; unclear: the line that was not understood


VERB_WORDS = {
    "approve": Verb.APPROVE, "approved": Verb.APPROVE, "accept": Verb.APPROVE, "accepted": Verb.APPROVE,
    "ok": Verb.APPROVE, "okay": Verb.APPROVE,
    "trust": Verb.APPROVE_ALWAYS,
    "reject": Verb.REJECT, "rejected": Verb.REJECT, "decline": Verb.REJECT, "declined": Verb.REJECT,
    "discard": Verb.DISCARD, "discarded": Verb.DISCARD, "delete": Verb.DISCARD, "spam": Verb.DISCARD,
    "edit": Verb.EDIT, "edited": Verb.EDIT,
}  # fmt: skip
ALWAYS = {"always", "forever", "and trust", "trust"}
ATTRIBUTION_END = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał)\s*:?\s*$|^\s*>?\s*-+\s*original message\s*-+",
    re.IGNORECASE,
)
ATTRIBUTION_START = re.compile(r"^\s*(on|le|am|el|il|op|den|w dniu)\s", re.IGNORECASE)
HEADER_BLOCK = re.compile(r"^\s*\*?(from|von|de|van|da)\s*:\*?\s", re.IGNORECASE)
HEADER_NEXT = re.compile(r"^\s*\*?(sent|date|gesendet|envoyé|enviado|to|an|à|subject)\s*:", re.IGNORECASE)
SIGNATURE = re.compile(
    r"^(--|-- |__+|sent from my .*|get outlook for .*|sent from (mail|outlook) for .*)$", re.IGNORECASE
)
ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|forwarded message|ursprüngliche nachricht)\s*-{2,}", re.IGNORECASE
)


def own_lines(text: str) -> list[str]:
    """The lines the replying person wrote themselves."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    own: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if ORIGINAL.match(stripped) or SIGNATURE.match(stripped.rstrip()):
            break
        if HEADER_BLOCK.match(stripped) and any(HEADER_NEXT.match(n) for n in lines[index + 1 : index + 4]):
            break  # Outlook: the original follows a From:/Sent: block, unquoted
        if stripped.startswith(">"):
            continue
        if ATTRIBUTION_END.search(stripped):
            drop_attribution_start(own)
            continue
        own.append(line.rstrip())
    while own and not own[-1].strip():
        own.pop()
    while own and not own[0].strip():
        own.pop(0)
    return own


def drop_attribution_start(own: list[str]) -> None:
    """Clients wrap a long "On <date>, <name> <address> wrote:" over up to three lines."""
    for back in range(1, min(3, len(own)) + 1):
        if ATTRIBUTION_START.match(own[-back]):
            del own[-back:]
            return


def read_verb(line: str) -> tuple[Verb, str]:
    """The verb a first line asks for, and the rest of the line after it."""
    words = re.sub(r"^[\s*_\"'`>]+", "", line).split(None, 2)
    if not words:
        return Verb.APPROVE, ""
    first = words[0].lower().strip("*_.,!:;-\"'`")
    rest = line.split(words[0], 1)[1].strip() if words[0] in line else ""
    verb = VERB_WORDS.get(first)
    if verb is None and first == "always" and len(words) > 1 and words[1].lower().strip("*_.,!:;") == "approve":
        return Verb.APPROVE_ALWAYS, ""
    if verb is Verb.APPROVE:
        second = " ".join(w.lower().strip("*_.,!:;-") for w in words[1:3])
        if any(second == word or second.startswith(word + " ") for word in ALWAYS):
            return Verb.APPROVE_ALWAYS, ""
    if verb is None:
        return Verb.UNCLEAR, line.strip()[:200]
    return verb, rest.lstrip(":-–— ").strip()


def read_reply_command(text: str) -> ReplyCommand:
    """The command in the text of a reply (see the module's docstring)."""
    own = own_lines(text)
    if not own:
        return ReplyCommand(Verb.APPROVE)
    verb, rest = read_verb(own[0])
    after = "\n".join(own[1:]).strip("\n")
    if verb is Verb.REJECT:
        return ReplyCommand(verb, reason=(rest + "\n" + after).strip()[:MAX_REASON])
    if verb is Verb.EDIT:
        corrected = (rest + "\n" + after if rest else after).strip("\n")
        if not corrected.strip():
            return ReplyCommand(Verb.UNCLEAR, text="edit, with no corrected text below it")
        return ReplyCommand(verb, text=corrected[:MAX_EDIT] + "\n")
    if verb is Verb.UNCLEAR:
        return ReplyCommand(verb, text=rest)
    return ReplyCommand(verb)


def parse_reply(message: Message) -> ReplyCommand:
    """What a facilitator's reply asks for: from its first text part (or its HTML, as text)."""
    return read_reply_command(message_text(message, keep_quotes=False))
