"""The HTTP listener's connection caps and request deadline, around aiohttp's protocol.

Each connection is counted against a ConnectionGate (inbound/connections.py). A client past
a cap gets 503 with Retry-After at once; a connection that has not sent a complete request
head within `http_timeout` seconds gets 408. Both are answered here, before aiohttp has a
request to answer, so they are the only responses written by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus

from listserv.inbound.connections import ConnectionGate, client_address

log = logging.getLogger(__name__)
RETRY_AFTER = "10"  # seconds, for a client turned away by a cap


def plain_answer(status: int, extra: str = "") -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    phrase = HTTPStatus(status).phrase
    body = f"{status} {phrase}\n".encode()
    head = (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n"
            f"X-Content-Type-Options: nosniff\r\n{extra}\r\n")  # fmt: skip
    return head.encode("latin-1") + body


class GatedProtocol(asyncio.Protocol):
    """Admits a connection through the gate, then hands every event to aiohttp's protocol."""

    def __init__(self, make_inner: Callable[[], asyncio.Protocol], gate: ConnectionGate, timeout: float,
                 open_connections: dict[asyncio.BaseTransport, GatedProtocol]) -> None:  # fmt: skip
        self.make_inner, self.gate, self.timeout, self.open = make_inner, gate, timeout, open_connections
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.WriteTransport | None = None
        self.client = ""
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        client = client_address(transport)
        refusal = self.gate.admit(client)
        if refusal is not None:
            self.gate.refused(client, refusal, "503")
            transport.write(plain_answer(503, f"Retry-After: {RETRY_AFTER}\r\n"))
            transport.write_eof()  # closed when the client hangs up (or in `timeout`): no reset before it reads
            asyncio.get_running_loop().call_later(self.timeout, transport.close)
            return
        self.client, self.transport = client, transport
        self.open[transport] = self
        self.deadline = asyncio.get_running_loop().call_later(self.timeout, self._too_slow)
        self.inner = self.make_inner()
        self.inner.connection_made(transport)

    def request_started(self) -> None:
        """A complete request head arrived: the handler's own deadline takes over."""
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        self.deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        log.info("http: no complete request from %s within %gs; answered 408", self.client, self.timeout)
        self.transport.write(plain_answer(408))
        self.transport.close()  # what the client sent was read: a plain close

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)  # a client turned away: what it sends is dropped

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else False

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, error: Exception | None) -> None:
        if self.inner is None:
            return  # turned away: never counted in
        self.request_started()
        if self.transport is not None:
            self.open.pop(self.transport, None)
        self.gate.release(self.client)
        self.inner.connection_lost(error)
