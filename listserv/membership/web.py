"""The small HTTP side of `listserv serve`: one-click unsubscribe (RFC 8058) on `http_listen`.

    GET|HEAD /unsubscribe/LIST_ID/TOKEN   a page with a "Leave the list" button (changes nothing:
                                          link scanners and previews issue GETs)
    POST     /unsubscribe/LIST_ID/TOKEN   the member leaves at once (what mail providers' one-click
                                          button does, with the body List-Unsubscribe=One-Click)

HTTP/1.1 with the stdlib's asyncio streams, one request per connection. Bounded: 8 KiB of
request head, 4 KiB of body, `http_timeout` seconds per request (10), `http_max_connections`
at once (100) and `http_max_connections_per_client` from one address; a connection past a
cap gets 503 with Retry-After at once, and a log line. Meant to sit behind a TLS proxy that
owns `public_url`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from listserv.inbound.connections import ConnectionGate, client_address
from listserv.inbound.server import cannot_listen
from listserv.mail.message import Role
from listserv.membership.oneclick import LinkCheck, check_link, unsubscribe_by_link
from listserv.work import Work

log = logging.getLogger(__name__)
MAX_HEAD = 8192
MAX_REQUEST_BODY = 4096
RETRY_AFTER = "10"  # seconds, for a client turned away by a cap
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
)  # fmt: skip


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]  # names in lower case

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    extra: tuple[tuple[str, str], ...] = ()


class BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def parse_head(head: bytes) -> HttpRequest:
    """Request line and headers (pure). Raises BadRequest with the status to answer."""
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise BadRequest(400) from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400)
    method, target, _ = parts
    if not target.startswith("/"):
        raise BadRequest(400)
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[:1] in (" ", "\t"):
            raise BadRequest(400)  # no obsolete line folding, no space before the colon
        headers.append((name.lower(), value.strip()))
    return HttpRequest(method, target.partition("?")[0].partition("#")[0], tuple(headers))


def body_length(request: HttpRequest) -> int | None:
    """The body's length from Content-Length, or None for a chunked body (read_chunked).
    Proxies such as Caddy forward a one-click POST chunked, so both must work."""
    encoding = request.header("transfer-encoding")
    if encoding is not None:
        if encoding.strip().lower() != "chunked" or request.header("content-length") is not None:
            raise BadRequest(400)  # RFC 9112 6.1: chunked is the only coding we know, and never with a length
        return None
    lengths = {v for k, v in request.headers if k == "content-length"}
    if not lengths:
        return 0
    if len(lengths) > 1 or not next(iter(lengths)).isdigit():
        raise BadRequest(400)
    length = int(next(iter(lengths)))
    if length > MAX_REQUEST_BODY:
        raise BadRequest(413)
    return length


async def read_chunked(reader: asyncio.StreamReader) -> None:
    """Read a chunked body (and its trailers) to its end, at most MAX_REQUEST_BODY octets of data."""
    total = 0
    while True:
        line = await read_line(reader)
        try:
            size = int(line.partition(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest(400) from None
        if size == 0:
            break
        total += size
        if size < 0 or total > MAX_REQUEST_BODY:
            raise BadRequest(413)
        if (await reader.readexactly(size + 2))[-2:] != b"\r\n":
            raise BadRequest(400)
    while await read_line(reader):
        pass  # trailer fields, up to the empty line


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """One CRLF-terminated line without its CRLF (bounded by the reader's limit)."""
    try:
        return (await reader.readuntil(b"\r\n"))[:-2]
    except asyncio.LimitOverrunError:
        raise BadRequest(400) from None


def route(path: str) -> tuple[int, str] | None:
    """/unsubscribe/LIST_ID/TOKEN -> (list id, token)."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] or parts[1] != "unsubscribe":
        return None
    if not parts[2].isdigit() or len(parts[2]) > 12 or not parts[3] or len(parts[3]) > 600:
        return None
    return int(parts[2]), parts[3]


def response_bytes(response: HttpResponse, head_only: bool = False) -> bytes:
    reason = HTTPStatus(response.status).phrase
    headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
               ("Connection", "close"), *SECURITY_HEADERS, *response.extra]  # fmt: skip
    head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + (b"" if head_only else response.body)


def plain(status: int) -> HttpResponse:
    return HttpResponse(status, f"{status} {HTTPStatus(status).phrase}\n".encode(), "text/plain; charset=utf-8")


class WebServer:
    """The HTTP listener; `stop()` closes it and every connection still open."""

    def __init__(self, work: Work, on_change: Callable[[], None] = lambda: None) -> None:
        self.work, self.templates, self.on_change = work, work.templates, on_change
        # behind a proxy at https://host/lists/, the confirm form posts to /lists/unsubscribe/...
        self.prefix = urlsplit(work.settings.public_url).path.rstrip("/")
        self.server: asyncio.Server | None = None
        self.connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        settings = work.settings
        self.gate = ConnectionGate("HTTP", settings.http_max_connections, settings.http_max_connections_per_client)
        self.timeout = settings.http_timeout

    async def start(self, sock: socket.socket | None = None) -> None:
        """Raises ServiceError (one line: where, why, what to do) when http_listen cannot be bound.
        SOCK: already bound (`serve --workers`), accept on it instead."""
        address = self.work.settings.http_listen
        try:
            if sock is not None:
                self.server = await asyncio.start_server(self._serve, sock=sock, limit=MAX_HEAD)
            else:
                self.server = await asyncio.start_server(self._serve, address.host, address.port, limit=MAX_HEAD)
        except OSError as error:
            raise cannot_listen("HTTP", address, "http_listen", error) from None
        log.info("listening HTTP on %s", address)

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.connections.values()):
            writer.close()  # a handler waiting to read sees the end of the stream and returns
        if self.connections:
            await asyncio.wait(list(self.connections), timeout=2)
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.connections[task] = writer
        client = client_address(writer.transport)
        refusal = self.gate.admit(client)
        try:
            if refusal is not None:
                response, head_only = HttpResponse(503, plain(503).body, plain(503).content_type,
                                                   (("Retry-After", RETRY_AFTER),)), False  # fmt: skip
                self.gate.refused(client, refusal, "503")
            else:
                response, head_only = await self._exchange_in_time(reader, client)
            writer.write(response_bytes(response, head_only))
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("http request failed")
        finally:
            if refusal is None:
                self.gate.release(client)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass
            if task is not None:
                self.connections.pop(task, None)

    async def _exchange_in_time(self, reader: asyncio.StreamReader, client: str) -> tuple[HttpResponse, bool]:
        try:
            return await asyncio.wait_for(self._exchange(reader), self.timeout)
        except asyncio.TimeoutError:
            log.info("http: no complete request from %s within %gs; answered 408", client, self.timeout)
            return plain(408), False

    async def _exchange(self, reader: asyncio.StreamReader) -> tuple[HttpResponse, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return plain(431), False
        try:
            request = parse_head(head[:-4])
            length = body_length(request)
        except BadRequest as bad:
            return plain(bad.status), False
        try:  # RFC 8058: the body is List-Unsubscribe=One-Click; read, but not needed to act
            await (read_chunked(reader) if length is None else reader.readexactly(length))
        except BadRequest as bad:
            return plain(bad.status), False
        try:
            response = await self._respond(request)
        except Exception:
            log.exception("http request failed path=%s", request.path.rpartition("/")[0])
            response = plain(500)
        log.info("http %s %s/... %d", request.method, request.path.rpartition("/")[0], response.status)
        return response, request.method == "HEAD"

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        target = route(request.path)
        if target is None:
            return plain(404)
        list_id, token = target
        if request.method in ("GET", "HEAD"):
            check = await asyncio.to_thread(check_link, self.work, list_id, token)
            template = "unsubscribe-confirm.html.j2" if check.was_member else "unsubscribe-done.html.j2"
            return self._page(check, template, action=self.prefix + request.path)
        if request.method == "POST":
            check = await asyncio.to_thread(unsubscribe_by_link, self.work, list_id, token)
            if check.was_member:
                self.on_change()  # a goodbye mail is queued
            return self._page(check, "unsubscribe-done.html.j2")
        return HttpResponse(405, plain(405).body, "text/plain; charset=utf-8", (("Allow", "GET, HEAD, POST"),))

    def _page(self, check: LinkCheck, template: str, **context: object) -> HttpResponse:
        if not check.valid or check.lst is None:
            return HttpResponse(404, self.templates.render("unsubscribe-invalid.html.j2").encode())
        page = self.templates.render(template, list=check.lst, email=check.email, was_member=check.was_member,
                                     join=check.lst.service(Role.JOIN), **context)  # fmt: skip
        return HttpResponse(200, page.encode())
