"""Time as listserv reads it: naive UTC datetimes from a clock that is passed in.

Nothing reads the real clock but `system_clock`; the service, the worker, the jobs and the
commands take a `Clock`, so a test can run a whole scenario at any date and hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in naive UTC: the same on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
