"""aiosmtpd handler for the LMTP and SMTP listeners: translation only.

RCPT: not one of our addresses -> 550 (we are never an open relay).
DATA: caps checked on the raw bytes, then each recipient's copy committed;
only then 250. Anything unexpected answers 451 so the MTA retries.

The SMTP listener offers STARTTLS when tls_cert_file and tls_key_file are set, and with
smtp_require_tls refuses MAIL before it (530 5.7.0); LMTP stays plain, for a local MTA
(docs/tls.md). Neither takes AUTH. cannot_listen() is the one line every listener of
`listserv serve` (LMTP, SMTP, HTTP) gives when it cannot bind.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from listserv.errors import ConfigError, ServiceError
from listserv.inbound.connections import GatedSession
from listserv.inbound.ingest import GroupCommit, Receive
from listserv.inbound.limits import Limits, check_limits
from listserv.inbound.replies import (
    LINE_TOO_LONG,
    NO_SUCH_LIST,
    OK,
    RCPT_OK,
    TOO_BIG,
    TRY_LATER,
    Refused,
    Reply,
)
from listserv.inbound.smtp_args import plain_address
from listserv.mail.addresses import parse_recipient
from listserv.settings import HostPort, Settings

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
LINE_LIMIT = 64 * 1024  # RFC 5322 says 998, real mail says otherwise
# aiosmtpd's own answers after DATA, reworded with enhanced status codes
DATA_ERRORS = {"500 Line too long": LINE_TOO_LONG, "552 Error: Too much mail data": TOO_BIG}
# aiosmtpd's refusal before STARTTLS (RFC 3207 section 4), with its enhanced status code
MUST_STARTTLS = {"530 Must issue a STARTTLS command first": Reply(530, "5.7.0", "Must issue a STARTTLS command first")}
# errno -> (what happened, what to do) when a listener cannot bind
LISTEN_FAILURES = {
    errno.EADDRINUSE: ("address already in use", "stop the other program or set {key}"),
    errno.EACCES: ("permission denied", "ports below 1024 need root or CAP_NET_BIND_SERVICE; set {key}"),
    errno.EADDRNOTAVAIL: ("not an address of this machine", "set {key} to one of its addresses"),
}


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.max_message_size, settings.max_header_bytes, settings.max_mime_parts,
                  settings.max_mime_depth)  # fmt: skip


def data_error(status: str) -> Reply | None:
    return next((reply for prefix, reply in DATA_ERRORS.items() if status.startswith(prefix)), None)


def cannot_listen(what: str, address: HostPort, key: str, error: OSError) -> ServiceError:
    """`cannot listen for SMTP on 127.0.0.1:8025: address already in use; stop the other program or set smtp_listen`."""
    if isinstance(error, socket.gaierror):
        reason, advice = f"unknown host ({error.strerror})", "set {key} to an address of this machine"
    else:
        fallback = str(error.strerror or error).rpartition(": ")[2]  # asyncio prefixes "error while attempting..."
        reason, advice = LISTEN_FAILURES.get(error.errno or 0, (fallback, "check {key}"))
    return ServiceError(f"cannot listen for {what} on {address}: {reason}; {advice.format(key=key)}")


def refuse_encrypted_key() -> str:
    raise ConfigError("tls_key_file is encrypted; listserv needs it without a passphrase (readable by listserv only)")


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext | None:
    """STARTTLS for the SMTP listener (None without a certificate). Raises ConfigError naming the file."""
    if not cert_file and not key_file:
        return None
    for key, path in (("tls_cert_file", cert_file), ("tls_key_file", key_file)):
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise ConfigError(f"cannot read {key} {path}: {error.strerror}") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # TLS 1.2 or later, no client certificates
    try:
        context.load_cert_chain(cert_file, key_file, password=refuse_encrypted_key)
    except ssl.SSLError as error:
        reason = str(error.args[1] if len(error.args) > 1 else error).partition(" (_ssl.c")[0]
        raise ConfigError(f"tls_cert_file {cert_file} and tls_key_file {key_file} are not a PEM certificate "
                          f"and its private key ({reason})") from None  # fmt: skip
    return context


class ListSession(GatedSession):
    """What the SMTP and LMTP listeners share: the caps, long lines, plain addresses read fast."""

    line_length_limit = LINE_LIMIT

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = plain_address(arg)
        if plain is None:
            return super()._getaddr(arg)
        if self.local_part_limit and len(plain[0].rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return plain


class ListSMTP(ListSession):
    async def push(self, status: str) -> None:  # type: ignore[override]
        await super().push(str(data_error(status) or MUST_STARTTLS.get(status) or status))


class ListLMTP(ListSession, LMTP):
    async def push(self, status: str) -> None:  # type: ignore[override]
        """aiosmtpd answers a DATA error once; LMTP needs one reply per recipient."""
        reply = data_error(status)
        if reply is None or self.envelope is None:
            await super().push(status)
            return
        for _ in self.envelope.rcpt_tos or [""]:
            await super().push(str(reply))


class KnownLists:
    """The set of list addresses, re-read at most every REFRESH_SECONDS (or on a miss)."""

    def __init__(self, load: Callable[[], frozenset[str]]) -> None:
        self._load, self._lists, self._loaded_at = load, frozenset[str](), 0.0

    async def get(self, refresh: bool = False) -> frozenset[str]:
        age = time.monotonic() - self._loaded_at
        if age > REFRESH_SECONDS or (refresh and age > 0.2):
            self._lists = await asyncio.to_thread(self._load)
            self._loaded_at = time.monotonic()
        return self._lists


class IngestHandler:
    """With `intake` (the group commit), arrivals are awaited on the event loop rather than each
    blocking a thread, and announced at MAIL and each RCPT, so that processing gives way while mail
    comes in."""

    def __init__(self, lists: KnownLists, receive: Receive, limits: Limits,
                 on_stored: Callable[[], None] = lambda: None, lmtp: bool = True,
                 intake: GroupCommit | None = None) -> None:  # fmt: skip
        self.lists, self.receive, self.limits = lists, receive, limits
        self.on_stored, self.lmtp, self.intake = on_stored, lmtp, intake

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:  # fmt: skip
        envelope.mail_from = address  # the hook owns this once defined
        envelope.mail_options.extend(mail_options)
        if self.intake is not None:
            self.intake.arriving(envelope)
        return "250 OK"

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        """aiosmtpd would offer AUTH once TLS is up, with nothing behind it: we take no logins."""
        session.host_name = hostname
        return [line for line in responses if not line.startswith("250-AUTH")]

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if parse_recipient(address, await self.lists.get()) is None:
            if parse_recipient(address, await self.lists.get(refresh=True)) is None:
                return str(NO_SUCH_LIST)
        envelope.rcpt_tos.append(address)
        if self.intake is not None:
            self.intake.arriving(envelope)  # still on its way, however long the list lookup took
        return str(RCPT_OK)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return await self._data(envelope)
        finally:
            if self.intake is not None:
                self.intake.arrived(envelope)

    async def _data(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        refusal = check_limits(raw, self.limits)
        if refusal is not None:
            log.info("refused rcpts=%s reply=%s", ",".join(envelope.rcpt_tos), refusal)
        replies = [refusal or await self._store(raw, envelope, address) for address in envelope.rcpt_tos]
        if any(reply.code == 250 for reply in replies):
            self.on_stored()
        if self.lmtp:
            return "\r\n".join(map(str, replies))  # LMTP: one reply per accepted RCPT, in order
        return str(max(replies, key=lambda r: (r.code // 100 == 4, r.code)))  # SMTP: the worst

    async def _store(self, raw: bytes, envelope: Envelope, address: str) -> Reply:
        try:
            rcpt = parse_recipient(address, await self.lists.get())
            if rcpt is None:
                raise Refused(NO_SUCH_LIST)
            if self.intake is not None:
                await self.intake.receive_async(raw, rcpt, envelope.mail_from or "", address)
            else:
                await asyncio.to_thread(self.receive, raw, rcpt, envelope.mail_from or "", address)
            return OK
        except Refused as refused:
            return refused.reply
        except Exception:
            log.exception("receive failed rcpt=%s", address)
            return TRY_LATER

    async def handle_exception(self, error: Exception) -> str:
        log.error("session error: %r", error)
        return str(TRY_LATER)  # aiosmtpd's default would be a 500
