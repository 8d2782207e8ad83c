"""A signing engine: a DKIM key for the list domain, published by a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from listserv.dkim.keys import dns_name, generate
from listserv.settings import Settings
from support.clock import signing_clock
from support.dnsmasq import DnsServer
from support.engine import RunningEngine

DOMAIN = "lists.example.test"
PUBLIC = "https://lists.example.test/listserv"


@pytest.fixture
def signing_settings(settings: Settings, dns_server: DnsServer) -> Settings:
    """public_url set, a key made as `listserv dkim keygen` makes it, its record published."""
    signing = replace(settings, public_url=PUBLIC, dns_resolver=dns_server.address)
    _, record = generate(signing, DOMAIN, signing.dkim_selector)
    dns_server.serve({dns_name(DOMAIN, signing.dkim_selector): record})
    return signing


@pytest.fixture
def signing_engine(signing_settings: Settings) -> Iterator[RunningEngine]:
    running = RunningEngine(signing_settings, signing_clock()).start()
    yield running
    running.stop()
