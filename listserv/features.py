"""What each capability plugs into the engine: its periodic jobs and the settings an operator
may change per list (`listserv list set`) and per member (`listserv member set`).

A job is a plain function over the work context that returns how many things it did; it
must be safe to run on several nodes at once (claim with the database, not memory).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from listserv.archive.search_index import catch_up
from listserv.archive.store import ARCHIVE_SETTINGS
from listserv.bounces.jobs import run_bounces
from listserv.bounces.store import BOUNCE_SETTINGS
from listserv.digest.gather import DIGEST_SETTINGS
from listserv.digest.jobs import digest_job, prompt_job
from listserv.dmarc.store import DMARC_SETTINGS
from listserv.engagement.jobs import run_engagement
from listserv.engagement.store import ENGAGEMENT_MEMBER_SETTINGS, ENGAGEMENT_SETTINGS
from listserv.engagement.weekly import run_reports
from listserv.inbound.imap.config import IMAP_SETTINGS
from listserv.library.approved import run_approved
from listserv.library.titles import LIBRARY_SETTINGS, run_titles
from listserv.membership.expiry import run_expiry
from listserv.membership.onboarding import run_onboarding
from listserv.membership.store import MEMBERSHIP_SETTINGS
from listserv.moderation.jobs import expire_held, remind_facilitators
from listserv.moderation.policy import MODERATION_MEMBER_SETTINGS, MODERATION_SETTINGS
from listserv.store import retention
from listserv.store.admin import CORE_LIST_SETTINGS, CORE_MEMBER_SETTINGS, ListSetting
from listserv.work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Work], int]


def prune_old_records(work: Work) -> int:
    """Retention (store/retention.py): the ledger, service mail, bounces and notice_log past their days."""
    removed = retention.prune(work.sessions, retention.Policy.of(work.settings), work.now())
    if removed:
        log.info("retention removed %s", " ".join(f"{name}={count}" for name, count in removed.items()))
    return sum(removed.values())


JOBS: tuple[Job, ...] = (
    Job("held-reminders", timedelta(hours=1), remind_facilitators),
    Job("held-expiry", timedelta(hours=1), expire_held),
    Job("onboarding", timedelta(minutes=15), run_onboarding),
    Job("membership-expiry", timedelta(minutes=15), run_expiry),
    Job("digests", timedelta(minutes=5), digest_job),
    Job("prompts-and-polls", timedelta(minutes=1), prompt_job),
    Job("retention", timedelta(hours=1), prune_old_records),
    Job("bounces", timedelta(minutes=10), run_bounces),
    Job("engagement", timedelta(hours=1), run_engagement),
    Job("engagement-report", timedelta(minutes=5), run_reports),
    Job("library-titles", timedelta(minutes=1), run_titles),
    Job("library-approved", timedelta(minutes=5), run_approved),
    Job("archive-index", timedelta(minutes=1), catch_up),
)

LIST_SETTINGS: dict[str, ListSetting] = (
    CORE_LIST_SETTINGS
    | MODERATION_SETTINGS
    | MEMBERSHIP_SETTINGS
    | DIGEST_SETTINGS
    | BOUNCE_SETTINGS
    | DMARC_SETTINGS
    | ENGAGEMENT_SETTINGS
    | IMAP_SETTINGS
    | LIBRARY_SETTINGS
    | ARCHIVE_SETTINGS
)
MEMBER_SETTINGS: dict[str, ListSetting] = CORE_MEMBER_SETTINGS | MODERATION_MEMBER_SETTINGS | ENGAGEMENT_MEMBER_SETTINGS
