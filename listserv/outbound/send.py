"""The sender: claim a batch, hand it to the relay in one transaction, record each reply.

A crash between the relay's 250 and our commit re-sends that one batch: the
batch size (default 100 recipients, one SMTP transaction for shared mail) is
the bound on duplicates.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from listserv.dkim.keys import load_key
from listserv.dkim.sign import BatchSigner, DomainKey, sign_copy
from listserv.errors import ConfigError
from listserv.inbound.authres import trusted_ids_of
from listserv.outbound import oneclick
from listserv.outbound.arc import SealError, seal
from listserv.outbound.relay import Relay
from listserv.outbound.smtp_client import SMTPError, SMTPReply, Transaction
from listserv.secret import load_secret
from listserv.settings import Settings
from listserv.store import queries
from listserv.store.faults import Backoff, describe_failure, is_resource_failure
from listserv.store.schema import DeliveryStatus
from listserv.work import Work

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
ENVELOPES_KEPT = 4  # outbounds whose message a sender keeps, not to read it again for each batch
SIGNED_CHUNK = 20  # signed copies per pipelined group (~1.5 ms of signing each)
Claimed = tuple[queries.ClaimedBatch, queries.Envelope]
Personalise = Callable[[bytes, str], bytes]  # (shared message, recipient) -> that member's copy


def one_click_links(secret_file: str) -> Personalise:
    """Each member's own one-click unsubscribe link; the secret is read only for marked mail."""

    def personalise(raw: bytes, rcpt: str) -> bytes:
        return oneclick.insert_member_token(raw, rcpt, load_secret(secret_file)) if oneclick.has_marker(raw) else raw

    return personalise


def verp(mail_from: str, rcpt: str) -> str:
    """LIST-bounces+alice=example.org@domain: a bounce names the member."""
    local, _, domain = mail_from.partition("@")
    return f"{local}+{rcpt.replace('@', '=')}@{domain}"


