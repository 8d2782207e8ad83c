"""The digest's periodic work for `listserv serve` (listserv/features.py registers these)."""

from __future__ import annotations

from sqlalchemy import select

from listserv.digest.nudges import send_nudges
from listserv.digest.polls import close_due_polls, open_due_polls
from listserv.digest.prompts import post_due_prompts
from listserv.digest.run import run_digests
from listserv.store.schema import MailingList
from listserv.work import Work


def digest_job(work: Work) -> int:
    """Send due issues and previews, then nudges for lists whose issue went out."""
    outcomes = run_digests(work)
    done = [o for o in outcomes if o.action in ("sent", "preview")]
    with work.sessions() as session:
        ids = {o.list_address for o in outcomes if o.action in ("sent", "empty")}
        query = select(MailingList.id).where(MailingList.address.in_(sorted(ids)))
        list_ids = list(session.scalars(query)) if ids else []
    return len(done) + send_nudges(work, work.now(), list_ids)


def prompt_job(work: Work) -> int:
    """Post due prompts and polls, close polls whose time is up."""
    now = work.now()
    return (post_due_prompts(work.sessions, now) + open_due_polls(work.sessions, work.templates, now)
            + close_due_polls(work.sessions, work.templates, now))  # fmt: skip
