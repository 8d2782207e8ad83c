"""Where outbound mail goes: an SMTP relay (e.g. Postfix) or a Maildir folder."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Protocol

from listserv.outbound.smtp_client import SMTPConnection, SMTPReply, Transaction
from listserv.settings import RelaySetting

DELIVERED = SMTPReply(250, "2.0.0 Ok")


class Relay(Protocol):
    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]: ...

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        """Each transaction's final replies, in order. Raises SMTPError (see there)."""
        ...

    async def close(self) -> None: ...


class MaildirRelay:
    """One file per recipient in a Maildir, as an MDA would write it: for looking at."""

    _counter = count()

    def __init__(self, path: str) -> None:
        self.root = Path(path)
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        await asyncio.to_thread(self._write_all, mail_from, rcpts, data)
        return {rcpt: DELIVERED for rcpt in rcpts}

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        def write() -> None:
            for transaction in transactions:
                self._write_all(transaction.mail_from, transaction.rcpts, transaction.data)

        await asyncio.to_thread(write)
        return [{rcpt: DELIVERED for rcpt in transaction.rcpts} for transaction in transactions]

    def _write_all(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> None:
        body = data.replace(b"\r\n", b"\n")
        for rcpt in rcpts:
            name = f"{time.time_ns()}.{os.getpid()}_{next(self._counter)}.{socket.gethostname()}"
            envelope = f"Return-Path: <{mail_from}>\nDelivered-To: {rcpt}\n".encode()
            with open(self.root / "tmp" / name, "wb") as handle:
                handle.write(envelope + body)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(self.root / "tmp" / name, self.root / "new" / name)

    async def close(self) -> None:
        return None


class SMTPRelay:
    """One persistent connection; a sender task owns one of these."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = SMTPConnection(host, port)

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        return await self.connection.send(mail_from, rcpts, data)

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        return await self.connection.send_many(transactions)

    async def close(self) -> None:
        await self.connection.close()


def open_relay(setting: RelaySetting) -> Relay:
    if setting.kind == "maildir":
        return MaildirRelay(setting.path)
    return SMTPRelay(setting.host, setting.port)
