"""Where outbound mail goes: an SMTP relay (e.g. Postfix, or a smarthost over TLS) or a Maildir folder.

A TLS relay (smtps://, smtp+starttls://) is verified against the system's CAs plus
`relay_ca_file`, host name included, and given `relay_user` and the password from
`relay_password_file` (docs/tls.md). Those files are read when the relays are opened,
so a missing or unreadable one stops `listserv serve` at start with a ConfigError.

A TLS or AUTH failure later is an SMTPError from connect(): the sender defers the batch
with the reason as each recipient's `last_reply` (451 4.4.2 ...) and logs one line. A 5xx
to AUTH is deferred too, not failed: wrong credentials are the operator's to fix, not a
member's bad address, and the mail goes once they are fixed (until give_up_hours).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Protocol

from listserv.errors import ConfigError
from listserv.outbound.smtp_client import PLAIN, RelayTimeouts, Security, SMTPConnection, SMTPReply, Transaction
from listserv.settings import Settings

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

    def __init__(self, host: str, port: int, security: Security = PLAIN,
                 timeouts: RelayTimeouts = RelayTimeouts()) -> None:  # fmt: skip
        self.connection = SMTPConnection(host, port, timeouts, security=security)

    async def send(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, SMTPReply]:
        return await self.connection.send(mail_from, rcpts, data)

    async def send_many(self, transactions: Sequence[Transaction]) -> list[dict[str, SMTPReply]]:
        return await self.connection.send_many(transactions)

    async def close(self) -> None:
        await self.connection.close()


def open_relay(settings: Settings) -> Relay:
    return open_relays(settings, 1)[0]


def open_relays(settings: Settings, count: int) -> list[Relay]:
    """`count` relays (one per sender task). Raises ConfigError for a TLS file it cannot use."""
    setting = settings.relay
    if setting.kind == "maildir":
        return [MaildirRelay(setting.path) for _ in range(count)]
    security = relay_security(settings)
    timeouts = relay_timeouts(settings)
    return [SMTPRelay(setting.host, setting.port, security, timeouts) for _ in range(count)]


def relay_timeouts(settings: Settings) -> RelayTimeouts:
    return RelayTimeouts(settings.relay_connect_timeout, settings.relay_command_timeout, settings.relay_data_timeout)


def relay_security(settings: Settings) -> Security:
    """TLS and AUTH for the relay, from the settings and the files they name."""
    if settings.relay.tls == "none":
        return PLAIN
    context = client_tls_context(settings.relay_ca_file)
    return Security(settings.relay.tls, context, settings.relay_user, read_password(settings.relay_password_file))


def client_tls_context(ca_file: str) -> ssl.SSLContext:
    """The system's CAs, plus ca_file's; certificate and host name checked (TLS 1.2 or later)."""
    context = ssl.create_default_context()
    if not ca_file:
        return context
    try:
        context.load_verify_locations(cafile=ca_file)
    except ssl.SSLError:  # before OSError, its base
        raise ConfigError(f"relay_ca_file {ca_file} holds no PEM CA certificate") from None
    except OSError as error:
        raise ConfigError(f"cannot read relay_ca_file {ca_file}: {error.strerror}") from None
    return context


def read_password(path: str) -> str:
    """The first line of the relay_password_file (empty path: no AUTH). Never logged, never stored."""
    if not path:
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(f"cannot read relay_password_file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"relay_password_file {path} is not UTF-8 text") from None
    if not lines or not lines[0]:
        raise ConfigError(f"relay_password_file {path} is empty; put the password on its first line")
    return lines[0]
