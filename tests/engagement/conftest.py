"""The engagement tests' community: a list, its members and facilitator, the engine running."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from listserv.settings import Settings
from support.clock import TestClock
from support.digest_helpers import World
from support.engagement import FACILITATOR, MEMBERS, ran_once
from support.engine import RunningEngine
from support.sink import Sink
from support.waiting import wait_until


@pytest.fixture
def world(make_list: Callable[..., str], settings: Settings, clock: TestClock, sink: Sink) -> Iterator[World]:
    make_list("team", members=MEMBERS, facilitators=(FACILITATOR,), new_member_posts="0")
    running = RunningEngine(settings, clock).start()
    w = World(running, sink, settings)
    # the job runs when the engine starts: wait for it before time moves on
    wait_until(lambda: ran_once(w), what="the engagement job did not run at start")
    yield w
    running.stop()


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """A test that publishes DKIM keys (`dns_server`) gets settings whose resolver is its dnsmasq."""
    if "dns_server" not in request.fixturenames:
        return settings
    return replace(settings, dns_resolver=request.getfixturevalue("dns_server").address, dns_timeout=1.0)
