"""`listserv serve`: the LMTP and SMTP listeners, the worker, the senders, the jobs and the
HTTP listener, in one process; and `drain`, the same work done once for `inject --now`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from listserv.features import JOBS, Job
from listserv.inbound.connections import ConnectionGate
from listserv.inbound.imap.runner import ImapIntake
from listserv.inbound.ingest import GroupCommit
from listserv.inbound.server import (
    IngestHandler,
    KnownLists,
    ListLMTP,
    ListSMTP,
    cannot_listen,
    limits_of,
    server_tls_context,
)
from listserv.outbound.relay import Relay, open_relay, open_relays
from listserv.outbound.send import Seals, Sender
from listserv.settings import HostPort
from listserv.store import nodes, queries
from listserv.store.faults import describe_failure, is_conflict, is_resource_failure
from listserv.web.server import WebServer
from listserv.work import Work
from listserv.worker.process import Worker

log = logging.getLogger(__name__)
PLAN_CHECK_SECONDS = 0.02
STOP_WAIT_SECONDS = 10
# While mail is arriving, processing waits up to INTAKE_WAIT_SECONDS, then has a slice of
# PROCESSING_SLICE_SECONDS: a flood gets ~90 % of the process, and processing never starves.
INTAKE_WAIT_SECONDS = 0.5
PROCESSING_SLICE_SECONDS = 0.05
INTAKE_POLL_SECONDS = 0.005
IMAP_REFRESH_SECONDS = 30  # a list's changed IMAP settings take effect within this
CONFLICT_RETRIES = 5  # PostgreSQL serialisation failures or deadlocks in a row retried at once


async def wait_until_set(event: asyncio.Event, seconds: float) -> None:
    """Until the event is set or the seconds pass. Not asyncio.wait_for: on Python 3.11 it can
    swallow a cancellation that arrives just as the event is set, and the loop never stops."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
    event.clear()


async def cancel_all(tasks: list[asyncio.Task[None]], seconds: float) -> None:
    """Cancel the tasks and wait for them, cancelling again any that swallowed the cancellation
    (a library's wait_for can), for at most `seconds`: a stop always finishes."""
    loop = asyncio.get_running_loop()
    deadline, pending = loop.time() + seconds, set(tasks)
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(0.5, max(deadline - loop.time(), 0.01)))
    if pending:
        log.warning("stopping with %d tasks still running", len(pending))


async def _loop_until_idle(step: Callable[[], Awaitable[bool]], wake: asyncio.Event, seconds: float,
                           name: str) -> None:  # fmt: skip
    conflicts = 0
    while True:
        try:
            if await step():
                conflicts = 0
                continue
        except Exception as error:
            if is_conflict(error) and conflicts < CONFLICT_RETRIES:  # rolled back whole: the transaction seam
                conflicts += 1
                log.info("%s step retried after %s", name, describe_failure(error))
                await asyncio.sleep(random.uniform(0, 0.05 * conflicts))
                continue
            if not is_resource_failure(error):
                log.exception("%s step failed", name)
            else:  # the database or its disk: one line, and the next try after the usual wait
                log.warning("%s step failed: %s", name, describe_failure(error))
        conflicts = 0
        await wait_until_set(wake, seconds)


