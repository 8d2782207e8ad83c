from dataclasses import replace

import pytest

from support.dnsmasq import DnsServer
from support.moderation import FAC, FAC2, MEMBERS


@pytest.fixture
def team(make_list):
    """The moderated list most moderation tests run against."""
    return make_list("team", members=MEMBERS, facilitators=(FAC, FAC2))


class PublishedRecords:
    """dns["s1._domainkey.example.org"] = "v=DKIM1; ..." publishes the record on the test's dnsmasq."""

    def __init__(self, server: DnsServer) -> None:
        self.server = server

    def __setitem__(self, name: str, value: str) -> None:
        self.server.add({name: value})


@pytest.fixture
def dns(dns_server):
    """DKIM keys published on a real DNS server on loopback (the settings point at it)."""
    return PublishedRecords(dns_server)


@pytest.fixture
def settings(settings, request):
    """A test that publishes keys (`dns`) gets settings whose resolver is its dnsmasq."""
    if "dns" not in request.fixturenames:
        return settings
    return replace(settings, dns_resolver=request.getfixturevalue("dns_server").address, dns_timeout=1.0)
