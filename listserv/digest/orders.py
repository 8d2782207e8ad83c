"""What a facilitator asks for by mail to LIST-prompts, and what a member's vote says. Pure.

A mail to LIST-prompts: the Subject is the prompt's subject (or the poll's question);
the body may start with "Key: value" lines, then a blank line, then the text:

    At: 2026-12-07 09:00        when to post it, in the list's time zone (default: now)
    Every: week                 day | week | fortnight | month (recurring prompts)
    Kind: prompt                prompt | announcement | poll
    Closes: 2026-12-10 17:00    polls: when voting ends (default: 7 days after At)

For a poll, the lines "1. ...", "2. ..." (or "a) ...", "b) ...") are its options.
A vote is the first line of a member's own text: an option's number or letter, or its
text exactly; everything else on the line and below it is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from listserv.digest.schedule import Schedule, parse_local, to_local, to_utc, zone_of

KEY_LINE = re.compile(r"^\s*(at|every|kind|closes|close|when|repeat)\s*:\s*(.*?)\s*$", re.IGNORECASE)
OPTION_LINE = re.compile(r"^\s*(\d{1,2}|[a-zA-Z])[.)]\s+(\S.*?)\s*$")
VOTE = re.compile(r"^[\s*_>\"'(\[]*(\d{1,2}|[a-zA-Z])(?:[.):\]]|\s|$)")
EVERY = {"": "", "none": "", "once": "", "day": "daily", "daily": "daily", "week": "weekly", "weekly": "weekly",
         "fortnight": "fortnightly", "fortnightly": "fortnightly", "2 weeks": "fortnightly",
         "month": "monthly", "monthly": "monthly"}  # fmt: skip
KINDS = ("prompt", "announcement", "poll")
MAX_OPTIONS = 26
DEFAULT_POLL_DAYS = 7


@dataclass(frozen=True)
class Order:
    kind: str
    subject: str
    body: str
    at: datetime  # naive UTC
    every: str = ""
    closes: datetime | None = None
    options: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def read_every(value: str) -> str | None:
    """'weekly', ... or None when the value is not understood; 'every monday' counts as weekly."""
    word = value.strip().lower().removeprefix("every ").strip()
    if word in EVERY:
        return EVERY[word]
    if word.rstrip("s") in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        return "weekly"
    return None


def split_keys(text: str) -> tuple[dict[str, str], str]:
    lines = text.strip("\n").split("\n")
    keys: dict[str, str] = {}
    index = 0
    while index < len(lines) and (match := KEY_LINE.match(lines[index])):
        keys[match.group(1).lower()] = match.group(2)
        index += 1
    return keys, "\n".join(lines[index:]).strip("\n")


def read_options(body: str) -> tuple[str, tuple[str, ...]]:
    """(the text without its option lines, the options in order)."""
    kept: list[str] = []
    options: list[str] = []
    for line in body.split("\n"):
        match = OPTION_LINE.match(line)
        if match and len(options) < MAX_OPTIONS:
            options.append(match.group(2))
        else:
            kept.append(line)
    return "\n".join(kept).strip(), tuple(options)


def read_order(subject: str, text: str, schedule: Schedule, now: datetime) -> Order:
    keys, body = split_keys(text)
    problems = []
    kind = keys.get("kind", "prompt").strip().lower() or "prompt"
    if kind not in KINDS:
        problems.append(f"Kind: {kind!r} is not one of prompt, announcement, poll")
        kind = "prompt"
    at = now
    if keys.get("at") or keys.get("when"):
        try:
            at = max(now, parse_local(keys.get("at") or keys["when"], schedule))
        except ValueError as error:
            problems.append(f"At: {error}")
    every = read_every(keys.get("every") or keys.get("repeat") or "")
    if every is None:
        problems.append("Every: expected day, week, fortnight or month")
        every = ""
    closes: datetime | None = None
    options: tuple[str, ...] = ()
    if kind == "poll":
        body, options = read_options(body)
        closes = at + timedelta(days=DEFAULT_POLL_DAYS)
        if keys.get("closes") or keys.get("close"):
            try:
                closes = parse_local(keys.get("closes") or keys["close"], schedule)
            except ValueError as error:
                problems.append(f"Closes: {error}")
        if len(options) < 2:
            problems.append("a poll needs at least two options, one a line: '1. first', '2. second'")
        if closes <= at:
            problems.append("Closes: must be after the poll opens")
        every = ""
    if not subject.strip():
        problems.append("the Subject is empty: it becomes the post's subject")
    return Order(kind, subject.strip(), body, at, every, closes, options, tuple(problems))


def next_occurrence(at: datetime, every: str, schedule: Schedule) -> datetime | None:
    """The next time a recurring prompt is posted (same wall-clock time in the list's zone)."""
    if not every:
        return None
    zone = zone_of(schedule)
    local = to_local(at, zone).replace(tzinfo=None)
    if every == "monthly":
        month = local.month % 12 + 1
        year = local.year + (local.month == 12)
        day = min(local.day, 28)
        return to_utc(local.replace(year=year, month=month, day=day), zone)
    step = {"daily": 1, "weekly": 7, "fortnightly": 14}[every]
    return to_utc(local + timedelta(days=step), zone)


def read_vote(line: str, options: tuple[str, ...]) -> int | None:
    """The 1-based option a vote's first line names, or None."""
    text = line.strip()
    if not text:
        return None
    for number, option in enumerate(options, start=1):
        if text.lower().rstrip(".!") == option.lower():
            return number
    match = VOTE.match(text)
    if not match:
        return None
    token = match.group(1)
    number = int(token) if token.isdigit() else ord(token.lower()) - ord("a") + 1
    return number if 1 <= number <= len(options) else None


def option_label(number: int) -> str:
    return str(number)
