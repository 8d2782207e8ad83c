"""The engagement job: once a day per open list, assess every member and record who moved."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from listserv.engagement.store import claim_run, record_stages
from listserv.mail.message import ListStatus
from listserv.store.schema import MailingList
from listserv.work import Work

log = logging.getLogger(__name__)
EVERY = timedelta(days=1)


def run_engagement(work: Work) -> int:
    """Stage changes recorded across the lists due; each list on one node only."""
    with work.sessions() as session:
        list_ids = list(session.scalars(select(MailingList.id).where(MailingList.status == ListStatus.OPEN)))
    changed = 0
    for list_id in list_ids:
        now = work.now()
        try:
            with work.sessions() as session, session.begin():
                if not claim_run(session, list_id, now, EVERY):
                    continue
        except IntegrityError:  # another node took the list's first run at the same moment
            continue
        moved = record_stages(work.sessions, list_id, now)
        if moved:
            log.info("engagement: %d stage changes on list %d", moved, list_id)
        changed += moved
    return changed
