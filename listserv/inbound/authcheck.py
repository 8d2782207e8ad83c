"""Is a facilitator's reply really from their domain? The receiving MTA's
Authentication-Results, and our own check of its DKIM signatures with dkimpy.

DNS is a seam: `use_dns(func)` sets the TXT lookup dkimpy uses (tests pass a
dict-backed function; None restores dkimpy's own, through dnspython).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import Message

import dkim  # type: ignore[import-untyped]
from dkim.util import InvalidTagValueList, parse_tag_value  # type: ignore[import-untyped]

from listserv.inbound.authres import Verdict, aligned, trusted_ids_of, verdict_of
from listserv.mail.parse import header_values
from listserv.settings import Settings

log = logging.getLogger(__name__)
DnsFunc = Callable[..., bytes | None]
_dns_txt: DnsFunc | None = None
MAX_SIGNATURES = 5


def use_dns(func: DnsFunc | None) -> DnsFunc | None:
    """Set the DNS TXT lookup DKIM verification uses; returns the one it replaces."""
    global _dns_txt
    previous, _dns_txt = _dns_txt, func
    return previous


def _lookup() -> DnsFunc:
    return _dns_txt or dkim.dnsplug.get_txt


def signers(raw: bytes) -> list[str]:
    """The d= of each DKIM-Signature, in order ("" where unreadable)."""
    found = []
    for name, value in dkim.DKIM(raw).headers:
        if name.lower() == b"dkim-signature":
            try:
                tags = parse_tag_value(value)
            except InvalidTagValueList:
                tags = {}
            found.append(tags.get(b"d", b"").decode("ascii", "replace").strip().lower())
    return found


def verify_signature(raw: bytes, index: int) -> str:
    """pass, fail, temperror (DNS did not answer) or permerror (no key, malformed)."""
    outcome: list[str] = []

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = _lookup()(name, timeout=timeout)
        except dkim.DnsTimeoutError:
            outcome.append("temperror")
            raise
        if not answer:
            outcome.append("permerror")
        return answer

    try:
        good = dkim.DKIM(raw, timeout=5).verify(idx=index, dnsfunc=txt)
    except dkim.ValidationError as error:  # body hash mismatch, expired, bad tags: the signature fails
        log.info("dkim signature %d invalid: %s", index, error)
        return "fail"
    except dkim.DKIMException as error:
        log.info("dkim signature %d unreadable: %s", index, error)
        return "permerror"
    if good:
        return "pass"
    return outcome[0] if outcome else "fail"


def dkim_verdict(raw: bytes, domain: str) -> Verdict:
    """Our own verification of the signatures made for the domain."""
    passed, failed = [], []
    for index, signer in enumerate(signers(raw)[:MAX_SIGNATURES]):
        if not aligned(signer, domain):
            continue
        result = verify_signature(raw, index)
        log.info("dkim verified d=%s result=%s", signer, result)
        if result == "pass":
            passed.append(f"dkim=pass header.d={signer} (verified here)")
        elif result == "fail":
            failed.append(f"dkim=fail header.d={signer} (verified here)")
    return Verdict(tuple(passed), tuple(failed))


def reply_verdict(raw: bytes, message: Message, domain: str, settings: Settings) -> Verdict:
    if settings.moderation_auth == "off":
        return Verdict()
    headers = header_values(message, "Authentication-Results")
    return verdict_of(headers, domain, trusted_ids_of(settings.authserv_ids)) + dkim_verdict(raw, domain)
