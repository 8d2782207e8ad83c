"""Caps on the listeners' connections, and the SMTP/LMTP session that honours them.

A client past a cap is told at once and the connection closed: `421 4.7.0` on SMTP and
LMTP (the sending MTA keeps the mail and retries), 503 on HTTP. The cap per client address
keeps room for everyone else when one client opens connections and holds them, so normal
posts are still answered while it lasts.

A session then has `smtp_command_timeout` seconds (RFC 5321 4.5.3.2.7: five minutes) for
each command; while a message's data comes in, for each stretch without a byte. After that
it gets `421 4.4.2` and is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from aiosmtpd.smtp import SMTP

from listserv.inbound.replies import IDLE_TIMEOUT, TOO_MANY_CONNECTIONS, TOO_MANY_FROM_CLIENT, Reply

log = logging.getLogger(__name__)
FROM_CLIENT = "too many connections from this address"
IN_ALL = "too many connections"


class ConnectionGate:
    """Counts one listener's open connections, in all and per client address, against its caps."""

    def __init__(self, name: str, total: int, per_client: int) -> None:
        self.name, self.total, self.per_client = name, total, per_client
        self.open = 0
        self.by_client: Counter[str] = Counter()

    def admit(self, client: str) -> str | None:
        """Count the connection in, or say why it is refused (IN_ALL, FROM_CLIENT)."""
        if self.open >= self.total:
            return IN_ALL
        if self.by_client[client] >= self.per_client:
            return FROM_CLIENT
        self.open += 1
        self.by_client[client] += 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]

    def refused(self, client: str, reason: str, answer: str) -> None:
        """The one log line for a refusal."""
        cap = self.per_client if reason == FROM_CLIENT else self.total
        log.warning("%s refused a connection from %s: %s (cap %d; %d open); answered %s",
                    self.name, client, reason, cap, self.open, answer)  # fmt: skip


def client_address(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class GatedSession(SMTP):
    """An aiosmtpd session counted against a ConnectionGate, closed with 421 when idle too long.
    The idle timeout is aiosmtpd's `timeout` (reset by each command), also reset by data bytes."""

    def __init__(self, handler: Any, *, gate: ConnectionGate | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.gate, self.client, self.turned_away, self.in_data = gate, "", False, False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.gate is not None and not self.client:  # not again when STARTTLS swaps the transport
            client = client_address(transport)
            reason = self.gate.admit(client)
            if reason is not None:
                reply: Reply = TOO_MANY_FROM_CLIENT if reason == FROM_CLIENT else TOO_MANY_CONNECTIONS
                self.gate.refused(client, reason, str(reply))
                self.turned_away = True
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(f"{reply}\r\n".encode())
                transport.close()
                return
            self.client = client
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.turned_away:
            return  # no session was started
        if self.gate is not None and self.client:
            self.gate.release(self.client)
            self.client = ""
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if self.in_data:
            self._reset_timeout()  # a message coming in slowly is not an idle session
        super().data_received(data)

    async def push(self, status: str) -> None:  # type: ignore[override]
        self.in_data = status.startswith("354")
        await super().push(status)

    def _timeout_cb(self) -> None:
        peer = self.session.peer if self.session is not None else "?"
        log.info("closing an idle session from %s after %gs without a command; answered %s",
                 peer, self._timeout_duration, IDLE_TIMEOUT)  # fmt: skip
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.write(f"{IDLE_TIMEOUT}\r\n".encode())
        super()._timeout_cb()  # type: ignore[no-untyped-call]
