"""A small ESMTP client with RFC 2920 PIPELINING, for fan-out to a relay.

aiosmtplib waits for each reply before the next command; at 100 recipients a
transaction those round trips are most of the cost. Pipelined, this client feeds
a loopback sink 120,000+ recipients/s at 100 a transaction (docs/benchmarks.md).
Without PIPELINING on the server we fall back to one command at a time.

send_many() runs a series of transactions on one connection at one round trip
each: RFC 2920 lets a message's body and final dot start a group, so the body
of one transaction goes out in the same write as the next transaction's
MAIL, RCPT and DATA. The client still waits for each 354 before sending a
body, as the RFC requires. Replies come back in command order and are matched
to commands by position; a transaction that fails before its body (MAIL or
every RCPT refused, DATA refused) is closed with RSET in the next group.

TLS and AUTH (docs/tls.md) happen in connect(), before any transaction: TLS from the
first byte (smtps://, port 465) or STARTTLS (required once asked for: a server that
does not offer it gets no mail), with the certificate and host name verified; then
AUTH PLAIN (or LOGIN), only ever over TLS. After that the session is the same, so
pipelining over TLS works as it does in the clear.

Timeouts (`RelayTimeouts`) are RFC 5321 4.5.3.2's: a relay that goes quiet for longer than
`command` while we wait for a reply, or `data` for the reply to a message's final dot, is
dropped; the connection itself (TCP, then TLS from the first byte) gets `connect`. The data
timeout is the long one on purpose: a relay may take minutes to accept a message (content
filters), and giving up before it answers means the batch is sent again.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

LINE_START_DOT = re.compile(rb"(?m)^\.")
EMPTY_BODY = b".\r\n"
MAX_REPLY_LINE = 64 * 1024


class SMTPError(Exception):
    """The connection failed or the server said something we cannot use.

    From send_many(), `replies` has one dict per transaction, in order: the final replies
    known when the connection failed (empty for a transaction whose outcome is unknown).
    """

    def __init__(self, message: str, replies: Sequence[dict[str, SMTPReply]] = ()) -> None:
        super().__init__(message)
        self.replies = list(replies)


class SessionRefused(SMTPError):
    """The server answers, but we cannot go on with it (greeting, EHLO, STARTTLS or AUTH)."""


@dataclass(frozen=True, slots=True)
class SMTPReply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True, slots=True)
class Transaction:
    """One message to some recipients with one envelope sender."""

    mail_from: str
    rcpts: tuple[str, ...]
    data: bytes


UNSAFE_ADDRESS = SMTPReply(553, "5.1.3 Address contains CR, LF or angle brackets; not sent")
SSL_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)$")


@dataclass(frozen=True, slots=True)
class Security:
    """How a connection is protected. The password goes out only under TLS (AUTH PLAIN or LOGIN)."""

    tls: str = "none"  # "none", "implicit" (TLS from the first byte) or "starttls"
    context: ssl.SSLContext | None = None  # verifies the server: CAs, host name
    user: str = ""  # empty: no AUTH
    password: str = field(default="", repr=False)


PLAIN = Security()


@dataclass(frozen=True, slots=True)
class RelayTimeouts:
    """Seconds to wait for the relay; the defaults are RFC 5321 4.5.3.2's."""

    connect: float = 30.0  # the TCP connection (and a TLS handshake from the first byte)
    command: float = 300.0  # each reply: greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA
    data: float = 600.0  # the reply to the final dot

    @classmethod
    def every(cls, seconds: float) -> RelayTimeouts:
        return cls(seconds, seconds, seconds)


def parse_ehlo(text: str) -> tuple[set[str], set[str]]:
    """The extensions an EHLO reply names, and the AUTH mechanisms it offers."""
    lines = [line.split() for line in text.splitlines()[1:] if line.strip()]
    extensions = {words[0].upper() for words in lines}
    mechanisms = {word.upper() for words in lines if words[0].upper() == "AUTH" for word in words[1:]}
    return extensions, mechanisms


def auth_mechanism(offered: set[str]) -> str | None:
    """PLAIN (one round trip) if offered, else LOGIN; None if neither."""
    return next((name for name in ("PLAIN", "LOGIN") if name in offered), None)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auth_plain(user: str, password: str) -> str:
    """RFC 4616's initial response: no authorisation identity, then user and password."""
    return b64("\0" + user + "\0" + password)


def tls_reason(error: ssl.SSLError) -> str:
    """An OpenSSL error as a reader would want it: `certificate verify failed: Hostname mismatch, ...`."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verify failed: {error.verify_message}"
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    return SSL_SOURCE.sub("", text) or type(error).__name__


def to_wire(data: bytes) -> bytes:
    """CRLF line ends everywhere (no bare CR or LF), dot-stuffed, terminated."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = LINE_START_DOT.sub(b"..", b"\r\n".join(lines))
    return body + b"\r\n.\r\n"


