"""The resolver against a real DNS server on loopback: records, names without any, no server at all."""

from __future__ import annotations

import time

from listserv.dns import Found, Resolver, nameserver_of
from listserv.settings import Settings, resolver_problem
from support.dnsmasq import DnsServer


def test_txt_records_are_joined_and_a_missing_name_is_an_answer(dns_server: DnsServer) -> None:
    long = "v=DKIM1; k=rsa; p=" + "M" * 600  # over 255 octets: several strings in one record
    dns_server.serve({"sel._domainkey.example.test": long, "_dmarc.example.test": "v=DMARC1; p=reject; rua=mailto:a@x.test,mailto:b@x.test"})  # fmt: skip
    resolver = Resolver(dns_server.address, 1.0)
    assert resolver.txt("sel._domainkey.example.test").texts() == (long,)
    assert resolver.txt("_dmarc.example.test").texts() == ("v=DMARC1; p=reject; rua=mailto:a@x.test,mailto:b@x.test",)
    missing = resolver.txt("_dmarc.nowhere.example.test")
    assert missing.found is Found.NONE and missing.records == ()


def test_answers_are_cached_and_no_server_is_a_temporary_error_within_the_timeout(dns_server: DnsServer) -> None:
    dns_server.serve({"_dmarc.example.test": "v=DMARC1; p=none"})
    resolver = Resolver(dns_server.address, 0.5)
    assert resolver.txt("_dmarc.example.test").found is Found.RECORDS
    dns_server.stop()
    assert resolver.txt("_dmarc.example.test").texts() == ("v=DMARC1; p=none",)  # from the cache (TTL 300 s)
    started = time.monotonic()
    failed = resolver.txt("_dmarc.other.example.test")
    assert failed.found is Found.ERROR and "timeout" in failed.reason.lower()
    assert time.monotonic() - started < 2


def test_resolver_setting() -> None:
    assert nameserver_of("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert nameserver_of("[::1]:54") == ("::1", 54)
    assert nameserver_of("10.0.0.1") == ("10.0.0.1", 53)
    assert resolver_problem("127.0.0.1:5353") is None and resolver_problem("::1") is None
    assert "IP address" in (resolver_problem("dns.example.org") or "")
    assert "port" in (resolver_problem("127.0.0.1:0") or "")
    assert Settings().dns_resolver == ""


def test_a_failed_lookup_fails_again_at_once_for_a_while_then_is_tried_again(dns_server: DnsServer) -> None:
    """An outage costs each name one timeout, not one per message; once it is over, answers come back."""
    now = [1000.0]
    records = {"_dmarc.example.test": "v=DMARC1; p=reject"}
    resolver = Resolver(dns_server.address, 0.5, clock=lambda: now[0])
    dns_server.stop()
    assert resolver.txt("_dmarc.example.test").found is Found.ERROR
    started = time.monotonic()
    assert resolver.txt("_dmarc.example.test").found is Found.ERROR
    assert time.monotonic() - started < 0.1  # from memory: no second timeout
    dns_server.serve(records)
    assert resolver.txt("_dmarc.example.test").found is Found.ERROR  # still remembered
    now[0] += 31
    assert resolver.txt("_dmarc.example.test").texts() == ("v=DMARC1; p=reject",)
