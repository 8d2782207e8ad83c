"""A small ESMTP client with RFC 2920 PIPELINING, for fan-out to a relay.

aiosmtplib waits for each reply before the next command; at 100 recipients a
transaction that round trip is most of the cost (13,800 deliveries/s on
loopback against 40,000+ pipelined, see docs/benchmarks.md). Without
PIPELINING on the server we fall back to one command at a time.

send_many() runs a series of transactions on one connection at one round trip
each: RFC 2920 lets a message's body and final dot start a group, so the body
of one transaction goes out in the same write as the next transaction's
MAIL, RCPT and DATA. The client still waits for each 354 before sending a
body, as the RFC requires. Replies come back in command order and are matched
to commands by position; a transaction that fails before its body (MAIL or
every RCPT refused, DATA refused) is closed with RSET in the next group.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

LINE_START_DOT = re.compile(rb"(?m)^\.")
EMPTY_BODY = b".\r\n"


class SMTPError(Exception):
    """The connection failed or the server said something we cannot use.

    From send_many(), `replies` has one dict per transaction, in order: the final replies
    known when the connection failed (empty for a transaction whose outcome is unknown).
    """

    def __init__(self, message: str, replies: Sequence[dict[str, SMTPReply]] = ()) -> None:
        super().__init__(message)
        self.replies = list(replies)


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


class SMTPConnection:
    def __init__(self, host: str, port: int, timeout: float = 60.0, helo: str = "") -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.helo = helo or socket.getfqdn()
        self.extensions: set[str] = set()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
            async with asyncio.timeout(self.timeout):
                greeting = await self._read_reply()
                reply = await self._command(f"EHLO {self.helo}") if greeting.code == 220 else greeting
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            self._abort()
            raise SMTPError(f"cannot connect to {self.host}:{self.port}: {error!r}") from None
        if reply.code != 250:
            await self.close()
            raise SMTPError(f"{'EHLO' if greeting.code == 220 else 'greeting'} refused: {reply}")
        self.extensions = {line.split()[0].upper() for line in reply.text.splitlines()[1:] if line}

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if not writer.is_closing():
                writer.write(b"QUIT\r\n")
                await asyncio.wait_for(writer.drain(), 1)
        except (OSError, TimeoutError):
            pass
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (OSError, TimeoutError):
            pass

    def _abort(self) -> None:
        """Drop the connection at once: its state is unknown."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()

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
        try:
            if "PIPELINING" in self.extensions:
                await self._pipelined(transactions, done)
            else:
                for transaction in transactions:
                    done.append(await self._one_by_one(transaction))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, SMTPError) as error:
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
        wire: dict[int, bytes] = {}  # the same data (personalised batches) is converted once
        pending = [self._checked(t, done) for t in transactions]
        queue = [t for t in pending if t is not None]
        slots = [index for index, t in enumerate(pending) if t is not None]
        self._write(self._group(queue[0]) if queue else b"")
        for position, transaction in enumerate(queue):
            following = self._group(queue[position + 1] if position + 1 < len(queue) else None)
            async with asyncio.timeout(self.timeout):
                mail, *rcpt_replies, data = await self._read_replies(len(transaction.rcpts) + 2)
                if data.code == 354:
                    ok = accepted(mail, rcpt_replies)
                    if ok and id(transaction.data) not in wire:
                        wire[id(transaction.data)] = to_wire(transaction.data)
                    body = wire[id(transaction.data)] if ok else EMPTY_BODY + b"RSET\r\n"
                    self._write(body + following)
                    final: SMTPReply | None = (await self._read_replies(1 if ok else 2))[0]
                else:  # the transaction ended at DATA: make sure the server has closed it
                    self._write(b"RSET\r\n" + following)
                    await self._read_replies(1)
                    final = None
            done[slots[position]] = final_replies(transaction.rcpts, mail, rcpt_replies, data, final)

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
        async with asyncio.timeout(self.timeout):
            mail = await self._command(f"MAIL FROM:<{checked.mail_from}>{params}")
            rcpt_replies = [await self._command(f"RCPT TO:<{r}>") for r in checked.rcpts] if mail.code == 250 else []
            if not accepted(mail, rcpt_replies):
                await self._command("RSET")
                return done[0] | final_replies(checked.rcpts, mail, rcpt_replies, None, None)
            data = await self._command("DATA")
            final = None
            if data.code == 354:
                self._write(to_wire(checked.data))
                final = await self._read_reply()
            else:
                await self._command("RSET")
        return done[0] | final_replies(checked.rcpts, mail, rcpt_replies, data, final)

    def _write(self, data: bytes) -> None:
        if self._writer is None:
            raise SMTPError("not connected")
        if data:
            self._writer.write(data)

    async def _command(self, command: str) -> SMTPReply:
        self._write(command.encode("utf-8", "surrogateescape") + b"\r\n")
        return await self._read_reply()

    async def _read_replies(self, count: int) -> list[SMTPReply]:
        return [await self._read_reply() for _ in range(count)]

    async def _read_reply(self) -> SMTPReply:
        """One reply, single or multi-line. The caller bounds the wait with asyncio.timeout:
        a wait_for() per line would cost a task per reply."""
        if self._reader is None:
            raise SMTPError("not connected")
        lines = []
        while True:
            line = await self._reader.readline()
            if not line.endswith(b"\n"):
                raise asyncio.IncompleteReadError(line, None)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(text) < 3 or not text[:3].isdigit():
                raise SMTPError(f"malformed reply: {text[:100]!r}")
            lines.append(text[4:])
            if text[3:4] != "-":
                return SMTPReply(int(text[:3]), "\n".join(lines))
