"""Commands mailed to LIST-request (and words in replies): read them from subject and body. Pure.

One command per line, its word among the line's first two words ("please unsubscribe").
Quoted lines are skipped; nothing after a signature separator or a quoted-reply header is
read; at most MAX_COMMANDS commands, and reading stops after MAX_UNKNOWN lines that are
not commands (the prose of a letter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from email.message import Message
from enum import StrEnum

MAX_LINES = 20  # lines of the body we look at
MAX_COMMANDS = 10  # commands acted on per message
MAX_UNKNOWN = 3  # lines that are not commands before we stop reading
DELIVERY_MODES = ("each", "summary", "mime-digest", "plain-digest", "none")


class Command(StrEnum):
    HELP = "help"
    INFO = "info"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    SET_DELIVERY = "set-delivery"
    SET_VACATION = "set-vacation"
    WHO = "who"
    RENEW = "renew"
    CONFIRM = "confirm"
    STATS = "stats"  # the member's own engagement record
    ARCHIVE = "archive"  # a link to the web archive (docs/archive.md)
    SET_PROFILE = "set-profile"  # `set profile off|on`: opt out of (or back into) engagement stages
    UNKNOWN = "unknown"


COMMAND_WORDS = {
    "help": Command.HELP, "info": Command.INFO, "subscribe": Command.SUBSCRIBE, "join": Command.SUBSCRIBE,
    "unsubscribe": Command.UNSUBSCRIBE, "leave": Command.UNSUBSCRIBE, "signoff": Command.UNSUBSCRIBE,
    "set": Command.SET_DELIVERY, "who": Command.WHO, "renew": Command.RENEW, "confirm": Command.CONFIRM,
    "stats": Command.STATS, "archive": Command.ARCHIVE,
}  # fmt: skip
# Words after subscribe/join, and after "set delivery", naming a delivery mode.
MODE_WORDS = {
    "each": "each", "all": "each", "summary": "summary", "digest": "mime-digest", "mime-digest": "mime-digest",
    "mime": "mime-digest", "plain-digest": "plain-digest", "plain": "plain-digest", "none": "none",
    "nomail": "none", "off": "none",
}  # fmt: skip
STOP_WORDS = ("end", "stop", "thanks", "thank", "cheers", "regards")
REPLY_MARKERS = ("re", "aw", "sv", "vs", "antw", "fwd", "fw", "tr", "wg")
QUOTE_HEADER = re.compile(
    r"^(on\s.*\s(wrote|writes)\s*:?|.*\s(schrieb|a écrit|escribió|ha scritto|schreef)\s*:?"
    r"|-+ ?(original|forwarded) message ?-+|_{10,}|from: .*)$",
    re.IGNORECASE,
)  # where quoted or forwarded text begins
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TOKEN = re.compile(r"^[a-z2-7]{26}$")  # see listserv/tokens.py


@dataclass(frozen=True)
class Request:
    """One command as read: its argument (a delivery mode, an ISO date, a token) or a problem."""

    command: Command
    line: str  # as the sender wrote it, for the reply
    argument: str = ""
    problem: str = ""  # set when the command word was right but the rest was not understood


@dataclass(frozen=True)
class CommandMail:
    requests: tuple[Request, ...]  # commands, then lines that were not (Command.UNKNOWN)
    truncated: bool  # more commands than MAX_COMMANDS were written

    @property
    def commands(self) -> tuple[Request, ...]:
        return tuple(r for r in self.requests if r.command is not Command.UNKNOWN)

    @property
    def unknown(self) -> tuple[Request, ...]:
        return tuple(r for r in self.requests if r.command is Command.UNKNOWN)


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


def subject_words(subject: str) -> list[str]:
    """The subject's words, lower case, without leading reply markers ("Re: Fwd: ...")."""
    words = subject.lower().replace(":", " ").split()
    while words and words[0] in REPLY_MARKERS:
        words.pop(0)
    return words


