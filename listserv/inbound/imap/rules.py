"""IMAP intake decisions, pure: which mailbox feeds which lists, which UIDs to take, where a
message goes, what to do with it afterwards, how long to wait before trying again.

Nothing lost, nothing twice: every UID above `last_uid` is taken (under the same UIDVALIDITY),
and so is every message still in the folder that we never marked done (a crash between the
commit and the \\Seen or the move); the commit path's dedupe (list, role, Message-ID + content
hash) recognises what was committed before, so such a message is marked done, not posted again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from enum import StrEnum

from listserv.mail.addresses import domain_problem, normalize_address, parse_recipient
from listserv.mail.message import Recipient, Role

ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To")  # what the delivering server recorded
MESSAGE_HEADERS = ("To", "Cc")
HEADER_END = re.compile(rb"\r?\n\r?\n")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
BACKOFF_FIRST, BACKOFF_CAP = 1.0, 300.0  # seconds between reconnects: doubled each failure, capped
IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes
POLL_SECONDS = 60.0  # without IDLE: look this often
BATCH = 200  # UIDs fetched (and committed) together
BATCH_BYTES = 32 * 1024 * 1024  # and at most this much mail in memory at once


class TlsMode(StrEnum):
    IMPLICIT = "implicit"  # TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain, then STARTTLS before login (port 143)
    NONE = "none"  # no TLS: only to this machine


@dataclass(frozen=True)
class MailboxConfig:
    """One list's IMAP settings (columns of `lists`)."""

    host: str
    user: str
    port: int = 0
    tls: TlsMode = TlsMode.IMPLICIT
    ca_file: str = ""
    password_file: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = ""
    failed_folder: str = "listserv-failed"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls is TlsMode.IMPLICIT else 143)

    @property
    def key(self) -> str:
        """What identifies the mailbox: lists with the same key share it."""
        return f"{self.user}@{self.host.lower()}:{self.effective_port}/{self.folder}"


@dataclass(frozen=True)
class Mailbox:
    config: MailboxConfig
    lists: tuple[str, ...]  # the list addresses it feeds, the first one's settings used

    @property
    def key(self) -> str:
        return self.config.key


def group_mailboxes(configured: Iterable[tuple[str, MailboxConfig]]) -> list[Mailbox]:
    """Lists that name the same mailbox share one connection (first list's settings, by address)."""
    by_key: dict[str, list[tuple[str, MailboxConfig]]] = {}
    for address, config in sorted(configured, key=lambda pair: pair[0]):
        by_key.setdefault(config.key, []).append((address, config))
    return [Mailbox(pairs[0][1], tuple(a for a, _ in pairs)) for _, pairs in sorted(by_key.items())]


def config_problem(config: MailboxConfig) -> str | None:
    """Why the mailbox cannot be used as configured, with what to set; None if it can."""
    if not config.user:
        return "imap_user is not set"
    if not config.password_file and not config.password_env:
        return "neither imap_password_file nor imap_password_env is set"
    if config.tls is TlsMode.NONE and config.host.lower() not in LOOPBACK:
        return (f"imap_tls none would send the password in clear to {config.host}: "
                "set imap_tls implicit or starttls")  # fmt: skip
    if config.failed_folder == config.folder or config.processed_folder == config.folder:
        return "imap_processed_folder and imap_failed_folder must differ from imap_folder"
    return None


def host_problem(value: str) -> str | None:
    if value.lower() in LOOPBACK:
        return None
    return domain_problem(value.lower().rstrip("."))


def port_problem(value: str) -> str | None:
    return None if not value.isdigit() or int(value) <= 65535 else "a port is 65535 or less"


def folder_problem(value: str) -> str | None:
    if any(not c.isprintable() for c in value):
        return "a folder name has no control characters"
    return "too long (200 characters at most)" if len(value) > 200 else None


def env_name_problem(value: str) -> str | None:
    return None if ENV_NAME.fullmatch(value) else f"not an environment variable name: {value!r}"


# -- which UIDs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    uidvalidity: int
    last_uid: int


def resume(stored: Position, uidvalidity: int) -> Position:
    """Where to go on from: the stored last UID, or from the start when the UIDVALIDITY changed
    (the server renumbered the folder; the dedupe recognises what we took before)."""
    if stored.uidvalidity == uidvalidity:
        return stored
    return Position(uidvalidity, 0)


