"""Commit raw mail durably, and nothing else. The 250 depends on this commit."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from listserv.clock import Clock
from listserv.inbound.replies import (
    CLOSED_TO_JOINS,
    LIST_CLOSED,
    NO_STORAGE,
    NO_SUCH_LIST,
    TOO_BIG,
    Refused,
    Reply,
)
from listserv.mail.message import ListInfo, ListStatus, Recipient, Role
from listserv.mail.parse import content_hash, read_message_id
from listserv.store import queries

log = logging.getLogger(__name__)


class Receive(Protocol):
    def __call__(self, raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool: ...


def dedupe_key(message_id: str, raw: bytes) -> str:
    return hashlib.sha256(f"{message_id}\n{content_hash(raw)}".encode()).hexdigest()


@dataclass
class IntakeItem:
    """One message for one list address, waiting to be committed."""

    raw: bytes
    rcpt: Recipient
    mail_from: str
    rcpt_address: str
    message_id: str = ""
    key: str = ""
    outcome: bool | BaseException | None = None
    done: threading.Event | None = None  # a thread's waiter (receive), set once the outcome is known
    committed: asyncio.Future[None] | None = None  # an event loop's waiter (receive_async), settled likewise

    def __post_init__(self) -> None:
        self.message_id = read_message_id(self.raw)
        self.key = dedupe_key(self.message_id, self.raw)


CLOSED_REFUSES = {Role.POST: LIST_CLOSED, Role.REPLY: LIST_CLOSED, Role.JOIN: CLOSED_TO_JOINS}


def status_refusal(status: ListStatus, role: Role) -> Reply | None:
    """What a list in this status answers mail to one of its addresses, if not "yes" (pure).
    A closed list takes no posts (a digest reply is one) and no joins; leaving, confirming,
    bounces and its facilitators' mail still go through. A removed list is no list at all."""
    if status is ListStatus.REMOVED:
        return NO_SUCH_LIST
    return CLOSED_REFUSES.get(role) if status is ListStatus.CLOSED else None


def arrival_values(session: Session, arrival: IntakeItem, max_size: int, now: datetime,
                   lists: dict[str, ListInfo | None]) -> dict[str, object]:  # fmt: skip
    """The arrival's `inbound` row, or Refused; reads only (`lists` keeps the lists already read)."""
    rcpt = arrival.rcpt
    if rcpt.list_address not in lists:
        lists[rcpt.list_address] = queries.load_list(session, rcpt.list_address)
    lst = lists[rcpt.list_address]
    if lst is None:
        raise Refused(NO_SUCH_LIST)
    refusal = status_refusal(lst.status, rcpt.role)
    if refusal is not None:
        log.info("refused list=%s role=%s status=%s reply=%s", lst.address, rcpt.role.value, lst.status.value, refusal)
        raise Refused(refusal)
    limit = min(filter(None, (lst.max_message_size, max_size)))
    if rcpt.role is Role.POST and len(arrival.raw) > limit:
        raise Refused(TOO_BIG)
    return dict(
        list_id=lst.id, role=rcpt.role.value, mail_from=arrival.mail_from[:998],
        rcpt=arrival.rcpt_address[:998], message_id=arrival.message_id[:998], dedupe_key=arrival.key,
        raw=arrival.raw, received_at=now,
    )  # fmt: skip


def store_arrival(session: Session, arrival: IntakeItem, max_size: int, now: datetime) -> bool:
    """Insert one arrival inside the caller's transaction; False if we already had it."""
    return queries.insert_inbound(session, arrival_values(session, arrival, max_size, now, {}))


def store_arrivals(session: Session, group: list[IntakeItem], max_size: int, now: datetime) -> None:
    """Insert the arrivals in one statement inside the caller's transaction, and set each one's
    outcome: True (stored now), False (had it already, or earlier in the group), or Refused."""
    lists: dict[str, ListInfo | None] = {}
    rows: list[tuple[IntakeItem, dict[str, object]]] = []
    for arrival in group:
        try:
            rows.append((arrival, arrival_values(session, arrival, max_size, now, lists)))
        except Refused as refused:
            arrival.outcome = refused
    stored = queries.insert_inbound_rows(session, [values for _, values in rows])
    for arrival, values in rows:
        key = (values["list_id"], values["role"], values["dedupe_key"])
        arrival.outcome = key in stored
        stored.discard(key)  # the same message twice in one group: the second is a duplicate


def storage_error(error: OperationalError) -> BaseException:
    if any(word in str(error.orig).lower() for word in ("full", "no space")):
        return Refused(NO_STORAGE)
    return error