def safe_address(address: str) -> bool:
    """No CR, LF or angle brackets: nothing that could end or add an SMTP command."""
    return not any(c in address for c in "\r\n<>")


def final_replies(rcpts: Sequence[str], mail: SMTPReply, rcpt_replies: Sequence[SMTPReply],
                  data: SMTPReply | None, final: SMTPReply | None) -> dict[str, SMTPReply]:  # fmt: skip
    """Each recipient's outcome: MAIL's refusal, else its RCPT refusal, else DATA's refusal,
    else the reply to the final dot."""
    if mail.code // 100 != 2:
        return {rcpt: mail for rcpt in rcpts}
    results = {}
    for rcpt, reply in zip(rcpts, rcpt_replies):
        if reply.code // 100 != 2:
            results[rcpt] = reply
        elif data is None or data.code != 354 or final is None:
            results[rcpt] = data or SMTPReply(451, "4.4.2 No DATA reply")
        else:
            results[rcpt] = final
    return results


def accepted(mail: SMTPReply, rcpt_replies: Sequence[SMTPReply]) -> bool:
    return mail.code // 100 == 2 and any(reply.code // 100 == 2 for reply in rcpt_replies)


class ReplyReader(asyncio.Protocol):
    """Parses replies as they arrive; the connection awaits as many as it expects.

    One wake-up per chunk the server writes, however many replies it holds: that is
    what makes pipelining cheap for us, not only for the network.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.replies: deque[SMTPReply] = deque()
        self.error: BaseException | None = None
        self.loop = asyncio.get_running_loop()
        self.heard = 0.0  # loop time data last came; a wait times out only after this much quiet
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._lines: list[str] = []  # a multi-line reply so far
        self._waiter: asyncio.Future[None] | None = None
        self._wanted = 0

    @property
    def buffered(self) -> bool:
        """Part of a reply has arrived."""
        return bool(self._buffer or self._lines)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.heard = self.loop.time()
        buffer = self._buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line, start = bytes(buffer[start:end]).rstrip(b"\r"), end + 1
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                return self.fail(SMTPError(f"malformed reply: {line[:100]!r}"))
            text = line[4:].decode("utf-8", "replace")
            if line[3:4] == b"-":
                self._lines.append(text)
                continue
            if self._lines:
                text, self._lines = "\n".join(self._lines + [text]), []
            self.replies.append(SMTPReply(int(line[:3]), text))
        del buffer[:start]
        if len(buffer) > MAX_REPLY_LINE:
            return self.fail(SMTPError("reply line too long"))
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or asyncio.IncompleteReadError(bytes(self._buffer), None))
        if not self.closed.done():
            self.closed.set_result(None)

    def fail(self, error: BaseException) -> None:
        """No more replies: wake the waiter with the error and drop the connection."""
        if self.error is None:
            self.error = error
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _check_quiet(self, waiter: asyncio.Future[None], timeout: float) -> None:
        """Time out the wait, unless the server has sent something since: then look again later."""
        if waiter.done():
            return
        quiet_until = self.heard + timeout
        if self.loop.time() >= quiet_until:
            self.fail(TimeoutError(f"no reply within {timeout:g} s"))
        else:
            self.loop.call_at(quiet_until, self._check_quiet, waiter, timeout)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done() and (len(self.replies) >= self._wanted or self.error):
            waiter.set_result(None)

    async def read(self, count: int, timeout: float) -> list[SMTPReply]:
        """The next count replies, in order (replies that arrived before a failure still count).
        Fails the connection when the server sends nothing for `timeout` seconds meanwhile."""
        if len(self.replies) < count:
            if self.error is None:
                self._waiter, self._wanted = self.loop.create_future(), count
                self.heard = self.loop.time()
                timer = self.loop.call_later(timeout, self._check_quiet, self._waiter, timeout)
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                    timer.cancel()
            if len(self.replies) < count:
                assert self.error is not None
                raise self.error
        popleft = self.replies.popleft
        return [popleft() for _ in range(count)]


class SMTPConnection:
    """One connection to the relay. A server quiet for longer than a timeout (RelayTimeouts, or
    one number for all three) while we wait for its reply is dropped."""

    def __init__(self, host: str, port: int, timeout: RelayTimeouts | float = RelayTimeouts(), helo: str = "",
                 security: Security = PLAIN) -> None:  # fmt: skip
        self.timeouts = timeout if isinstance(timeout, RelayTimeouts) else RelayTimeouts.every(timeout)
        self.host, self.port, self.security = host, port, security
        self.helo = helo or socket.getfqdn()
        self.extensions: set[str] = set()
        self.auth_mechanisms: set[str] = set()
        self._reader: ReplyReader | None = None

    @property
    def connected(self) -> bool:
        reader = self._reader
        return reader is not None and reader.error is None and reader.transport is not None \
            and not reader.transport.is_closing()  # fmt: skip

    async def connect(self) -> None:
        """Connect, greet, then TLS and AUTH as `security` says. Raises SMTPError saying what failed."""
        self._abort()
        try:
            await self._open()
            await self._ehlo()
            if self.security.tls == "starttls":
                await self._starttls()
            if self.security.user:
                await self._authenticate()
        except SessionRefused:
            await self.close()
            raise
        except ssl.SSLError as error:  # before OSError, its base
            self._abort()
            raise SMTPError(f"TLS with {self.host}:{self.port} failed: {tls_reason(error)}") from None
        except (OSError, TimeoutError, asyncio.IncompleteReadError, SMTPError) as error:
            self._abort()
            raise SMTPError(f"cannot connect to {self.host}:{self.port}: {error!r}") from None

    async def _open(self) -> None:
        """The connection (TLS from the first byte for `implicit`) and the server's greeting."""
        implicit = self.security.tls == "implicit"
        context = self._tls_context() if implicit else None
        hostname = self.host if implicit else None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeouts.connect):
            _, self._reader = await loop.create_connection(ReplyReader, self.host, self.port, ssl=context,
                                                           server_hostname=hostname)  # fmt: skip
        greeting = (await self._read(1))[0]
        if greeting.code != 220:
            raise SessionRefused(f"greeting refused: {greeting}")

    async def _ehlo(self) -> None:
        reply = await self._command(f"EHLO {self.helo}")
        if reply.code != 250:
            raise SessionRefused(f"EHLO refused: {reply}")
        self.extensions, self.auth_mechanisms = parse_ehlo(reply.text)

    def _tls_context(self) -> ssl.SSLContext:
        return self.security.context or ssl.create_default_context()

    async def _starttls(self) -> None:
        """STARTTLS, required: without it (or if refused) nothing is sent. Then EHLO again (RFC 3207)."""
        where = f"{self.host}:{self.port}"
        if "STARTTLS" not in self.extensions:
            raise SessionRefused(f"{where} does not offer STARTTLS; not sending without TLS")
        reply = await self._command("STARTTLS")
        reader = self._reader
        assert reader is not None and reader.transport is not None
        if reply.code != 220:
            raise SessionRefused(f"{where} refused STARTTLS: {reply}")
        if reader.replies or reader.buffered:  # sent before TLS, read as if after: RFC 3207 section 6
            raise SMTPError(f"{where} sent more after its 220 to STARTTLS")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeouts.connect):
            reader.transport = await loop.start_tls(
                reader.transport, reader, self._tls_context(), server_hostname=self.host
            )
        await self._ehlo()

    async def _authenticate(self) -> None:
        """AUTH PLAIN, or LOGIN; only ever over TLS. A refusal is SessionRefused (the sender defers)."""
        where, user, password = f"{self.host}:{self.port}", self.security.user, self.security.password
        reader = self._reader
        if reader is None or reader.transport is None or reader.transport.get_extra_info("ssl_object") is None:
            raise SessionRefused(f"not sending the password for {user} to {where} without TLS")
        mechanism = auth_mechanism(self.auth_mechanisms)
        if mechanism is None:
            offered = " ".join(sorted(self.auth_mechanisms)) or "no AUTH at all"
            raise SessionRefused(f"{where} offers no AUTH PLAIN or LOGIN (it offers {offered})")
        if mechanism == "PLAIN":
            reply = await self._command(f"AUTH PLAIN {auth_plain(user, password)}")
        else:
            reply = await self._command("AUTH LOGIN")
            for answer in (user, password):
                reply = await self._command(b64(answer)) if reply.code == 334 else reply
        if reply.code != 235:
            raise SessionRefused(f"{where} refused AUTH {mechanism} for {user}: {reply}")

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is None or reader.transport is None:
            return
        if not reader.transport.is_closing():
            reader.transport.write(b"QUIT\r\n")
            reader.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(reader.closed), 1)
        except TimeoutError:
            reader.transport.abort()

    def _abort(self) -> None:
        """Drop the connection at once: its state is unknown."""
        reader, self._reader = self._reader, None
        if reader is not None and reader.transport is not None:
            reader.transport.abort()

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        """One transaction. Returns each recipient's final reply (250 when delivered)."""
        return (await self.send_many([Transaction(mail_from, tuple(rcpts), data)]))[0]

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        """Several transactions, pipelined: one round trip each. Returns each one's final replies.

        If the connection fails, raises SMTPError carrying the replies known so far (see there).
        """
        done: list[dict[str, SMTPReply]] = []
        if not self.connected:
            await self.connect()
        assert self._reader is not None
        try:
            if "PIPELINING" in self.extensions:
                await self._pipelined(transactions, done)
            else:
                for transaction in transactions:
                    done.append(await self._one_by_one(transaction))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, SMTPError) as error:
            self._abort()
            known = done + [{} for _ in range(len(transactions) - len(done))]
            raise SMTPError(f"connection to {self.host}:{self.port} lost: {error!r}", known) from None
        except BaseException:  # cancelled mid-transaction: never reuse this connection
            self._abort()
            raise
        return done

    def _group(self, transaction: Transaction | None) -> bytes:
        """MAIL, RCPT... and DATA for one transaction, as one pipelined group."""
        if transaction is None:
            return b""
        params = " BODY=8BITMIME" if "8BITMIME" in self.extensions else ""
        rcpts = "".join(f"RCPT TO:<{rcpt}>\r\n" for rcpt in transaction.rcpts)
        return f"MAIL FROM:<{transaction.mail_from}>{params}\r\n{rcpts}DATA\r\n".encode("utf-8", "surrogateescape")

    async def _pipelined(self, transactions: Sequence[Transaction], done: list[dict[str, SMTPReply]]) -> None:
        reader = self._reader
        assert reader is not None
        wire: dict[int, bytes] = {}  # the same data (personalised batches) is converted once
        pending = [self._checked(t, done) for t in transactions]
        queue = [t for t in pending if t is not None]
        slots = [index for index, t in enumerate(pending) if t is not None]
        self._write(self._group(queue[0]) if queue else b"")
        for position, transaction in enumerate(queue):
            following = self._group(queue[position + 1] if position + 1 < len(queue) else None)
            mail, *rcpt_replies, data = await reader.read(len(transaction.rcpts) + 2, self.timeouts.command)
            final: SMTPReply | None = None
            if data.code == 354:
                ok = accepted(mail, rcpt_replies)
                if ok and id(transaction.data) not in wire:
                    wire[id(transaction.data)] = to_wire(transaction.data)
                self._write((wire[id(transaction.data)] if ok else EMPTY_BODY + b"RSET\r\n") + following)
                final = (await reader.read(1 if ok else 2, self.timeouts.data if ok else self.timeouts.command))[0]
            else:  # the transaction ended at DATA: make sure the server has closed it
                self._write(b"RSET\r\n" + following)
                await reader.read(1, self.timeouts.command)
            done[slots[position]].update(final_replies(transaction.rcpts, mail, rcpt_replies, data, final))

    def _checked(self, transaction: Transaction, done: list[dict[str, SMTPReply]]) -> Transaction | None:
        """Refuse unsafe addresses locally; None when nothing is left to send."""
        done.append({})
        if not safe_address(transaction.mail_from):
            done[-1] = {rcpt: UNSAFE_ADDRESS for rcpt in transaction.rcpts}
            return None
        if all(safe_address(rcpt) for rcpt in transaction.rcpts):
            return transaction
        done[-1] = {rcpt: UNSAFE_ADDRESS for rcpt in transaction.rcpts if not safe_address(rcpt)}
        rcpts = tuple(rcpt for rcpt in transaction.rcpts if safe_address(rcpt))
        return Transaction(transaction.mail_from, rcpts, transaction.data) if rcpts else None

    async def _one_by_one(self, transaction: Transaction) -> dict[str, SMTPReply]:
        """Without PIPELINING: one command, one reply."""
        done: list[dict[str, SMTPReply]] = []
        checked = self._checked(transaction, done)
        if checked is None:
            return done[0]
        params = " BODY=8BITMIME" if "8BITMIME" in self.extensions else ""
        mail = await self._command(f"MAIL FROM:<{checked.mail_from}>{params}")
        rcpt_replies = [await self._command(f"RCPT TO:<{r}>") for r in checked.rcpts] if mail.code == 250 else []
        if not accepted(mail, rcpt_replies):
            await self._command("RSET")
            return done[0] | final_replies(checked.rcpts, mail, rcpt_replies, None, None)
        data = await self._command("DATA")
        final = None
        if data.code == 354:
            self._write(to_wire(checked.data))
            final = (await self._read(1, self.timeouts.data))[0]
        else:
            await self._command("RSET")
        return done[0] | final_replies(checked.rcpts, mail, rcpt_replies, data, final)

    def _write(self, data: bytes) -> None:
        reader = self._reader
        if reader is None or reader.transport is None:
            raise SMTPError("not connected")
        if reader.error is not None:
            raise reader.error
        if data:
            reader.transport.write(data)

    async def _read(self, count: int, timeout: float | None = None) -> list[SMTPReply]:
        if self._reader is None:
            raise SMTPError("not connected")
        return await self._reader.read(count, self.timeouts.command if timeout is None else timeout)

    async def _command(self, command: str) -> SMTPReply:
        self._write(command.encode("utf-8", "surrogateescape") + b"\r\n")
        return (await self._read(1))[0]
