"""The engine's settings, pointed at the test's own DNS server (dnsmasq on loopback)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from listserv.settings import Settings
from support.dnsmasq import DnsServer

DNS_TIMEOUT = 0.5


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer) -> Settings:
    return replace(settings, dns_resolver=dns_server.address, dns_timeout=DNS_TIMEOUT)