def body_lines(body: str) -> list[str]:
    """The body lines that may hold commands: not quoted, before any signature or quoted reply."""
    lines: list[str] = []
    for line in body.splitlines()[:MAX_LINES]:
        line = line.strip()
        if line == "--" or QUOTE_HEADER.match(line):  # "-- " once stripped: the signature follows
            break
        if line and not line.startswith(">"):
            lines.append(line)
    return lines


def read_request(words: list[str], line: str) -> Request | None:
    """The command on one line (its word among the first two words), or None."""
    for index, word in enumerate(words[:2]):
        command = COMMAND_WORDS.get(word)
        if command is not None:
            return with_arguments(command, words[index + 1 :], line)
    return None


def with_arguments(command: Command, rest: list[str], line: str) -> Request:
    if command is Command.SUBSCRIBE:
        mode = next((MODE_WORDS[w] for w in rest[:2] if w in MODE_WORDS), "each")
        return Request(command, line, mode)
    if command is Command.CONFIRM:
        token = next((w for w in rest[:3] if TOKEN.match(w)), "")
        return Request(command, line, token, "" if token else "no confirmation code after 'confirm'")
    if command is Command.SET_DELIVERY:
        return read_setting(rest, line)
    return Request(command, line)


def read_setting(rest: list[str], line: str) -> Request:
    """`set delivery MODE`, `set vacation until YYYY-MM-DD` / `set vacation off`, `set profile off|on`."""
    what, values = (rest[0], rest[1:]) if rest else ("", [])
    if what == "delivery":
        mode = MODE_WORDS.get(values[0] if values else "")
        if mode is None:
            return Request(Command.SET_DELIVERY, line, problem="expected one of: " + ", ".join(DELIVERY_MODES))
        return Request(Command.SET_DELIVERY, line, mode)
    if what == "vacation":
        values = [v for v in values if v not in ("until", "till", "to")]
        if values and values[0] in ("off", "end", "none", "no"):
            return Request(Command.SET_VACATION, line, "off")
        day = parse_day(values[0] if values else "")
        if day is None:
            return Request(Command.SET_VACATION, line, problem="expected a date as YYYY-MM-DD, or off")
        return Request(Command.SET_VACATION, line, day.isoformat())
    if what in ("profile", "profiling"):
        value = {"off": "off", "no": "off", "none": "off", "on": "on", "yes": "on"}.get(values[0] if values else "")
        if value is None:
            return Request(Command.SET_PROFILE, line, problem="expected set profile off, or set profile on")
        return Request(Command.SET_PROFILE, line, value)
    return Request(Command.SET_DELIVERY, line, problem="you can set delivery, vacation or profile")


def parse_day(text: str) -> date | None:
    match = DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def read_commands(subject: str, body: str, limit: int = MAX_COMMANDS) -> CommandMail:
    """Every command in the subject, then the body, in order, each command once."""
    found: list[Request] = []
    unknown: list[Request] = []
    seen: set[tuple[Command, str]] = set()
    truncated = False
    subject_request = read_request(subject_words(subject), subject.strip())
    candidates = [subject_request] if subject_request else []
    for line in body_lines(body):
        words = line.lower().replace(":", " ").split()
        if words and words[0].strip(".,!") in STOP_WORDS:
            break
        request = read_request(words, line)
        if request is None:
            unknown.append(Request(Command.UNKNOWN, line[:200]))
            if len(unknown) >= MAX_UNKNOWN:
                break
            continue
        candidates.append(request)
    for request in candidates:
        key = (request.command, request.argument)
        if key in seen:
            continue
        if len(found) >= limit:
            truncated = True
            break
        seen.add(key)
        found.append(request)
    return CommandMail(tuple(found) + tuple(unknown), truncated)


def read_command(subject: str, body: str) -> Command:
    """The first command in the subject, then in the body; else help."""
    commands = read_commands(subject, body).commands
    return commands[0].command if commands else Command.HELP
