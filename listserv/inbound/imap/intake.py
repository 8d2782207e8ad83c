"""One mailbox's intake: select the folder, take every waiting message through the same commit
as LMTP and SMTP (ingest.commit_group: same checks, same dedupe, same worker queue), and only
after the commit mark it \\Seen or move it to the processed folder. A message refused for good
goes to the failed folder with its reason logged; a temporary failure stops the pass, leaving
the message as it is for the next one.

Bodies are fetched with BODY.PEEK[] (fetching marks nothing), in batches bounded by count and by
the sizes the server reports, so memory stays bounded whatever the mailbox holds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from imapclient import IMAPClient  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from listserv.clock import Clock
from listserv.inbound.imap.client import (
    NETWORK_ERRORS,
    TIMEOUT_SECONDS,
    ImapFailure,
    describe,
    ensure_folder,
    mark_seen,
    move,
    open_client,
    safe_close,
)
from listserv.inbound.imap.rules import (
    Done,
    Mailbox,
    Position,
    advanced,
    batches,
    done_of,
    pending,
    resume,
    route,
    size_batches,
)
from listserv.inbound.imap.state import Progress, load_position, save_connected, save_progress
from listserv.inbound.ingest import IntakeItem, commit_group
from listserv.inbound.limits import check_limits
from listserv.inbound.replies import Refused
from listserv.inbound.server import limits_of
from listserv.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Summary:
    """What a pass did: committed now or recognised (taken), moved to the failed folder, left waiting."""

    taken: int = 0
    failed: int = 0
    left: int = 0


@dataclass(frozen=True)
class Failure:
    uid: int
    reason: str
    message_id: str = ""


@dataclass
class Chunk:
    """Messages fetched together: arrivals to commit, by UID, and those that cannot be taken."""

    failures: list[Failure]
    arrivals: dict[int, list[IntakeItem]] = field(default_factory=dict)  # one a list the message goes to


class MailboxIntake:
    """The connection to one mailbox and what is taken from it. Blocking: run it in a thread."""

    def __init__(self, mailbox: Mailbox, sessions: Callable[[], Session], settings: Settings, clock: Clock,
                 environ: Mapping[str, str], on_stored: Callable[[], None] = lambda: None,
                 timeout: float = TIMEOUT_SECONDS) -> None:  # fmt: skip
        self.mailbox, self.config, self.timeout = mailbox, mailbox.config, timeout
        self.sessions, self.settings, self.clock, self.environ = sessions, settings, clock, environ
        self.on_stored = on_stored
        self.client: IMAPClient | None = None
        self.position = Position(0, 0)
        self.exists = 0  # messages in the folder when selected

    # -- the connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Log in, make the failed (and processed) folder if missing, select. Raises ImapFailure."""
        self.close()
        client = open_client(self.config, self.environ, self.timeout)
        try:
            for folder in (self.config.failed_folder, self.config.processed_folder):
                ensure_folder(client, folder)
            selected = client.select_folder(self.config.folder)
        except NETWORK_ERRORS as error:
            safe_close(client)
            raise ImapFailure(f"{describe(error, self.config, self.timeout)} (folder {self.config.folder})") from None
        self.client = client
        self.exists = int(selected.get(b"EXISTS", 0))
        uidvalidity = int(selected.get(b"UIDVALIDITY", 0))
        with self.sessions() as session, session.begin():
            stored = load_position(session, self.mailbox)
            self.position = resume(stored, uidvalidity)
            save_connected(session, self.mailbox, True, "", self.clock())
        if stored.uidvalidity and self.position != stored:
            log.warning("imap mailbox=%s UIDVALIDITY changed from %d to %d: the folder is read again from its "
                        "first message; what was taken before is recognised", self.mailbox.key, stored.uidvalidity,
                        uidvalidity)  # fmt: skip
        log.info("imap connected mailbox=%s lists=%s messages=%d", self.mailbox.key, ",".join(self.mailbox.lists),
                 self.exists)  # fmt: skip

    def close(self, error: str = "") -> None:
        """Drop the connection; record the error (if any) and that we are not connected."""
        client, self.client = self.client, None
        safe_close(client)
        with self.sessions() as session, session.begin():
            save_connected(session, self.mailbox, False, error, self.clock())

    # -- a pass -----------------------------------------------------------------------------------

    def pending_uids(self) -> list[int]:
        """The UIDs to take now, oldest first (rules.pending)."""
        assert self.client is not None
        new = self.client.search(["UID", f"{self.position.last_uid + 1}:*", "NOT", "DELETED"])
        not_done = ["NOT", "DELETED"] if self.config.processed_folder else ["UNSEEN", "NOT", "DELETED"]
        return pending(new, self.client.search(not_done), self.position.last_uid)

    def drain(self, stopping: Callable[[], bool] = lambda: False) -> Summary:
        """Take every waiting message, chunk by chunk, unless stopping. Raises on network errors.

        Pipelined: while one chunk is committed (in a second thread: the database), the next is
        fetched (here: the IMAP connection, which only this thread uses); then the committed
        one is marked or moved. At most two chunks are in memory."""
        assert self.client is not None
        uids = self.pending_uids()
        summary = Summary(left=len(uids))
        self._save(Progress(self.position, len(uids)))
        committing: tuple[Future[None], Chunk] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="imap-commit") as pool:
            for uids_, sizes in self._chunks(uids, stopping):
                chunk = self._fetch(uids_, sizes)
                if committing is not None and self._finish(*committing, summary):
                    return summary
                group = [arrival for arrivals in chunk.arrivals.values() for arrival in arrivals]
                committing = (pool.submit(commit_group, self.sessions, group, self.settings.max_message_size,
                                          self.clock), chunk)  # fmt: skip
            if committing is not None:
                self._finish(*committing, summary)
        return summary

    def _chunks(self, uids: Sequence[int], stopping: Callable[[], bool]) -> Iterator[tuple[list[int], dict[int, int]]]:
        """The UIDs in batches, each split by the sizes the server reports (rules.size_batches)."""
        assert self.client is not None
        for batch in batches(uids):
            if stopping():
                return
            found = self.client.fetch(list(batch), ["RFC822.SIZE"])
            sizes = {uid: int(data.get(b"RFC822.SIZE") or 0) for uid, data in found.items()}
            for chunk in size_batches(batch, sizes, self.settings.max_message_size):
                yield chunk, sizes

    def _fetch(self, uids: list[int], sizes: Mapping[int, int]) -> Chunk:
        """Fetch the bodies (never one over max_message_size) and make each an arrival, or a failure."""
        assert self.client is not None
        limit = self.settings.max_message_size
        chunk = Chunk([Failure(uid, f"{sizes[uid]} bytes, over max_message_size {limit}") for uid in uids
                       if sizes.get(uid, 0) > limit])  # fmt: skip
        wanted = [uid for uid in uids if sizes.get(uid, 0) <= limit]
        fetched = self.client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
        for uid in wanted:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:
                log.info("imap mailbox=%s uid=%d vanished before its fetch", self.mailbox.key, uid)
                continue
            arrivals, problem = self._arrivals(bytes(raw))
            if arrivals:
                chunk.arrivals[uid] = arrivals
            else:
                chunk.failures.append(Failure(uid, problem))
        return chunk

    def _finish(self, commit: Future[None], chunk: Chunk, summary: Summary) -> bool:
        """After the chunk's commit: mark or move its messages, count them. True: a temporary failure."""
        commit.result()
        done, later = self._outcomes(chunk.arrivals, chunk.failures)
        self._apply(done, chunk.failures)
        summary.taken += len(done)
        summary.failed += len(chunk.failures)
        summary.left -= len(done) + len(chunk.failures)
        self._save(Progress(self.position, summary.left, len(done), len(chunk.failures)))
        return later

    def _arrivals(self, raw: bytes) -> tuple[list[IntakeItem], str]:
        """The message as one arrival for each list it goes to, or why it cannot be taken."""
        refusal = check_limits(raw, limits_of(self.settings))
        if refusal is not None:
            return [], str(refusal)
        where = route(raw, self.mailbox.lists)
        return [IntakeItem(raw, rcpt, where.mail_from, address) for rcpt, address in where.rcpts], where.problem

    def _outcomes(self, arrivals: dict[int, list[IntakeItem]], failures: list[Failure]) -> tuple[list[int], bool]:
        """UIDs taken, before the first temporary failure; those refused for every list join `failures`."""
        done: list[int] = []
        for uid, items in sorted(arrivals.items()):
            verdicts = [done_of(a.outcome, isinstance(a.outcome, Refused) and a.outcome.reply.code >= 500)
                        for a in items]  # fmt: skip
            if Done.LATER in verdicts:
                log.warning("imap mailbox=%s uid=%d msgid=%s not taken now (%s); tried again on the next pass",
                            self.mailbox.key, uid, items[0].message_id,
                            next(a.outcome for a, v in zip(items, verdicts) if v is Done.LATER))  # fmt: skip
                failures[:] = [f for f in failures if f.uid < uid]
                return done, True
            refused = [f"{a.rcpt.list_address}: {a.outcome}" for a, v in zip(items, verdicts) if v is Done.FAILED]
            if len(refused) == len(items):
                failures.append(Failure(uid, "; ".join(refused), items[0].message_id))
                continue
            for line in refused:  # taken for the other lists of the mailbox
                log.warning("imap mailbox=%s uid=%d msgid=%s refused for %s", self.mailbox.key, uid,
                            items[0].message_id, line)  # fmt: skip
            done.append(uid)
        if any(a.outcome is True for items in arrivals.values() for a in items):
            self.on_stored()
        return done, False

    def _apply(self, done: list[int], failures: list[Failure]) -> None:
        """After the commit: mark or move what was taken, move what failed; the position goes on."""
        assert self.client is not None
        if self.config.processed_folder:
            move(self.client, done, self.config.processed_folder)
        else:
            mark_seen(self.client, done)
        for failure in failures:
            log.warning("imap mailbox=%s uid=%d msgid=%s failed: %s; moved to %s", self.mailbox.key, failure.uid,
                        failure.message_id, failure.reason, self.config.failed_folder)  # fmt: skip
        move(self.client, sorted(f.uid for f in failures), self.config.failed_folder)
        self.position = Position(self.position.uidvalidity,
                                 advanced(self.position.last_uid, done + [f.uid for f in failures]))  # fmt: skip

    def _save(self, progress: Progress) -> None:
        with self.sessions() as session, session.begin():
            save_progress(session, self.mailbox, progress, self.clock())
