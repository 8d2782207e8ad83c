"""DKIM signatures (RFC 6376) for every copy we send, at OpenSSL's speed. Pure.

dkimpy does the standard: header parsing, relaxed canonicalisation, header selection and
folding. The RSA operation goes through OpenSSL (the `cryptography` package), about 40 times
faster than dkimpy's own arithmetic, and it releases the GIL, so copies signed on several
threads use several cores. A post's body is hashed once (`body_hash`); each member's copy only
hashes its header block (`BatchSigner`), because per-member one-click links make every copy's
headers different.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dkim import fold, rfc822_parse  # type: ignore[import-untyped]
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]

RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
# What a reader sees and what a list adds; each is signed once more than it occurs, so that
# nobody can add another one (a second From, a second List-Unsubscribe) without breaking it.
SIGNED_FIELDS = (
    b"from", b"reply-to", b"sender", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to",
    b"references", b"mime-version", b"content-type", b"content-transfer-encoding", b"list-id", b"list-help",
    b"list-unsubscribe", b"list-unsubscribe-post", b"list-subscribe", b"list-post", b"list-owner",
    b"list-archive", b"archived-at",
)  # fmt: skip


@dataclass(frozen=True)
class DomainKey:
    """A list domain's signing key: d=, s= and the private RSA key."""

    domain: str
    selector: str
    private: rsa.RSAPrivateKey
    pem: bytes = field(default=b"", repr=False)  # the key file, for dkimpy's ARC sealing


def split_message(raw: bytes) -> tuple[bytes, bytes]:
    """(header block ending in CRLF, body) of a message with CRLF line ends."""
    end = raw.find(b"\r\n\r\n")
    return (raw, b"") if end < 0 else (raw[: end + 2], raw[end + 4 :])


def wire_body(body: bytes) -> bytes:
    """The body as it goes out: every line ending a CRLF (the SMTP client sends it so)."""
    return body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def body_hash(raw: bytes) -> bytes:
    """bh=: the base64 SHA-256 of the relaxed canonical body. Once per post."""
    canonical = RELAXED.canonicalize_body(wire_body(split_message(raw)[1]))
    return base64.b64encode(hashlib.sha256(canonical).digest())


def signed_fields(headers: list[list[bytes]]) -> tuple[list[bytes], list[list[bytes]]]:
    """h= (each signed field as often as it occurs, plus once: over-signing) and those fields in
    the order h= names them, each name's occurrences from the bottom up (RFC 6376 5.4.2)."""
    by_name: dict[bytes, list[list[bytes]]] = {}
    for header in headers:
        by_name.setdefault(header[0].lower(), []).append(header)
    names: list[bytes] = []
    chosen: list[list[bytes]] = []
    for name in SIGNED_FIELDS:
        found = by_name.get(name, [])
        names += [name] * (len(found) + 1)
        chosen += reversed(found)
    return names, chosen


def header_fields(head: bytes) -> list[list[bytes]]:
    """[name, value] pairs of a CRLF header block, values with their line ends, as dkimpy's
    rfc822_parse gives them (which stays the reference for anything less regular)."""
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line + b"\r\n"
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or b" " in name:
            return [list(field) for field in rfc822_parse(head)[0]]
        fields.append([name, value + b"\r\n"])
    return fields


class BatchSigner:
    """Signs the copies of one message: the body hash, the signature's own tags and every
    header field's canonical form are computed once; per copy only what differs (the member's
    one-click field) is canonicalised, then OpenSSL signs."""

    def __init__(self, key: DomainKey, raw: bytes, now: int) -> None:
        self.key, self.now, self.bh = key, now, body_hash(raw)
        self._canonical: dict[bytes, list[bytes]] = {}

    def canonical(self, field: list[bytes]) -> list[bytes]:
        found = self._canonical.get(field[0] + b":" + field[1])
        if found is None:
            found = self._canonical[field[0] + b":" + field[1]] = RELAXED.canonicalize_headers([field])[0]
        return found

    def sign(self, raw: bytes) -> bytes:
        """The copy with a DKIM-Signature on top (its body must be the batch's)."""
        names, chosen = signed_fields(header_fields(split_message(raw)[0]))
        fields = [
            (b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", self.key.domain.encode("ascii")),
            (b"s", self.key.selector.encode("ascii")), (b"t", str(self.now).encode("ascii")),
            (b"h", b" : ".join(names)), (b"bh", self.bh), (b"b", b""),
        ]  # fmt: skip
        unsigned = fold(b"; ".join(b"=".join(field) for field in fields), namelen=len(b"DKIM-Signature"))
        itself = self.canonical([b"DKIM-Signature", b" " + unsigned])
        data = b"".join(name + b":" + value for name, value in map(self.canonical, chosen))
        data += itself[0] + b":" + itself[1].rstrip()
        signature = self.key.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        value: bytes = fold(unsigned + base64.b64encode(signature), namelen=len(b"DKIM-Signature"))
        return b"DKIM-Signature: " + value + b"\r\n" + raw


def sign_copy(raw: bytes, key: DomainKey, now: int) -> bytes:
    """One message with a DKIM-Signature on top."""
    return BatchSigner(key, raw, now).sign(raw)
