"""Periodic work `listserv serve` runs (reminders, expiries, digests, prompts).

A job is a plain function over a session factory that returns how many things it did;
it must be safe to run on several nodes at once (claim with the database, not memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from listserv.digest.jobs import digest_job, prompt_job
from listserv.membership.expiry import run_expiry
from listserv.membership.onboarding import run_onboarding
from listserv.render import Templates
from listserv.moderation.jobs import expire_held, send_reminders
from listserv.settings import Settings


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Callable[[], Session], Settings, Templates], int]


# Features add their jobs here, e.g. Job("held-reminders", timedelta(hours=1), send_reminders).
JOBS: tuple[Job, ...] = (
    Job("held-reminders", timedelta(hours=1), send_reminders),
    Job("held-expiry", timedelta(hours=1), expire_held),
    Job("onboarding", timedelta(minutes=15), run_onboarding),
    Job("membership-expiry", timedelta(minutes=15), run_expiry),
    Job("digests", timedelta(minutes=5), digest_job),
    Job("prompts-and-polls", timedelta(minutes=1), prompt_job),
)
