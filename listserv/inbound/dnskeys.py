"""dkimpy's DNS lookups (DKIM and ARC keys) through listserv.dns: the operator's resolver, its TTL cache
and its timeout, instead of dkimpy's own call to the system resolver."""

from __future__ import annotations

import dkim  # type: ignore[import-untyped]

from listserv.dns import Found, Resolver


class KeyLookup:
    """A dkimpy `dnsfunc`: the TXT record of a name, or None when it has none.

    A lookup that gets no answer (timeout, SERVFAIL) is remembered in `errors` and raised as
    dkimpy's DnsTimeoutError, which dkimpy counts as a failed signature; callers read `errors`
    to call it a temporary error instead. After one such error every further lookup fails at once,
    so a DNS outage costs a message at most one `dns_timeout`.
    """

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self.errors: list[str] = []
        self.missing: list[str] = []  # names that have no TXT record

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        if self.errors:
            raise dkim.DnsTimeoutError(self.errors[0])
        try:
            text = name.decode("ascii").rstrip(".")
        except UnicodeDecodeError:
            return None
        answer = self._resolver.txt(text)
        if answer.found is Found.ERROR:
            self.errors.append(answer.reason)
            raise dkim.DnsTimeoutError(answer.reason)
        keys = [r for r in answer.records if r.lstrip().lower().startswith(b"v=dkim1")] or list(answer.records)
        if not keys:
            self.missing.append(text)
            return None
        return keys[0]