class Service:
    def __init__(self, work: Work, engine: Engine, inherited: tuple[socket.socket, ...] = ()) -> None:
        self.inherited = inherited  # bound lmtp, smtp, http sockets from `serve --workers` (supervise.py)
        self.me = nodes.identity(work.settings.node_name)
        work = dataclasses.replace(work, sessions=nodes.claiming_sessions(engine, self.me.name))
        self.work, self.settings, self.engine = work, work.settings, engine
        self.started: datetime | None = None
        self.registered = False  # the first heartbeat is committed
        self.running: set[str] = set()  # the jobs running now, for the heartbeat
        # a thread for each periodic job: none waits for another, nor takes the threads that
        # processing, sending and the listeners' lookups wait for (asyncio.to_thread's)
        self.job_threads = ThreadPoolExecutor(len(JOBS), thread_name_prefix="listserv-job")
        self.worker = Worker(work)
        self.wake_worker, self.wake_senders = asyncio.Event(), asyncio.Event()
        self.servers: list[asyncio.AbstractServer] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.relays: list[Relay] = []
        self.intake: GroupCommit | None = None
        self.slice_until = 0.0  # processing goes on without giving way to intake until then (loop time)
        self.imap: ImapIntake | None = None
        self.web = WebServer(work, self.wake_senders.set)

    async def _listen(self, address: HostPort, lmtp: bool, tls: ssl.SSLContext | None = None,
                      sock: socket.socket | None = None) -> None:  # fmt: skip
        """The LMTP listener, or the SMTP one (with STARTTLS when given a context). Raises ServiceError."""
        lists = KnownLists(self._load_lists)
        assert self.intake is not None
        receive = self.intake.receive
        handler = IngestHandler(lists, receive, limits_of(self.settings), self.wake_worker.set, lmtp=lmtp,
                                intake=self.intake)  # fmt: skip
        size, require_tls = self.settings.max_message_size, self.settings.smtp_require_tls
        name = "LMTP" if lmtp else "SMTP"
        gate = ConnectionGate(name, self.settings.smtp_max_connections, self.settings.smtp_max_connections_per_client)
        timeout = self.settings.smtp_command_timeout

        def protocol() -> ListLMTP | ListSMTP:
            if lmtp:
                return ListLMTP(handler, data_size_limit=size, enable_SMTPUTF8=True, gate=gate, timeout=timeout)
            return ListSMTP(handler, data_size_limit=size, enable_SMTPUTF8=True, tls_context=tls,
                            require_starttls=require_tls, gate=gate, timeout=timeout)  # fmt: skip

        try:
            loop = asyncio.get_running_loop()
            if sock is not None:
                server = await loop.create_server(protocol, sock=sock)
            else:
                server = await loop.create_server(protocol, address.host, address.port)
        except OSError as error:
            raise cannot_listen(name, address, f"{name.lower()}_listen", error) from None
        self.servers.append(server)
        offer = "" if tls is None else " with STARTTLS (required)" if require_tls else " with STARTTLS"
        log.info("listening %s on %s%s", name, address, offer)

    def _load_lists(self) -> frozenset[str]:
        with self.work.sessions() as session:
            return queries.load_list_addresses(session)

    async def _process(self) -> bool:
        await self._give_way_to_intake()
        if await asyncio.to_thread(self.worker.process_next):
            self.wake_senders.set()
            return True
        if await asyncio.to_thread(self.worker.fanout_unplanned):
            await asyncio.sleep(PLAN_CHECK_SECONDS)  # the senders are working through the last chunk
            return True
        return False

    async def _give_way_to_intake(self) -> None:
        """Processing can wait a moment; an MTA waiting for its 250 should not."""
        loop = asyncio.get_running_loop()
        if self.intake is None or loop.time() < self.slice_until:
            return
        until = loop.time() + INTAKE_WAIT_SECONDS
        while self.intake.busy():
            if loop.time() >= until:
                self.slice_until = loop.time() + PROCESSING_SLICE_SECONDS
                return
            await asyncio.sleep(INTAKE_POLL_SECONDS)

    def _job_step(self, job: Job) -> Callable[[], Awaitable[bool]]:
        async def step() -> bool:
            self.running.add(job.name)
            try:
                done = await asyncio.get_running_loop().run_in_executor(self.job_threads, job.run, self.work)
            finally:
                self.running.discard(job.name)
            if done:
                log.info("job %s did %d", job.name, done)
                self.wake_senders.set()
            return False  # then wait `every`, or until woken

        return step

    async def start(self) -> None:
        """Start everything, or, if anything cannot start (ConfigError, ServiceError), close what
        was opened and raise: `listserv serve` then prints one line and exits."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.work.secret()  # read before anything listens: a missing or unreadable secret_file stops here
        tls = server_tls_context(self.settings.tls_cert_file, self.settings.tls_key_file)  # files read first
        self.relays = open_relays(self.settings, self.settings.connections)
        self.intake = GroupCommit(self.work.sessions, self.settings.max_message_size, self.work.clock)
        await self._first_beat()
        heartbeat = _loop_until_idle(self._heartbeat, asyncio.Event(), self.settings.heartbeat_seconds, "heartbeat")
        self.tasks.append(asyncio.create_task(heartbeat))
        lmtp, smtp, http = self.inherited or (None, None, None)
        await self._listen(self.settings.lmtp_listen, lmtp=True, sock=lmtp)
        await self._listen(self.settings.smtp_listen, lmtp=False, tls=tls, sock=smtp)
        await self.web.start(http)  # one-click unsubscribe, the archive (listserv/web/)
        poll = self.settings.poll_seconds
        self.tasks.append(asyncio.create_task(_loop_until_idle(self._process, self.wake_worker, poll, "worker")))
        seals = Seals()  # each post ARC-sealed once, whichever sender takes its batches
        for index, relay in enumerate(self.relays):
            sender = Sender(self.work, relay, seals=seals)
            loop = _loop_until_idle(sender.send_next, self.wake_senders, poll, f"sender-{index}")
            self.tasks.append(asyncio.create_task(loop))
        for job in JOBS:
            loop = _loop_until_idle(self._job_step(job), asyncio.Event(), job.every.total_seconds(), job.name)
            self.tasks.append(asyncio.create_task(loop))
        self._start_imap()
        log.info("serving relay=%s database=%s", self.settings.relay, self.engine.url.render_as_string())

    async def _first_beat(self) -> None:
        """Before this node claims anything: its row (so that a sibling starting up does not take its
        claims for a dead process's), and what dead processes held freed. With the database down,
        the heartbeat loop does it later; nothing can be claimed meanwhile."""
        try:
            await asyncio.to_thread(self._beat)
        except Exception as error:
            if not is_resource_failure(error):
                raise
            log.warning("node %s cannot record itself yet: %s", self.me.name, describe_failure(error))

    async def _heartbeat(self) -> bool:
        await asyncio.to_thread(self._beat)
        return False

    def _beat(self) -> None:
        """Record this node alive; free the claims of dead processes on this host (on SQLite, of
        any process not running: one host has them all)."""
        first = not self.registered
        with self.work.sessions() as session, session.begin():
            now = self.work.now()
            self.started = self.started or now
            nodes.beat(session, self.me, now, " ".join(sorted(self.running)), self.started)
            if first:  # what a node of this name held before this process started, its predecessor left
                nodes.release_leases_of(session, [self.me.name])
            if first and self.engine.dialect.name == "sqlite":
                freed = nodes.release_leases(session, keep=nodes.live_local_names(session, self.me))
                gone = ["dead processes"] if freed else []
            else:
                gone = nodes.release_dead_neighbours(session, self.me)
        self.registered = True
        if first:
            log.info("node %s started (pid %d)", self.me.name, self.me.pid)
        if gone:
            log.warning("freed the claims of %s (process gone)", ", ".join(gone))

    def _start_imap(self) -> None:
        """One thread per configured mailbox (inbound/imap/runner.py), re-read every IMAP_REFRESH_SECONDS."""
        loop = asyncio.get_running_loop()

        def wake_worker() -> None:  # from a mailbox's thread, after its commit
            loop.call_soon_threadsafe(self.wake_worker.set)

        imap = self.imap = ImapIntake(self.work.sessions, self.settings, self.work.clock, os.environ, wake_worker)

        async def refresh() -> bool:
            await asyncio.to_thread(imap.refresh)
            return False

        self.tasks.append(asyncio.create_task(_loop_until_idle(refresh, asyncio.Event(), IMAP_REFRESH_SECONDS,
                                                               "imap")))  # fmt: skip

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        await cancel_all(self.tasks, STOP_WAIT_SECONDS)
        await asyncio.to_thread(self.job_threads.shutdown, wait=True, cancel_futures=True)  # a running job ends
        if self.imap is not None:
            await asyncio.to_thread(self.imap.stop)
        await asyncio.gather(*(relay.close() for relay in self.relays), return_exceptions=True)
        await self.web.stop()
        for server in self.servers:
            try:  # waits for open sessions; a client that never hangs up must not hold the stop
                await asyncio.wait_for(server.wait_closed(), STOP_WAIT_SECONDS)
            except asyncio.TimeoutError:
                log.warning("stopping with client sessions still open")
        if self.intake is not None:
            await asyncio.to_thread(self.intake.close)
        if self.started is not None:
            await asyncio.to_thread(self._leave)

    def _leave(self) -> None:
        """Say this node stopped and free what it still holds (a sender's next batch): no lease to wait for."""
        try:
            with self.work.sessions() as session, session.begin():
                freed = nodes.stopped(session, self.me, self.work.now())
        except Exception as error:  # the database is down: the leases expire instead
            log.warning("node %s stopping without a goodbye: %s", self.me.name, describe_failure(error))
            return
        log.info("node %s stopped%s", self.me.name, f", freed {freed} claims" if freed else "")


async def serve_until_stopped(work: Work, engine: Engine, inherited: tuple[socket.socket, ...] = ()) -> None:
    service = Service(work, engine, inherited)
    await service.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("stopping")
    await service.stop()


async def drain(work: Work) -> None:
    """Process every waiting message, then send everything due, once (no listeners, no jobs)."""
    worker = Worker(work)
    while worker.process_next():
        pass
    relay = open_relay(work.settings)
    sender = Sender(work, relay)
    try:
        while await sender.send_next():
            pass
    finally:
        await relay.close()
