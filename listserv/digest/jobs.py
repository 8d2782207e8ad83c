"""The digest's periodic work for `listserv serve` (listserv/jobs.py registers these)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from listserv.digest.nudges import send_nudges
from listserv.digest.polls import close_due_polls, open_due_polls
from listserv.digest.prompts import post_due_prompts
from listserv.digest.run import run_digests
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store.schema import MailingList, utcnow


def digest_job(sessions: Callable[[], Session], settings: Settings, templates: Templates) -> int:
    """Send due issues and previews, then nudges for lists whose issue went out."""
    now = utcnow()
    outcomes = run_digests(sessions, settings, templates, now)
    done = [o for o in outcomes if o.action in ("sent", "preview")]
    with sessions() as session:
        ids = {o.list_address for o in outcomes if o.action in ("sent", "empty")}
        list_ids = list(session.scalars(select(MailingList.id).where(MailingList.address.in_(sorted(ids))))) if ids else []
    return len(done) + send_nudges(sessions, templates, now, list_ids)


def prompt_job(sessions: Callable[[], Session], settings: Settings, templates: Templates) -> int:
    """Post due prompts and polls, close polls whose time is up."""
    now = utcnow()
    return post_due_prompts(sessions, now) + open_due_polls(sessions, templates, now) + close_due_polls(
        sessions, templates, now)
