"""A small ESMTP client with RFC 2920 PIPELINING, for fan-out to a relay.

aiosmtplib waits for each reply before the next command; at 100 recipients a
transaction that round trip is most of the cost (13,800 deliveries/s on
loopback against 40,000+ pipelined, see docs/benchmarks.md). Without
PIPELINING on the server we fall back to one command at a time.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

LINE_START_DOT = re.compile(rb"(?m)^\.")


class SMTPError(Exception):
    """The connection failed or the server said something we cannot use."""


@dataclass(frozen=True)
class SMTPReply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


def to_wire(data: bytes) -> bytes:
    """CRLF line ends everywhere (no bare CR or LF), dot-stuffed, terminated."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = LINE_START_DOT.sub(b"..", b"\r\n".join(lines))
    return body + b"\r\n.\r\n"


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
        except (OSError, asyncio.TimeoutError) as error:
            raise SMTPError(f"cannot connect to {self.host}:{self.port}: {error}") from None
        greeting = await self._read_reply()
        if greeting.code != 220:
            await self.close()
            raise SMTPError(f"greeting refused: {greeting}")
        reply = await self._command(f"EHLO {self.helo}")
        if reply.code != 250:
            await self.close()
            raise SMTPError(f"EHLO refused: {reply}")
        self.extensions = {line.split()[0].upper() for line in reply.text.splitlines()[1:] if line}

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if not writer.is_closing():
                writer.write(b"QUIT\r\n")
                await asyncio.wait_for(writer.drain(), 1)
        except (OSError, asyncio.TimeoutError):
            pass
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (OSError, asyncio.TimeoutError):
            pass

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        """One transaction. Returns each recipient's final reply (250 when delivered)."""
        if not self.connected:
            await self.connect()
        params = " BODY=8BITMIME" if "8BITMIME" in self.extensions else ""
        commands = [f"MAIL FROM:<{mail_from}>{params}"] + [f"RCPT TO:<{r}>" for r in rcpts]
        try:
            if "PIPELINING" in self.extensions:
                self._write("".join(c + "\r\n" for c in commands) + "DATA\r\n")
                replies = [await self._read_reply() for _ in range(len(commands) + 1)]
            else:
                replies = await self._one_by_one(commands)
            return await self._finish(rcpts, replies, data)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
            await self.close()
            raise SMTPError(f"connection to {self.host}:{self.port} lost: {error}") from None

    async def _one_by_one(self, commands: list[str]) -> list[SMTPReply]:
        replies = []
        for command in commands:
            replies.append(await self._command(command))
            if replies[0].code != 250:
                break
        accepted = any(r.code in (250, 251) for r in replies[1:])
        if replies[0].code == 250 and accepted:
            replies.append(await self._command("DATA"))
        return replies

    async def _finish(self, rcpts: Sequence[str], replies: list[SMTPReply], data: bytes) -> dict[str, SMTPReply]:
        mail = replies[0]
        if mail.code != 250:
            await self._reset(data_started=len(replies) > len(rcpts) + 1 and replies[-1].code == 354)
            return {r: mail for r in rcpts}
        results = dict(zip(rcpts, replies[1 : len(rcpts) + 1]))
        data_reply = replies[len(rcpts) + 1] if len(replies) > len(rcpts) + 1 else None
        if data_reply is None or data_reply.code != 354:
            await self._reset(data_started=False)
            return {r: reply if reply.code >= 400 else (data_reply or reply) for r, reply in results.items()}
        if not any(reply.code in (250, 251) for reply in results.values()):
            await self._reset(data_started=True)  # no recipient accepted: send an empty body
            return results
        self._writer_or_fail().write(to_wire(data))
        final = await self._read_reply()
        return {r: final if reply.code in (250, 251) else reply for r, reply in results.items()}

    async def _reset(self, data_started: bool) -> None:
        if data_started:
            self._write(".\r\n")
            await self._read_reply()
        await self._command("RSET")

    def _writer_or_fail(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise SMTPError("not connected")
        return self._writer

    def _write(self, text: str) -> None:
        self._writer_or_fail().write(text.encode("utf-8", "surrogateescape"))

    async def _command(self, command: str) -> SMTPReply:
        self._write(command + "\r\n")
        return await self._read_reply()

    async def _read_reply(self) -> SMTPReply:
        if self._reader is None:
            raise SMTPError("not connected")
        lines = []
        while True:
            line = await asyncio.wait_for(self._reader.readline(), self.timeout)
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(text) < 3 or not text[:3].isdigit():
                raise SMTPError(f"malformed reply: {text[:100]!r}")
            lines.append(text[4:])
            if text[3:4] != "-":
                return SMTPReply(int(text[:3]), "\n".join(lines))