def pending(new: Iterable[int], not_done: Iterable[int], last_uid: int) -> list[int]:
    """UIDs to take, in order: those above last_uid (a search for `last+1:*` also answers the
    highest UID when none is higher), and those in the folder we never marked done."""
    return sorted({uid for uid in new if uid > last_uid} | set(not_done))


def batches(uids: Sequence[int], size: int = BATCH) -> list[Sequence[int]]:
    return [uids[i : i + size] for i in range(0, len(uids), size)]


def size_batches(
    uids: Sequence[int], sizes: Mapping[int, int], max_size: int, budget: int = BATCH_BYTES
) -> list[list[int]]:
    """The UIDs in fetches of at most `budget` bytes as the server reports them (a message over
    max_size is never fetched, so it costs nothing; one bigger than the budget goes alone)."""
    chunks: list[list[int]] = [[]]
    used = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        cost = size if size <= max_size else 0
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(uid)
        used += cost
    return [chunk for chunk in chunks if chunk]


def advanced(last_uid: int, done: Iterable[int]) -> int:
    return max([last_uid, *done])


# -- where a message goes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    rcpts: tuple[tuple[Recipient, str], ...]  # each list address it goes to, and the address as written
    mail_from: str = ""
    problem: str = ""  # why it cannot be taken (no rcpts): it goes to the failed folder


def header_fields(raw: bytes) -> dict[str, list[str]]:
    """The routing headers' values and Return-Path/From, from the header block only."""
    end = HEADER_END.search(raw)
    header = BytesHeaderParser(policy=compat32).parsebytes(raw if end is None else raw[: end.end()])
    names = (*ENVELOPE_HEADERS, *MESSAGE_HEADERS, "Return-Path", "From")
    return {name: [str(v) for v in header.get_all(name, [])] for name in names}


def named(
    fields: dict[str, list[str]], names: Sequence[str], lists: frozenset[str]
) -> tuple[tuple[Recipient, str], ...]:
    """The addresses of the lists that these headers name, each once, in order."""
    found: dict[Recipient, str] = {}
    for name in names:
        for _, address in getaddresses(fields[name]):
            rcpt = parse_recipient(address, lists) if "@" in address else None
            if rcpt is not None and rcpt not in found:
                found[rcpt] = normalize_address(address)
    return tuple(found.items())


def route(raw: bytes, lists: Sequence[str]) -> Route:
    """Which of the mailbox's lists (and which of their addresses) the message was sent to.

    Those the delivering server recorded (Delivered-To, X-Original-To, Envelope-To), else every
    one that To and Cc name: a message to two lists of the mailbox goes to both, as with two
    RCPTs over LMTP. A mailbox that feeds one list takes anything else as a post to it (Bcc, an
    alias); in a shared mailbox, a message that names none of its lists cannot be taken."""
    fields = header_fields(raw)
    known = frozenset(lists)
    mail_from = sender(fields)
    rcpts = named(fields, ENVELOPE_HEADERS, known) or named(fields, MESSAGE_HEADERS, known)
    if rcpts:
        return Route(rcpts, mail_from)
    if len(lists) == 1:
        return Route(((Recipient(lists[0], Role.POST), lists[0]),), mail_from)
    return Route((), mail_from, f"addressed to none of {', '.join(lists)}")


def sender(fields: dict[str, list[str]]) -> str:
    """The envelope sender the delivering server recorded (Return-Path), else the From address."""
    for name in ("Return-Path", "From"):
        found = [a for _, a in getaddresses(fields[name][:1])]
        if found:
            return found[0] if found[0] != "<>" else ""
    return ""


# -- after the commit ---------------------------------------------------------------------------------


class Done(StrEnum):
    TAKEN = "taken"  # committed now or before: \\Seen, or moved to the processed folder
    FAILED = "failed"  # refused for good: moved to the failed folder, the reason logged
    LATER = "later"  # a temporary failure: left as it is, the pass stops and is tried again


def done_of(outcome: bool | BaseException | None, permanent: bool) -> Done:
    """What a commit outcome (ingest.commit_group) means for the message in the mailbox."""
    if isinstance(outcome, bool):
        return Done.TAKEN
    return Done.FAILED if permanent else Done.LATER


def next_backoff(previous: float) -> float:
    """Seconds before the next reconnect: 1, 2, 4, ... 300."""
    return min(BACKOFF_CAP, max(BACKOFF_FIRST, previous * 2))
