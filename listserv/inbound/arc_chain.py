"""ARC chain validation (RFC 8617 section 5.2) of a received message, with dkimpy.

dkimpy does the cryptography and the structural checks. Our wrapper adds what it leaves open:
- dkimpy answers None, not "fail", when the newest ARC-Seal says cv=fail or an older one does
  (the draft the public test suite was written for left that result empty); RFC 8617 5.2 says the
  chain then fails (step 2: the newest set's cv=fail; step 3C: no set may say cv=fail), so we say fail;
- a key lookup that got no answer is a temporary error, not a failed chain;
- more than 50 ARC sets (RFC 8617 4.2.1) fail without being verified, and dkimpy's errors on
  malformed input are a failed chain with the reason, never an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import dkim  # type: ignore[import-untyped]

from listserv.inbound.dnskeys import KeyLookup

log = logging.getLogger(__name__)
MAX_SETS = 50
MIN_KEY_BITS = 1024
MALFORMED = (dkim.DKIMException, ValueError, IndexError, KeyError, TypeError, AttributeError, UnicodeError)


class ChainStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"  # no ARC sets
    TEMPERROR = "temperror"  # a key lookup got no answer: neither pass nor fail


@dataclass(frozen=True)
class ArcChain:
    status: ChainStatus
    reason: str = ""
    sets: int = 0  # the highest instance, i=
    sealers: tuple[str, ...] = ()  # d= of each ARC-Seal that was checked, newest first
    newest_valid: bool = False  # the newest set's ARC-Message-Signature and ARC-Seal verify

    def __str__(self) -> str:
        return f"arc={self.status.value}" + (f" (i={self.sets})" if self.sets else "")


def validate_chain(raw: bytes, lookup: KeyLookup) -> ArcChain:
    """The chain validation status of the message, as a receiver computes it before sealing."""
    try:
        arc = dkim.ARC(raw, minkey=MIN_KEY_BITS)
        sets = int(arc.sorted_arc_headers()[0])
        if sets == 0:
            return ArcChain(ChainStatus.NONE)
        if sets > MAX_SETS:
            return ArcChain(ChainStatus.FAIL, f"more than {MAX_SETS} ARC sets", sets)
        cv, results, reason = arc.verify(dnsfunc=lookup)
        if results and results[0].get("cv") == dkim.CV_Fail:  # a cv=fail seal covers only its own set
            alone = dkim.ARC(only_set(raw, sets), minkey=MIN_KEY_BITS)
            results[0] = alone.verify_instance(alone.sorted_arc_headers()[1], sets, dnsfunc=lookup)
    except MALFORMED as error:
        return ArcChain(ChainStatus.FAIL, f"unreadable ARC header fields: {error}")
    sealers = tuple(bytes(r.get("as-domain", b"")).decode("ascii", "replace") for r in results)
    newest = bool(results) and bool(results[0].get("ams-valid") and results[0].get("as-valid"))
    if lookup.errors:
        return ArcChain(ChainStatus.TEMPERROR, lookup.errors[0], sets, sealers, newest)
    status = {dkim.CV_Pass: ChainStatus.PASS, dkim.CV_None: ChainStatus.NONE}.get(cv, ChainStatus.FAIL)
    return ArcChain(status, "" if status is ChainStatus.PASS else str(reason), sets, sealers, newest)


def only_set(raw: bytes, instance: int) -> bytes:
    """The message without the ARC header fields of other instances."""
    fields, body = dkim.rfc822_parse(raw)
    kept: list[bytes] = []
    for name, value in fields:
        found = dkim.ARC.INSTANCE_RE.search(value) if name.lower() in dkim.ARC.ARC_HEADERS else None
        if found is None or int(found.group(1)) == instance:
            kept.append(name + b":" + value)
    return b"".join(kept) + b"\r\n" + bytes(body)
