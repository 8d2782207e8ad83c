"""Commands mailed to LIST-request: read the first command in subject or body. Pure."""

from __future__ import annotations

from email.message import Message
from enum import StrEnum

MAX_LINES = 20  # lines of the body we look at; quoted text and signatures are skipped


class Command(StrEnum):
    HELP = "help"
    UNSUBSCRIBE = "unsubscribe"


WORDS = {"help": Command.HELP, "info": Command.HELP, "unsubscribe": Command.UNSUBSCRIBE,
         "leave": Command.UNSUBSCRIBE, "signoff": Command.UNSUBSCRIBE}  # fmt: skip


def first_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                try:
                    return payload[:8192].decode(part.get_content_charset("utf-8"), "replace")
                except (LookupError, ValueError):  # a charset Python does not know
                    return payload[:8192].decode("utf-8", "replace")
    return ""


def read_command(subject: str, body: str) -> Command:
    """The first known command word in the subject, then in the body; else help.

    Quoted lines are skipped, and nothing after a signature separator is read.
    """
    lines = [subject] + body.splitlines()[:MAX_LINES]
    for line in lines:
        line = line.strip()
        if line == "--":  # "-- " once stripped: the signature follows
            break
        if line.startswith(">"):
            continue
        words = line.lower().replace(":", " ").split()
        for word in words[:2]:
            if word in WORDS:
                return WORDS[word]
    return Command.HELP