def _log(arrival: IntakeItem) -> None:
    if isinstance(arrival.outcome, bool):
        log.info("%s list=%s role=%s msgid=%s", "received" if arrival.outcome else "duplicate",
                 arrival.rcpt.list_address, arrival.rcpt.role.value, arrival.message_id)  # fmt: skip


def make_receive(sessions: Callable[[], Session], max_size: int, clock: Clock) -> Receive:
    """receive(...) -> True if stored now, False if we already had it. Raises Refused."""

    def receive(raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool:
        arrival = IntakeItem(raw, rcpt, mail_from, rcpt_address)
        try:
            with sessions() as session, session.begin():
                arrival.outcome = store_arrival(session, arrival, max_size, clock())
        except OperationalError as error:
            raise storage_error(error) from error
        _log(arrival)
        return bool(arrival.outcome)

    return receive


class GroupCommit:
    """Receive from many listener threads; what arrives together is committed together.

    One writer thread takes every arrival waiting in the queue (up to MAX_GROUP) and
    stores them in one transaction (commit_group): one fsync for the group,
    and every caller still gets its 250 only after that commit.
    """

    MAX_GROUP = 64
    ARRIVING_SECONDS = 1.0  # a transaction silent for longer than this no longer counts as arriving

    def __init__(self, sessions: Callable[[], Session], max_size: int, clock: Clock) -> None:
        self.sessions, self.max_size, self.clock = sessions, max_size, clock
        self._queue: queue.SimpleQueue[IntakeItem | None] = queue.SimpleQueue()
        self._committing = False
        self._arriving: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def receive(self, raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool:
        done = threading.Event()
        arrival = IntakeItem(raw, rcpt, mail_from, rcpt_address, done=done)
        self._queue.put(arrival)
        done.wait()
        if isinstance(arrival.outcome, BaseException):
            raise arrival.outcome
        return bool(arrival.outcome)

    async def receive_async(self, raw: bytes, rcpt: Recipient, mail_from: str, rcpt_address: str) -> bool:
        """receive() for the listeners' event loop: the arrival is awaited, not a thread blocked on it."""
        committed = asyncio.get_running_loop().create_future()
        arrival = IntakeItem(raw, rcpt, mail_from, rcpt_address, committed=committed)
        self._queue.put(arrival)
        await committed
        if isinstance(arrival.outcome, BaseException):
            raise arrival.outcome
        return bool(arrival.outcome)

    def arriving(self, transaction: object) -> None:
        """A listener's transaction has begun or goes on (MAIL, RCPT): a message is on its way. It
        stops counting when arrived() is called, when the transaction is gone, or ARRIVING_SECONDS
        after its last command."""
        self._arriving[transaction] = time.monotonic()

    def arrived(self, transaction: object) -> None:
        self._arriving.pop(transaction, None)

    def busy(self) -> bool:
        """Are arrivals on their way, waiting for, or in, a commit? (Processing gives way to intake.)"""
        if self._committing or not self._queue.empty():
            return True
        since = time.monotonic() - self.ARRIVING_SECONDS
        return any(begun > since for begun in list(self._arriving.values()))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            group = [first]
            while len(group) < self.MAX_GROUP and not self._queue.empty():
                item = self._queue.get()
                if item is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[IntakeItem]) -> None:
        self._committing = True
        commit_group(self.sessions, group, self.max_size, self.clock)
        self._committing = False
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for arrival in group:
            if arrival.done is not None:
                arrival.done.set()
            if arrival.committed is not None:
                waiting.setdefault(arrival.committed.get_loop(), []).append(arrival.committed)
        for loop, futures in waiting.items():  # one wake-up of each loop for the whole group
            loop.call_soon_threadsafe(_settle, futures)


def _settle(futures: list[asyncio.Future[None]]) -> None:
    for committed in futures:
        if not committed.done():  # its waiter may have been cancelled (the client went away)
            committed.set_result(None)


def commit_group(sessions: Callable[[], Session], group: list[IntakeItem], max_size: int, clock: Clock) -> None:
    """Store the arrivals in one transaction and set each one's outcome:
    True (stored), False (had it already), Refused, or the error that kept the whole group out."""
    try:
        with sessions() as session, session.begin():
            store_arrivals(session, group, max_size, clock())
    except OperationalError as error:
        failure = storage_error(error)
        for arrival in group:
            arrival.outcome = failure if isinstance(arrival.outcome, bool | None) else arrival.outcome
    except Exception as error:  # noqa: BLE001 - every caller must be answered (with a 451)
        for arrival in group:
            arrival.outcome = error if isinstance(arrival.outcome, bool | None) else arrival.outcome
    for arrival in group:
        _log(arrival)
