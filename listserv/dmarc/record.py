"""DMARC policy records (RFC 7489 6.3, 6.6.3): tags, v=DMARC1 first, bad records ignored. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

VERSION = re.compile(r"^\s*v\s*=\s*DMARC1\s*(;|$)")  # the version tag comes first, case as written
TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Disposition(StrEnum):
    """What a domain asks receivers to do with mail that fails DMARC (the p= and sp= tags)."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"


@dataclass(frozen=True)
class DmarcRecord:
    policy: Disposition  # p=
    subdomain_policy: Disposition | None = None  # sp=; None: p= applies to subdomains too

    def applied(self, subdomain: bool) -> Disposition:
        """The policy for mail From this domain, or From a subdomain whose own name has no record."""
        return (self.subdomain_policy or self.policy) if subdomain else self.policy


def dmarc_texts(texts: Iterable[str]) -> list[str]:
    """The TXT records that are DMARC records; any other TXT at _dmarc.<domain> is discarded."""
    return [text for text in texts if VERSION.match(text)]


def record_tags(text: str) -> dict[str, str]:
    """tag=value pairs; names lowercased, the first of a repeated tag kept, malformed pieces skipped."""
    tags: dict[str, str] = {}
    for piece in text.split(";"):
        name, equals, value = piece.partition("=")
        name = name.strip()
        if equals and TAG.match(name):
            tags.setdefault(name.lower(), value.strip())
    return tags


def parse_record(text: str) -> DmarcRecord | None:
    """The record's policies, or None when it is no valid DMARC record (no version first, no valid p=,
    an invalid sp=): RFC 7489 6.6.3 then applies no DMARC to the message, or at most p=none."""
    if not VERSION.match(text):
        return None
    tags = record_tags(text)
    policy = _disposition(tags.get("p"))
    if policy is None:
        return None
    if "sp" not in tags:
        return DmarcRecord(policy)
    subdomain = _disposition(tags["sp"])
    return DmarcRecord(policy, subdomain) if subdomain else None


def _disposition(value: str | None) -> Disposition | None:
    try:
        return Disposition(value.lower()) if value is not None else None
    except ValueError:
        return None
