"""Is a message really from its From domain? The receiving MTA's Authentication-Results (from a
trusted authserv-id), our own check of its DKIM signatures and of its ARC chain with dkimpy.

Keys are looked up through listserv.dns (the `dns_resolver` setting, TTL cache, `dns_timeout`):
a DNS outage makes results temporary errors within one timeout, never a stall or an exception.
"""

from __future__ import annotations

import logging
from email.message import Message

import dkim  # type: ignore[import-untyped]
from dkim.util import InvalidTagValueList, parse_tag_value  # type: ignore[import-untyped]

from listserv.dns import resolver_of
from listserv.inbound.arc_chain import validate_chain
from listserv.inbound.authres import (
    VERIFIED_HERE,
    SenderAuth,
    Verdict,
    aligned,
    spf_result,
    trusted_ids_of,
    verdict_of,
)
from listserv.inbound.dnskeys import KeyLookup
from listserv.mail.parse import header_values
from listserv.settings import Settings

log = logging.getLogger(__name__)
MAX_SIGNATURES = 5


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


def verify_signature(raw: bytes, index: int, lookup: KeyLookup) -> str:
    """pass, fail, temperror (DNS did not answer) or permerror (no key, malformed)."""
    errors, missing = len(lookup.errors), len(lookup.missing)
    try:
        good = dkim.DKIM(raw).verify(idx=index, dnsfunc=lookup)
    except dkim.ValidationError as error:  # body hash mismatch, expired, bad tags: the signature fails
        log.info("dkim signature %d invalid: %s", index, error)
        return "fail"
    except dkim.DKIMException as error:  # no key published, a malformed key or signature
        log.info("dkim signature %d unreadable: %s", index, error)
        return "temperror" if len(lookup.errors) > errors else "permerror"
    if good:
        return "pass"
    if len(lookup.errors) > errors:
        return "temperror"
    return "permerror" if len(lookup.missing) > missing else "fail"


def dkim_verdict(raw: bytes, domain: str, lookup: KeyLookup) -> Verdict:
    """Our own verification of the signatures made for the domain."""
    passed, failed = [], []
    for index, signer in enumerate(signers(raw)[:MAX_SIGNATURES]):
        if not aligned(signer, domain):
            continue
        result = verify_signature(raw, index, lookup)
        log.info("dkim verified d=%s result=%s", signer, result)
        if result == "pass":
            passed.append(f"dkim=pass header.d={signer}{VERIFIED_HERE}")
        elif result == "fail":
            failed.append(f"dkim=fail header.d={signer}{VERIFIED_HERE}")
    return Verdict(tuple(passed), tuple(failed))


def reply_verdict(raw: bytes, message: Message, domain: str, settings: Settings) -> Verdict:
    """What authenticates a by-mail action from the domain (nothing is checked with moderation_auth off)."""
    if settings.moderation_auth == "off":
        return Verdict()
    headers = header_values(message, "Authentication-Results")
    lookup = KeyLookup(resolver_of(settings))
    return verdict_of(headers, domain, trusted_ids_of(settings.authserv_ids)) + dkim_verdict(raw, domain, lookup)


def sender_auth(raw: bytes, message: Message, domain: str, settings: Settings) -> SenderAuth:
    """Everything we know of a post's From domain, gathered once in the worker."""
    if settings.moderation_auth == "off" or not domain:
        return SenderAuth(domain)
    headers = header_values(message, "Authentication-Results")
    trusted = trusted_ids_of(settings.authserv_ids)
    lookup = KeyLookup(resolver_of(settings))
    verdict = verdict_of(headers, domain, trusted) + dkim_verdict(raw, domain, lookup)
    chain = validate_chain(raw, lookup)
    error = lookup.errors[0] if lookup.errors else ""
    return SenderAuth(domain, verdict, chain.status.value, spf_result(headers, trusted), error)
