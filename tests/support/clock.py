"""The clock the tests give listserv: it starts at a fixed moment and moves on with real time.

Nothing under test reads the real clock, so a test runs the same on any date, at any hour, in
any time zone. LISTSERV_TEST_NOW (ISO 8601, naive UTC) moves the start, to run the whole suite
at another moment: `LISTSERV_TEST_NOW=2027-03-28T00:59:00 pytest`.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta

DEFAULT_START = datetime(2026, 3, 18, 10, 0)  # a Wednesday morning


def start_moment() -> datetime:
    value = os.environ.get("LISTSERV_TEST_NOW", "")
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else DEFAULT_START


def signing_clock() -> TestClock:
    """For an engine whose signatures a verifier checks: dkimpy and Mail::DKIM compare t= with the
    real time and refuse one from hours ahead, so these engines start at the fixed, past moment
    whatever LISTSERV_TEST_NOW says."""
    return TestClock(DEFAULT_START)


class TestClock:
    """Callable like listserv.clock.system_clock; `advance` jumps it forward (a week, a month)."""

    __test__ = False  # not a test class for pytest

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or start_moment()
        self._began = time.monotonic()
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.start + self._offset + timedelta(seconds=time.monotonic() - self._began)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta
