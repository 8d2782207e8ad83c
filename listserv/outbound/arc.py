"""ARC sealing (RFC 8617) of a message we modified, with dkimpy's arc_sign. Pure: no I/O, no clock.

The fan-out seals each post once, after decoration and before the per-member headers
(List-Unsubscribe, List-Unsubscribe-Post) are written: those differ per copy, so the
ARC-Message-Signature never covers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import authres  # type: ignore[import-untyped]
import dkim  # type: ignore[import-untyped]

from listserv.errors import Invalid

SEALED_HEADERS = (
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "list-id", "list-post",
)  # fmt: skip
CHAIN_STATUSES = ("pass", "fail", "none")
SealInputs = tuple[str, tuple[str, ...]]  # (chain status as received, our own results): SenderAuth.seal_inputs()
Header = list[bytes]  # dkimpy's [name, value-with-its-line-ending]


class SealError(Invalid):
    """The message cannot be sealed: no From, or a key dkimpy cannot use."""


def seal(
    raw: bytes,
    domain: str,
    selector: str,
    private_key_pem: bytes,
    authserv_id: str,
    now: int | datetime,
    *,
    chain: str | None = None,
    results: Sequence[str] = (),
    headers: Sequence[str] = SEALED_HEADERS,
) -> bytes:
    """The message with a new ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results)
    prepended, or the message unchanged when the chain must not be extended.

    The ARC-Authentication-Results consolidate, in order, every Authentication-Results header of
    `authserv_id` in the message (the receiving MTA's, whose id is trusted), then `results`: our own
    verification, method=result strings such as "dkim=pass header.d=example.org". Comments in them
    are dropped (dkimpy re-parses them with authres).

    `chain` is the chain validation status we computed for the message as received (pass, fail or
    none; inbound/arc_chain.py) and replaces any arc= result in those headers; when None, their
    arc= result is used. Without an ARC set in the message the status is none. A chain whose status
    is unknown (a temporary error, or no arc= result for a message that has ARC sets) is not extended:
    the message comes back unchanged. cv=fail seals only our own set, as RFC 8617 5.1.2 says.

    The ARC-Message-Signature covers each of `headers` present in the message (every occurrence),
    never List-Unsubscribe or List-Unsubscribe-Post. `now` is the t= of both signatures (a naive
    datetime is UTC, as the engine's are). Raises SealError when the message has no From or the key
    is unusable. For a post, `chain` and `results` come from its SenderAuth (`seal_inputs`).
    """
    if chain is not None and chain not in CHAIN_STATUSES:
        return raw
    fields, body = dkim.rfc822_parse(raw)
    names = [bytes(name).lower() for name, _ in fields]
    if not any(name in dkim.ARC.ARC_HEADERS for name in names):
        chain = "none"  # the first set: whatever an arc= result says, there is no chain yet
    signed = [name.encode("ascii") for name in headers for _ in range(names.count(name.encode("ascii")))]
    if b"from" not in signed:
        raise SealError("cannot ARC-seal a message without a From header")
    stamp = consolidated(fields, authserv_id, chain, results)
    copy = [field for field in fields if not ours(field, authserv_id)]
    message = b"".join(name + b":" + value for name, value in [stamp] + copy) + b"\r\n" + body
    if isinstance(now, datetime):
        now = int((now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp())
    try:
        arc_set = dkim.arc_sign(message, selector.encode("ascii"), domain.encode("ascii"), private_key_pem,
                                authserv_id.encode("ascii"), include_headers=signed, timestamp=now)  # fmt: skip
    except dkim.DKIMException as error:
        raise SealError(f"cannot ARC-seal for {domain}: {error}") from error
    return b"".join(arc_set) + raw


def ours(field: Header, authserv_id: str) -> bool:
    """An Authentication-Results header of our authserv-id."""
    if field[0].lower() != b"authentication-results":
        return False
    return field[1].decode("utf-8", "replace").strip().split(";")[0].strip().lower() == authserv_id.lower()


def consolidated(fields: list[Header], authserv_id: str, chain: str | None, results: Sequence[str]) -> Header:
    """One Authentication-Results of authserv_id: the MTA's results, then ours, then arc=chain."""
    found: list[str] = []
    for name, value in fields:
        if not ours([name, value], authserv_id):
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + value.decode("utf-8"))
        except (authres.core.SyntaxError, UnicodeDecodeError, ValueError):
            continue  # dkimpy skips a header it cannot parse; so do we
        found += [str(r) for r in parsed.results if chain is None or r.method != "arc"]
    found += list(results)
    if chain is not None:
        found.insert(0, f"arc={chain}")
    items = "".join(f";\r\n {item}" for item in found) if found else "; none"
    return [b"Authentication-Results", f" {authserv_id}{items}\r\n".encode()]
