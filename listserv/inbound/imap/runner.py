"""`listserv serve`'s IMAP side: one thread per configured mailbox that connects, takes what waits,
then waits in IDLE (renewed every IDLE_RENEW_SECONDS) or polls when the server has no IDLE.
Any failure (network, BYE, a server restart, a stuck connection noticed by a timeout) drops the
connection, is recorded as the mailbox's last error and is followed by a reconnect after a
backoff of 1, 2, 4 ... 300 s. `ImapIntake.refresh()` starts and stops threads as lists' IMAP
settings change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from listserv.clock import Clock
from listserv.errors import ConfigError
from listserv.inbound.imap.client import NETWORK_ERRORS, ImapFailure, describe, wait_for_mail
from listserv.inbound.imap.intake import MailboxIntake
from listserv.inbound.imap.rules import IDLE_RENEW_SECONDS, POLL_SECONDS, Mailbox, next_backoff
from listserv.inbound.imap.state import disconnect_all, load_mailboxes
from listserv.settings import Settings

log = logging.getLogger(__name__)
STOP_SECONDS = 10.0
RETRY_SECONDS = 10.0  # after a pass that left mail waiting


class MailboxRunner:
    def __init__(self, intake: MailboxIntake, idle_seconds: float = IDLE_RENEW_SECONDS,
                 poll_seconds: float = POLL_SECONDS) -> None:  # fmt: skip
        self.intake, self.idle_seconds, self.poll_seconds = intake, idle_seconds, poll_seconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"imap {intake.mailbox.key}", daemon=True)

    def start(self) -> MailboxRunner:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def join(self, seconds: float = STOP_SECONDS) -> None:
        self.thread.join(seconds)

    def run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            try:
                self.intake.connect()
                self._serve()
                backoff = 0.0
            except (*NETWORK_ERRORS, ImapFailure, ConfigError) as error:
                line = describe(error, self.intake.config, self.intake.timeout)
                backoff = next_backoff(backoff)
                log.warning("imap mailbox=%s: %s; trying again in %.0f s", self.intake.mailbox.key, line, backoff)
                self._close(line)
                self.stopping.wait(backoff)
            except Exception as error:  # a bug or the database: logged, retried, never the end of intake
                backoff = next_backoff(backoff)
                log.exception("imap mailbox=%s failed; trying again in %.0f s", self.intake.mailbox.key, backoff)
                self._close(f"{type(error).__name__}: {error}")
                self.stopping.wait(backoff)
        self._close("")

    def _close(self, error: str) -> None:
        try:
            self.intake.close(error)
        except Exception:  # noqa: BLE001 - the database may be what failed
            log.warning("imap mailbox=%s: could not record its state", self.intake.mailbox.key)

    def _serve(self) -> None:
        """Take what waits, then wait for more, until stopped; raises when the connection fails."""
        assert self.intake.client is not None
        idle = self.intake.client.has_capability("IDLE")
        while not self.stopping.is_set():
            if self.intake.drain(self.stopping.is_set).left:  # a temporary failure (the database): soon again
                self.stopping.wait(RETRY_SECONDS)
                continue
            if idle:
                wait_for_mail(self.intake.client, self.idle_seconds, self.stopping.is_set)
            elif not self.stopping.wait(self.poll_seconds):
                self.intake.client.noop()


class ImapIntake:
    """The runners of every configured mailbox, kept in step with the lists' settings."""

    def __init__(self, sessions: Callable[[], Session], settings: Settings, clock: Clock, environ: Mapping[str, str],
                 on_stored: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self.sessions, self.settings, self.clock, self.environ = sessions, settings, clock, environ
        self.on_stored = on_stored
        self.runners: dict[Mailbox, MailboxRunner] = {}
        self.lock, self.stopped = threading.Lock(), False

    def refresh(self) -> int:
        """Start runners for new or changed mailboxes, stop those no longer configured. How many changed."""
        with self.sessions() as session:
            wanted = set(load_mailboxes(session))
        with self.lock:
            return 0 if self.stopped else self._change(wanted)

    def _change(self, wanted: set[Mailbox]) -> int:
        gone = [self.runners.pop(mailbox) for mailbox in list(self.runners) if mailbox not in wanted]
        for runner in gone:
            runner.stop()
        for runner in gone:  # a changed mailbox: the old connection ends before the new one starts
            runner.join()
            log.info("imap intake stopped mailbox=%s", runner.intake.mailbox.key)
        started = sorted(wanted - self.runners.keys(), key=lambda mailbox: mailbox.key)
        for mailbox in started:
            intake = MailboxIntake(mailbox, self.sessions, self.settings, self.clock, self.environ, self.on_stored)
            self.runners[mailbox] = MailboxRunner(intake).start()
            log.info("imap intake started mailbox=%s lists=%s", mailbox.key, ",".join(mailbox.lists))
        return len(gone) + len(started)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
        runners = list(self.runners.values())
        self.runners.clear()
        for runner in runners:
            runner.stop()
        for runner in runners:
            runner.join()
        with self.sessions() as session, session.begin():
            disconnect_all(session, [runner.intake.mailbox.key for runner in runners])
