"""Membership length (a periodic job): renewal reminders, expiry, and the wait-list.

- Reminders go 14 and 3 days before a membership ends (policy.REMINDER_DAYS), each once:
  its member_steps row is the claim. The mail carries a renew token; replying renews.
- At the end the member's row is deleted (only if still expired: the claim), the history
  keeps an `expired` event, and they are told how to rejoin. Fan-out already skips members
  whose expires_at has passed, so nobody gets mail between expiry and this job's next run.
- Lists with free places admit people from their wait-list, oldest first.
- Tokens used or expired over 30 days ago, and reply counts over a day old, are deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from listserv.membership import store, token_store
from listserv.membership.lifecycle import event, promote_waitlist
from listserv.membership.mail import open_scope, send
from listserv.membership.policy import REMINDER_DAYS, reminder_step, reminder_window
from listserv.store.tokens import prune_tokens
from listserv.work import Work

log = logging.getLogger(__name__)
BATCH = 200


def run_expiry(work: Work) -> int:
    """Reminders, expiries and wait-list admissions due now. Returns the mails queued."""
    now = work.now()
    with work.sessions() as session, session.begin():
        prune_tokens(session, now)
        store.prune_replies(session, now)
    return remind_renewals(work, now) + expire(work, now) + admit_waiting(work, now)


def remind_renewals(work: Work, now: datetime) -> int:
    sent = 0
    for days in REMINDER_DAYS:
        after, up_to = reminder_window(days, now)
        while True:
            with work.sessions() as session, session.begin():
                due = store.expiring(session, after, up_to, reminder_step(days), BATCH)
                for list_id, email, expires_at in due:
                    sent += remind(work, session, now, list_id, email, expires_at, days)
            if len(due) < BATCH:
                break
    return sent


def remind(work: Work, session: Session, now: datetime, list_id: int, email: str, expires_at: datetime,
           days: int) -> int:  # fmt: skip
    if not store.claim_step(session, list_id, email, reminder_step(days), "sent", now):
        return 0
    scope = open_scope(work, session, list_id, now)
    token = token_store.create_token(session, work.secret(), list_id, email, "renew", now, max(days, 1) + 1)
    event(scope, email, "reminded", f"expires {expires_at:%Y-%m-%d}")
    send(scope, email, "membership-renew.txt.j2", subject=f"Your membership of {scope.lst.name} ends soon",
         token=token, expires=f"{expires_at:%Y-%m-%d}", days_left=max((expires_at - now).days, 0))  # fmt: skip
    return 1


def expire(work: Work, now: datetime) -> int:
    sent = 0
    while True:
        with work.sessions() as session, session.begin():
            due = store.expired(session, now, BATCH)
            for list_id, email in due:
                if not store.remove_expired(session, list_id, email, now):
                    continue  # renewed, or expired by another node meanwhile
                scope = open_scope(work, session, list_id, now)
                store.forget_steps(session, list_id, email)
                event(scope, email, "expired")
                log.info("membership expired list=%s", scope.lst.address)
                sent += int(send(scope, email, "membership-expired.txt.j2",
                                 subject=f"Your membership of {scope.lst.name} has ended"))  # fmt: skip
        if len(due) < BATCH:
            break
    return sent


def admit_waiting(work: Work, now: datetime) -> int:
    with work.sessions() as session:
        list_ids = store.lists_with_waitlist(session)
    admitted = 0
    for list_id in list_ids:
        with work.sessions() as session, session.begin():
            admitted += promote_waitlist(open_scope(work, session, list_id, now))
    return admitted
