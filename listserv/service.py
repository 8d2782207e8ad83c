"""`listserv serve`: the LMTP and SMTP listeners, the worker, the senders, the jobs and the
HTTP listener, in one process; and `drain`, the same work done once for `inject --now`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from listserv.features import JOBS, Job
from listserv.inbound.ingest import GroupCommit
from listserv.inbound.server import (
    IngestHandler,
    KnownLists,
    ListLMTP,
    ListSMTP,
    limits_of,
)
from listserv.membership.web import WebServer
from listserv.outbound.relay import Relay, open_relay
from listserv.outbound.send import Sender
from listserv.settings import HostPort
from listserv.store import queries
from listserv.work import Work
from listserv.worker.process import Worker

log = logging.getLogger(__name__)
PLAN_CHECK_SECONDS = 0.02
STOP_WAIT_SECONDS = 10
INTAKE_PRIORITY_ROUNDS = 20  # at most ~20 ms, so processing is never starved


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    event.clear()


async def _loop_until_idle(step: Callable[[], Awaitable[bool]], wake: asyncio.Event, seconds: float,
                           name: str) -> None:  # fmt: skip
    while True:
        try:
            if await step():
                continue
        except Exception:
            log.exception("%s step failed", name)
        await _wait(wake, seconds)


class Service:
    def __init__(self, work: Work, engine: Engine) -> None:
        self.work, self.settings, self.engine = work, work.settings, engine
        self.worker = Worker(work)
        self.wake_worker, self.wake_senders = asyncio.Event(), asyncio.Event()
        self.servers: list[asyncio.AbstractServer] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.relays: list[Relay] = []
        self.intake: GroupCommit | None = None
        self.web = WebServer(work, self.wake_senders.set)

    async def _listen(self, address: HostPort, lmtp: bool) -> None:
        lists = KnownLists(self._load_lists)
        assert self.intake is not None
        receive = self.intake.receive
        handler = IngestHandler(lists, receive, limits_of(self.settings), self.wake_worker.set, lmtp=lmtp)
        protocol = ListLMTP if lmtp else ListSMTP
        server = await asyncio.get_running_loop().create_server(
            lambda: protocol(handler, data_size_limit=self.settings.max_message_size, enable_SMTPUTF8=True),
            address.host, address.port,
        )  # fmt: skip
        self.servers.append(server)
        log.info("listening %s on %s", "LMTP" if lmtp else "SMTP", address)

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
        for _ in range(INTAKE_PRIORITY_ROUNDS):
            if self.intake is None or not self.intake.busy():
                return
            await asyncio.sleep(0.001)

    def _job_step(self, job: Job) -> Callable[[], Awaitable[bool]]:
        async def step() -> bool:
            done = await asyncio.to_thread(job.run, self.work)
            if done:
                log.info("job %s did %d", job.name, done)
                self.wake_senders.set()
            return False  # then wait `every`, or until woken

        return step

    async def start(self) -> None:
        self.intake = GroupCommit(self.work.sessions, self.settings.max_message_size, self.work.clock)
        if self.engine.dialect.name == "sqlite":
            with self.work.sessions() as session, session.begin():
                queries.release_leases(session)
        await self._listen(self.settings.lmtp_listen, lmtp=True)
        await self._listen(self.settings.smtp_listen, lmtp=False)
        await self.web.start()  # one-click unsubscribe (membership/web.py)
        poll = self.settings.poll_seconds
        self.tasks.append(asyncio.create_task(_loop_until_idle(self._process, self.wake_worker, poll, "worker")))
        for index in range(self.settings.connections):
            self.relays.append(open_relay(self.settings.relay))
            sender = Sender(self.work, self.relays[-1])
            loop = _loop_until_idle(sender.send_next, self.wake_senders, poll, f"sender-{index}")
            self.tasks.append(asyncio.create_task(loop))
        for job in JOBS:
            loop = _loop_until_idle(self._job_step(job), asyncio.Event(), job.every.total_seconds(), job.name)
            self.tasks.append(asyncio.create_task(loop))
        log.info("serving relay=%s database=%s", self.settings.relay, self.engine.url.render_as_string())

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(relay.close() for relay in self.relays), return_exceptions=True)
        await self.web.stop()
        for server in self.servers:
            try:  # waits for open sessions; a client that never hangs up must not hold the stop
                await asyncio.wait_for(server.wait_closed(), STOP_WAIT_SECONDS)
            except asyncio.TimeoutError:
                log.warning("stopping with client sessions still open")
        if self.intake is not None:
            await asyncio.to_thread(self.intake.close)


async def serve_until_stopped(work: Work, engine: Engine) -> None:
    service = Service(work, engine)
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
    relay = open_relay(work.settings.relay)
    sender = Sender(work, relay)
    try:
        while await sender.send_next():
            pass
    finally:
        await relay.close()
