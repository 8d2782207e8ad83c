"""Policy discovery (RFC 7489 6.6.3): `_dmarc.<From domain>`, else `_dmarc.<organisational domain>`.

The organisational domain is found with the Public Suffix List through the `publicsuffixlist`
package, which ships the list: no download at run time. Lookups go through a function such as
`listserv.dns.Resolver.txt` (TTL cache, bounded timeout); a lookup without an answer makes the
policy unknown at once, without a second lookup, so one post waits at most one DNS timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from publicsuffixlist import PublicSuffixList

from listserv.dmarc.record import Disposition, dmarc_texts, parse_record
from listserv.dns import Found, TxtAnswer

Lookup = Callable[[str], TxtAnswer]


@dataclass(frozen=True)
class AuthorPolicy:
    """What the author's domain publishes; `known` is False when DNS gave no answer."""

    domain: str
    disposition: Disposition = Disposition.NONE
    known: bool = True
    found_at: str = ""  # the name the record was found at; "" when there is none
    reason: str = ""  # why the policy is unknown

    @property
    def strict(self) -> bool:
        """p=quarantine or p=reject: mail failing DMARC is junked or refused."""
        return self.disposition in (Disposition.QUARANTINE, Disposition.REJECT)


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organisational_domain(domain: str) -> str | None:
    """The registered domain under its public suffix ('mail.example.co.uk' -> 'example.co.uk');
    None for a public suffix itself."""
    found = _suffixes().privatesuffix(domain.lower().rstrip("."))
    return str(found) if found else None


def discover_policy(lookup: Lookup, domain: str) -> AuthorPolicy:
    domain = domain.lower().rstrip(".")
    own = lookup(f"_dmarc.{domain}")
    if own.found is Found.ERROR:
        return AuthorPolicy(domain, known=False, reason=own.reason)
    texts = dmarc_texts(own.texts())
    if texts:
        return _policy_of(domain, f"_dmarc.{domain}", texts, subdomain=False)
    org = organisational_domain(domain)
    if org is None or org == domain:
        return AuthorPolicy(domain)
    parent = lookup(f"_dmarc.{org}")
    if parent.found is Found.ERROR:
        return AuthorPolicy(domain, known=False, reason=parent.reason)
    return _policy_of(domain, f"_dmarc.{org}", dmarc_texts(parent.texts()), subdomain=True)


def _policy_of(domain: str, name: str, texts: list[str], subdomain: bool) -> AuthorPolicy:
    """One DMARC record applies; none, several or an invalid one: no DMARC (RFC 7489 6.6.3)."""
    record = parse_record(texts[0]) if len(texts) == 1 else None
    if record is None:
        return AuthorPolicy(domain)
    return AuthorPolicy(domain, record.applied(subdomain), found_at=name)