def backoff(settings: Settings, attempts: int) -> timedelta:
    return min(timedelta(seconds=settings.retry_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class BatchOutcome:
    sent: list[tuple[int, str]]
    deferred: list[tuple[int, str]]
    failed: list[tuple[int, str]]


def classify(deliveries: tuple[tuple[int, str, datetime], ...], replies: dict[str, SMTPReply],
             give_up_before: datetime) -> BatchOutcome:  # fmt: skip
    """Sort each recipient by its reply: 2xx sent, 5xx failed, 4xx deferred until too old."""
    outcome = BatchOutcome([], [], [])
    for delivery_id, rcpt, created in deliveries:
        reply = replies.get(rcpt, SMTPReply(451, "no reply"))
        if reply.code < 400:
            outcome.sent.append((delivery_id, str(reply)))
        elif reply.code >= 500 or created < give_up_before:
            outcome.failed.append((delivery_id, str(reply)))
        else:
            outcome.deferred.append((delivery_id, str(reply)))
    return outcome


class Seals:
    """Each post's sealed message, made once per process however many batches it has (dkimpy's
    RSA takes ~57 ms a seal). The last few are kept; the senders of a process share one."""

    def __init__(self, keep: int = 8) -> None:
        self._made: OrderedDict[int, bytes] = OrderedDict()
        self._keep, self._lock = keep, threading.Lock()

    def get(self, outbound_id: int, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if outbound_id in self._made:
                self._made.move_to_end(outbound_id)
                return self._made[outbound_id]
        made = make()  # two senders may both make one at the start of a fan-out: either will do
        with self._lock:
            self._made[outbound_id] = made
            while len(self._made) > self._keep:
                self._made.popitem(last=False)
        return made


class Sender:
    """Claims a batch, sends it, records each reply.

    Recording batch k and claiming batch k+1 share one transaction (one commit, one
    fsync), so while a fan-out runs a sender holds the lease of the next batch between
    two calls of send_next(). If the process stops there, that batch waits for its lease
    to expire (`lease_seconds`; SQLite installs release leases at start-up).

    If the outcome cannot be recorded because the database or the disk fails, the replies
    are kept in memory and recorded before anything else is claimed: the batch is not sent
    again for want of a place to write down that it went.
    """

    def __init__(self, work: Work, relay: Relay, personalise: Personalise | None = None,
                 seals: Seals | None = None) -> None:  # fmt: skip
        self.work, self.sessions, self.settings, self.relay = work, work.sessions, work.settings, relay
        self.personalise = personalise or one_click_links(work.settings.secret_file)
        self.seals = seals or Seals()
        self._next: Claimed | None = None
        self.backoff = Backoff(timedelta(seconds=work.settings.fault_backoff_seconds))
        self._unrecorded: tuple[queries.ClaimedBatch, queries.Envelope, dict[str, SMTPReply]] | None = None
        self._envelopes: OrderedDict[int, queries.Envelope] = OrderedDict()  # by outbound id: the last few

    def claim(self) -> Claimed | None:
        with self.sessions() as session, session.begin():
            return self._claim(session)

    def _claim(self, session: Session) -> Claimed | None:
        batch = queries.claim_batch(session, self.work.now(), timedelta(seconds=self.settings.lease_seconds))
        if batch is None:
            self._envelopes.clear()  # idle: forgotten, so an outbound id SQLite reuses later is read afresh
            return None
        envelope = queries.load_envelope(session, batch, self._envelopes.get(batch.outbound_id))
        self._envelopes[batch.outbound_id] = envelope
        self._envelopes.move_to_end(batch.outbound_id)
        while len(self._envelopes) > ENVELOPES_KEPT:
            self._envelopes.popitem(last=False)
        return batch, envelope

    async def send_next(self) -> bool:
        """Send one batch. False when nothing is due, or while the database fails."""
        if self.backoff.waiting(self.work.now()):
            return False
        try:
            if self._unrecorded is not None:
                await asyncio.to_thread(self.record, *self._unrecorded)
                self._unrecorded = None
            claimed, self._next = self._next or await asyncio.to_thread(self.claim), None
        except Exception as error:
            if not is_resource_failure(error):
                raise
            log.warning("sender paused %gs: %s", self._pause(), describe_failure(error, self.settings.database_url))
            return False
        if claimed is None:
            return False
        batch, envelope = claimed
        rcpts = [rcpt for _, rcpt, _ in envelope.deliveries]
        replies: dict[str, SMTPReply] = {}
        try:
            await self._send(batch.outbound_id, envelope, rcpts, replies)
        except SMTPError as error:
            log.warning("relay unavailable batch=%s: %s", batch.id, error)
            for known in error.replies:  # transactions that finished before the failure
                replies.update(known)
            unknown = SMTPReply(451, f"4.4.2 {error}")
            replies.update({rcpt: unknown for rcpt in rcpts if rcpt not in replies})
        try:
            self._next = await asyncio.to_thread(self.record_and_claim, batch, envelope, replies)
        except Exception as error:
            if not is_resource_failure(error):
                raise
            log.warning("sent batch=%s; its replies are kept until they can be recorded (paused %gs): %s",
                        batch.id, self._pause(), describe_failure(error, self.settings.database_url))  # fmt: skip
            self._unrecorded = (batch, envelope, replies)
            return False
        self.backoff.succeeded()
        return True

    def _pause(self) -> float:
        return self.backoff.failed(self.work.now()).total_seconds()

    async def _send(self, outbound_id: int, envelope: queries.Envelope, rcpts: list[str],
                    replies: dict[str, SMTPReply]) -> None:  # fmt: skip
        """Fill in each recipient's final reply. Personalised mail: one transaction per
        recipient with its VERP sender, pipelined on one connection (send_many)."""
        if not rcpts:
            return
        key = self.signing_key(envelope.mail_from)
        # RSA signing releases the GIL: senders making their copies on threads use every core
        if not envelope.personalized:
            data = (
                envelope.raw if key is None else await asyncio.to_thread(self.shared_copy, outbound_id, envelope, key)
            )
            replies.update(await self.relay.send(envelope.mail_from, rcpts, data))
            return
        step = SIGNED_CHUNK if key else len(rcpts)  # signed copies go out in chunks: the first one soon
        for start in range(0, len(rcpts), step):
            transactions = await asyncio.to_thread(self.copies, outbound_id, envelope, rcpts[start : start + step], key)
            for known in await self.relay.send_many(transactions):
                replies.update(known)

    def shared_copy(self, outbound_id: int, envelope: queries.Envelope, key: DomainKey) -> bytes:
        """The one copy every recipient of the batch gets, sealed and signed."""
        return sign_copy(self.seals.get(outbound_id, lambda: self.sealed(envelope, key)), key, self.moment())

    def copies(self, outbound_id: int, envelope: queries.Envelope, rcpts: list[str],
               key: DomainKey | None) -> list[Transaction]:  # fmt: skip
        """Each member's own copy (their one-click link), sealed once and signed each when the domain has a key."""
        raw = envelope.raw if key is None else self.seals.get(outbound_id, lambda: self.sealed(envelope, key))
        signer = BatchSigner(key, raw, self.moment()) if key else None
        transactions = []
        for rcpt in rcpts:
            data = self.personalise(raw, rcpt)
            transactions.append(Transaction(verp(envelope.mail_from, rcpt), (rcpt,),
                                            signer.sign(data) if signer else data))  # fmt: skip
        return transactions

    def sealed(self, envelope: queries.Envelope, key: DomainKey) -> bytes:
        """A post with our ARC set on top (RFC 8617); the seal never covers the per-member headers.
        Mail the list writes itself is not sealed."""
        if envelope.arc_seal is None:
            return envelope.raw
        inputs = json.loads(envelope.arc_seal or "{}")
        trusted = trusted_ids_of(self.settings.authserv_ids)
        try:
            return seal(envelope.raw, key.domain, key.selector, key.pem, trusted[0] if trusted else self.settings.domain,
                        self.work.now(), chain=inputs.get("chain"), results=tuple(inputs.get("results", ())))  # fmt: skip
        except SealError as error:
            log.warning("sending without an ARC seal: %s", error)
            return envelope.raw

    def signing_key(self, mail_from: str) -> DomainKey | None:
        """The key of the list's domain (our bounce address's); mail goes unsigned without one."""
        try:
            return load_key(self.settings, mail_from.rpartition("@")[2])
        except ConfigError as error:
            log.error("sending unsigned: %s", error)
            return None

    def moment(self) -> int:
        """t= of the signatures: now, in seconds since the epoch."""
        return calendar.timegm(self.work.now().timetuple())

    def record(self, batch: queries.ClaimedBatch, envelope: queries.Envelope,
               replies: dict[str, SMTPReply]) -> None:  # fmt: skip
        with self.sessions() as session, session.begin():
            outcome = self._record(session, batch, envelope, replies)
        log_outcome(batch, outcome)

    def record_and_claim(self, batch: queries.ClaimedBatch, envelope: queries.Envelope,
                         replies: dict[str, SMTPReply]) -> Claimed | None:  # fmt: skip
        """Record this batch and claim the next one in one transaction. If that fails,
        the outcome is still recorded on its own (or the error raised)."""
        try:
            with self.sessions() as session, session.begin():
                outcome = self._record(session, batch, envelope, replies)
                claimed = self._claim(session)
            log_outcome(batch, outcome)
            return claimed
        except Exception:
            log.warning("record and claim failed batch=%s; recording alone", batch.id, exc_info=True)
        self.record(batch, envelope, replies)
        return None

    def _record(self, session: Session, batch: queries.ClaimedBatch, envelope: queries.Envelope,
                replies: dict[str, SMTPReply]) -> BatchOutcome:  # fmt: skip
        now = self.work.now()
        outcome = classify(envelope.deliveries, replies, now - timedelta(hours=self.settings.give_up_hours))
        retry_at = now + backoff(self.settings, batch.attempts) if outcome.deferred else None
        queries.record_deliveries(session, DeliveryStatus.SENT, outcome.sent)
        queries.record_deliveries(session, DeliveryStatus.FAILED, outcome.failed)
        queries.record_deliveries(session, DeliveryStatus.DEFERRED, outcome.deferred)
        queries.finish_batch(session, batch.id, retry_at)
        return outcome


def log_outcome(batch: queries.ClaimedBatch, outcome: BatchOutcome) -> None:
    log.info("sent batch=%s outbound=%s sent=%d deferred=%d failed=%d", batch.id, batch.outbound_id,
             len(outcome.sent), len(outcome.deferred), len(outcome.failed))  # fmt: skip
