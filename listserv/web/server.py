"""The HTTP side of `listserv serve` on `http_listen`: aiohttp.web in the service's event loop.

aiohttp parses HTTP (keep-alive off: one request per connection), routes (routes.py) and
answers; gate.py caps connections and times out clients that never finish a request. Every
response carries the security headers below; a page may set a stricter policy of its own.
Blocking database work runs in threads (asyncio.to_thread), never on the loop.
Meant to sit behind a TLS proxy that owns `public_url`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from listserv.inbound.connections import ConnectionGate
from listserv.inbound.server import cannot_listen
from listserv.web.gate import GatedProtocol
from listserv.web.routes import add_routes
from listserv.web.site import Site
from listserv.work import Work

log = logging.getLogger(__name__)
MAX_HEAD_LINE = 8190  # octets in the request line and in each header line
MAX_HEAD = 8192  # octets of all header lines together: more gets 431
MAX_REQUEST_BODY = 4096
SECURITY_HEADERS = {
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}  # fmt: skip
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _OneLine(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's protocol logs a malformed request with a traceback; ours is one line."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else None
        self.info("http: %s: %s", msg, str(error).strip().splitlines()[0] if error else "")


class WebServer:
    """The HTTP listener; `stop()` closes it and every connection still open."""

    def __init__(self, work: Work, on_change: Callable[[], None] = lambda: None) -> None:
        self.work, self.on_change = work, on_change
        settings = work.settings
        self.gate = ConnectionGate("HTTP", settings.http_max_connections, settings.http_max_connections_per_client)
        self.timeout = settings.http_timeout
        self.open: dict[asyncio.BaseTransport, GatedProtocol] = {}
        self.server: asyncio.Server | None = None
        self.runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_REQUEST_BODY)
        add_routes(app, Site(self.work, self.on_change))
        app.on_response_prepare.append(_finish_headers)
        return app

    async def start(self, sock: socket.socket | None = None) -> None:
        """Raises ServiceError (one line: where, why, what to do) when http_listen cannot be bound.
        SOCK: already bound (`serve --workers`), accept on it instead."""
        self.runner = web.AppRunner(self.application(), access_log=None, handle_signals=False,
                                    max_line_size=MAX_HEAD_LINE, max_field_size=MAX_HEAD_LINE * 4, lingering_time=0,
                                    logger=_OneLine(logging.getLogger("listserv.web.protocol")))  # fmt: skip
        await self.runner.setup()
        make_inner, address = self.runner.server, self.work.settings.http_listen
        assert make_inner is not None
        loop = asyncio.get_running_loop()

        def protocol() -> GatedProtocol:
            return GatedProtocol(make_inner, self.gate, self.timeout, self.open)

        try:
            if sock is not None:
                self.server = await loop.create_server(protocol, sock=sock)
            else:
                self.server = await loop.create_server(protocol, address.host, address.port)
        except OSError as error:
            await self.runner.cleanup()
            raise cannot_listen("HTTP", address, "http_listen", error) from None
        log.info("listening HTTP on %s", address)

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        if self.server is None or self.runner is None:
            return
        self.server.close()
        for transport in list(self.open):
            transport.close()  # a client that never finished its request
        await self.runner.cleanup()
        await self.server.wait_closed()
        self.server = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Head size and body caps, the per-request deadline, and one log line per request."""
        if request.transport is not None and (gated := self.open.get(request.transport)) is not None:
            gated.request_started()
        response = await self._answer(request, handler)
        where = request.path.rpartition("/")[0] or "/"
        log.info("http %s %s/... %d", request.method, where.rstrip("/"), response.status)
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if sum(len(name) + len(value) + 4 for name, value in request.raw_headers) > MAX_HEAD:
            return plain(431)
        if (request.content_length or 0) > MAX_REQUEST_BODY:
            return plain(413)
        try:
            return await asyncio.wait_for(handler(request), self.timeout)
        except web.HTTPException as refused:
            return plain(refused.status, {k: v for k, v in refused.headers.items() if k in ("Allow", "Location")})
        except asyncio.TimeoutError:
            log.warning("http: %s %s took over %gs; answered 503", request.method, request.path, self.timeout)
            return plain(503)
        except Exception:
            log.exception("http request failed path=%s", request.path.rpartition("/")[0])
            return plain(500)


def plain(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}\n", headers=headers)


async def _finish_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response: the security headers (a page's own policy kept) and Connection: close."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.force_close()
    response.headers["Connection"] = "close"
