"""Periodic work `listserv serve` runs (reminders, expiries, digests, prompts).

A job is a plain function over a session factory that returns how many things it did;
it must be safe to run on several nodes at once (claim with the database, not memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from listserv.outbound.render import Templates
from listserv.settings import Settings


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Callable[[], Session], Settings, Templates], int]


# Features add their jobs here, e.g. Job("held-reminders", timedelta(hours=1), send_reminders).
JOBS: tuple[Job, ...] = ()
