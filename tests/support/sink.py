"""A real SMTP server (aiosmtpd) that records what it receives, for use as the relay."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpts: list[str]
    data: bytes


@dataclass
class SinkHandler:
    messages: list[Received] = field(default_factory=list)
    # domain -> reply given at RCPT, e.g. {"defer.example.test": "450 4.2.1 try later"}
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 Ok"
    data_delay: float = 0.0  # seconds to wait before answering DATA (a slow relay)
    queue_then_wait: bool = False  # keep the message before that wait, as a slow MTA does
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address.rpartition("@")[2].lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.queue_then_wait and self.data_reply.startswith("250"):
            self._keep(envelope)  # as an MTA does: queued before it answers, whether the client waits or not
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply.startswith("250") and not self.queue_then_wait:
            self._keep(envelope)
        return self.data_reply

    def _keep(self, envelope: Envelope) -> None:
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b"")
            )


class Sink:
    """Runs in its own thread and event loop; `port` is fixed once started, so it can restart.

    While stopped, a bound socket that does not listen keeps the port: connections are refused, and
    no other server (another test's, bound to port 0) can take it before the sink starts again.
    """

    def __init__(self, port: int = 0) -> None:
        self.handler = SinkHandler()
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._held: socket.socket | None = None

    def start(self) -> "Sink":
        listener = _bound(self.port)
        listener.listen(100)
        if self._held is not None:
            self._held.close()
            self._held = None
        loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                loop.create_server(
                    lambda: SMTP(self.handler, enable_SMTPUTF8=True, hostname="sink.example.test"), sock=listener
                )
            )
        except BaseException:
            loop.close()
            listener.close()
            raise
        self.port = server.sockets[0].getsockname()[1]
        self._loop, self._server = loop, server
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self, hold_port: bool = False) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            if self._held is not None:
                self._held.close()
                self._held = None
            return
        if hold_port:
            self._held = _bound(self.port)
        asyncio.run_coroutine_threadsafe(_shutdown(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        loop.close()
        self._loop = self._server = None

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def deliveries(self) -> list[tuple[str, bytes]]:
        """(recipient, data) for every recipient of every message."""
        return [(rcpt, m.data) for m in self.messages for rcpt in m.rcpts]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.deliveries()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries())}")


def _bound(port: int) -> socket.socket:
    """A loopback TCP socket bound to `port` (0: any), sharing it with the sink's other sockets."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


async def _shutdown(server: asyncio.AbstractServer) -> None:
    server.close()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()
    await asyncio.sleep(0)
