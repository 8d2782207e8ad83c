"""DNS lookups through dnspython: TXT records (DKIM keys, DMARC policies), cached by their TTL.

The resolver is the `dns_resolver` setting (host or host:port; empty: /etc/resolv.conf), so tests
and operators with a local resolver point it anywhere. A lookup never waits longer than
`dns_timeout` in all; a server that does not answer is a temporary error, never an exception,
so no caller (the worker, a CLI command) can be stalled or crashed by DNS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache

import dns.exception
import dns.name
import dns.resolver

from listserv.settings import Settings, split_nameserver

log = logging.getLogger(__name__)
CACHE_ENTRIES = 10_000
FAILED_FOR = 30.0  # seconds a failed lookup is answered from memory


class Found(Enum):
    RECORDS = "records"  # the name has TXT records
    NONE = "none"  # the name does not exist, or has no TXT records: an answer, cached like one
    ERROR = "error"  # no answer (timeout, SERVFAIL, refused, unreachable): try again later


@dataclass(frozen=True)
class TxtAnswer:
    found: Found
    records: tuple[bytes, ...] = ()  # each record's strings joined, as RFC 7208 and RFC 6376 read them
    reason: str = ""  # why there was no answer

    def texts(self) -> tuple[str, ...]:
        return tuple(record.decode("utf-8", "replace") for record in self.records)


def nameserver_of(value: str) -> tuple[str, int]:
    """The dns_resolver setting (checked at start-up) as an address and a port."""
    host, port = split_nameserver(value)
    return host, int(port)


class Resolver:
    """TXT lookups with dnspython's TTL-honouring cache; one per process per setting."""

    def __init__(self, nameserver: str = "", timeout: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failed: dict[str, tuple[float, TxtAnswer]] = {}  # name -> (until, the error answer)
        if nameserver:
            self._resolver = dns.resolver.Resolver(configure=False)
            host, port = nameserver_of(nameserver)
            self._resolver.nameservers = [host]
            self._resolver.port = port
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:  # no /etc/resolv.conf: every lookup fails
                self._resolver = dns.resolver.Resolver(configure=False)
        self._resolver.lifetime = timeout
        self._resolver.timeout = min(timeout, 2.0)
        self._resolver.cache = dns.resolver.LRUCache(CACHE_ENTRIES)

    def txt(self, name: str) -> TxtAnswer:
        """The name's TXT records. A name whose lookup failed fails again at once for FAILED_FOR
        seconds, so a DNS outage costs each name one timeout, not one per message."""
        failed = self._failed.get(name)
        if failed is not None and failed[0] > self._clock():
            return failed[1]
        answer = self._lookup(name)
        if answer.found is Found.ERROR:
            if len(self._failed) >= CACHE_ENTRIES:
                self._failed.clear()
            self._failed[name] = (self._clock() + FAILED_FOR, answer)
        else:
            self._failed.pop(name, None)
        return answer

    def _lookup(self, name: str) -> TxtAnswer:
        try:
            answer = self._resolver.resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return TxtAnswer(Found.NONE)
        except dns.resolver.NoNameservers as error:
            return TxtAnswer(Found.ERROR, reason=f"no server answered for {name}: {error.msg}")
        except dns.exception.Timeout:
            return TxtAnswer(Found.ERROR, reason=f"DNS timeout looking up {name}")
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as error:
            return TxtAnswer(Found.NONE, reason=f"not a DNS name: {error}")
        except dns.exception.DNSException as error:
            return TxtAnswer(Found.ERROR, reason=f"DNS lookup of {name} failed: {error}")
        records = tuple(b"".join(rdata.strings) for rdata in answer)
        return TxtAnswer(Found.RECORDS, records)


@cache
def _resolver(nameserver: str, timeout: float) -> Resolver:
    return Resolver(nameserver, timeout)


def resolver_of(settings: Settings) -> Resolver:
    """The process's resolver for these settings, so its cache is shared by every lookup."""
    return _resolver(settings.dns_resolver, settings.dns_timeout)
