"""The library tests' community: a list with members and a facilitator, the engine running."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from listserv.settings import Settings
from support.clock import TestClock
from support.digest_helpers import World
from support.engine import RunningEngine
from support.library import ANN, BOB, CAT, FAC
from support.sink import Sink


@pytest.fixture
def world(make_list: Callable[..., str], settings: Settings, clock: TestClock, sink: Sink) -> Iterator[World]:
    make_list("team", members=(ANN, BOB, CAT), facilitators=(FAC,), new_member_posts="0")
    running = RunningEngine(settings, clock).start()
    yield World(running, sink, settings)
    running.stop()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Title fetching may reach the tests' own web server on loopback."""
    return replace(settings, library_fetch_private=True, library_fetch_timeout=1.0)
