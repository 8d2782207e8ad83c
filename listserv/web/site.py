"""What every web handler works with: the work context and the hook that wakes the senders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from listserv.work import Work


@dataclass(frozen=True)
class Site:
    work: Work
    on_change: Callable[[], None]  # something was queued for sending
