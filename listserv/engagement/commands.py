"""What a facilitator's reply to the weekly report asks for, and a member's answer to an
invitation. Pure.

One command a line, its word first: `nudge 2`, `nudge 1 3`, `nudge all`, `invite 1`. The
numbers are those of the report's "stuck" and "ready" lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    NUDGE = "nudge"
    INVITE = "invite"


@dataclass(frozen=True)
class Command:
    verb: Verb
    numbers: tuple[int, ...]  # 1-based; empty with every=True
    every: bool = False


@dataclass(frozen=True)
class Commands:
    commands: tuple[Command, ...]
    unclear: tuple[str, ...]  # lines that start with a command word but are not one


ARGUMENT = re.compile(r"^(all|\d+)$")
YES = frozenset({"yes", "y", "accept", "ok", "okay", "sure", "gladly", "happy to"})
NO = frozenset({"no", "n", "decline", "not now", "no thanks", "no thank you"})


def parse_commands(text: str) -> Commands:
    commands, unclear = [], []
    for line in text.splitlines():
        words = line.replace(",", " ").strip().strip(".!").lower().split()
        if not words or words[0] not in tuple(Verb):
            continue
        arguments = words[1:]
        if not arguments or not all(ARGUMENT.match(word) for word in arguments):
            unclear.append(line.strip())
            continue
        every = "all" in arguments
        numbers = () if every else tuple(int(word) for word in arguments)
        commands.append(Command(Verb(words[0]), numbers, every))
    return Commands(tuple(commands), tuple(unclear))


def chosen(command: Command, people: list[str]) -> tuple[list[str], list[int]]:
    """The addresses a command names, and the numbers that name nobody."""
    if command.every:
        return list(people), []
    found = [people[n - 1] for n in command.numbers if 1 <= n <= len(people)]
    return found, [n for n in command.numbers if not 1 <= n <= len(people)]


def answer_of(text: str) -> bool | None:
    """A member's answer to an invitation: True (yes), False (no) or None (unclear)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    words = re.findall(r"[a-z']+", first.lower())
    phrase = " ".join(words)
    if phrase in YES or words[:1] and words[0] in YES:
        return True
    if phrase in NO or words[:1] and words[0] in NO:
        return False
    return None
