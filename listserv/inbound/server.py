"""aiosmtpd handler for the LMTP and SMTP listeners: translation only.

RCPT: not one of our addresses -> 550 (we are never an open relay).
DATA: caps checked on the raw bytes, then each recipient's copy committed;
only then 250. Anything unexpected answers 451 so the MTA retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from listserv.inbound.ingest import Receive
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
from listserv.mail.addresses import parse_recipient
from listserv.settings import Settings

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
LINE_LIMIT = 64 * 1024  # RFC 5322 says 998, real mail says otherwise
# aiosmtpd's own answers after DATA, reworded with enhanced status codes
DATA_ERRORS = {"500 Line too long": LINE_TOO_LONG, "552 Error: Too much mail data": TOO_BIG}


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.max_message_size, settings.max_header_bytes, settings.max_mime_parts,
                  settings.max_mime_depth)  # fmt: skip


def data_error(status: str) -> Reply | None:
    return next((reply for prefix, reply in DATA_ERRORS.items() if status.startswith(prefix)), None)


class ListSMTP(SMTP):
    line_length_limit = LINE_LIMIT

    async def push(self, status: str) -> None:  # type: ignore[override]
        await super().push(str(data_error(status) or status))


class ListLMTP(LMTP):
    line_length_limit = LINE_LIMIT

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
    def __init__(self, lists: KnownLists, receive: Receive, limits: Limits,
                 on_stored: Callable[[], None] = lambda: None, lmtp: bool = True) -> None:  # fmt: skip
        self.lists, self.receive, self.limits = lists, receive, limits
        self.on_stored, self.lmtp = on_stored, lmtp

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if parse_recipient(address, await self.lists.get()) is None:
            if parse_recipient(address, await self.lists.get(refresh=True)) is None:
                return str(NO_SUCH_LIST)
        envelope.rcpt_tos.append(address)
        return str(RCPT_OK)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
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
