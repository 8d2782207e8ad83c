"""The orientation sequence: templated mails keyed to days since joining (a periodic job).

Day-0 steps go out when someone joins (lifecycle.welcome); this job sends the later ones.
Each step is claimed by inserting its member_steps row in the same transaction that queues
the mail, so a step is sent at most once per member, however many nodes run the job.
Members added by an operator without --send-welcome are not enrolled and get no steps.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from listserv.membership import store
from listserv.membership.lifecycle import send_step
from listserv.membership.mail import Scope, open_scope
from listserv.membership.policy import ENROLLED, Step, skip_reason, step_window
from listserv.work import Work

log = logging.getLogger(__name__)
BATCH = 200  # members per transaction
RECENT_DAYS = 30  # discussions older than this are not suggested


def run_onboarding(work: Work) -> int:
    """Send every orientation step that is due. Returns how many mails were queued."""
    now = work.now()
    with work.sessions() as session:
        list_ids = store.lists_with_onboarding(session)
    sent = 0
    for list_id in list_ids:
        while True:
            with work.sessions() as session, session.begin():
                scope = open_scope(work, session, list_id, now)
                handled, mailed = onboard_list(scope)
            sent += mailed
            if handled < BATCH:
                break
    return sent


def onboard_list(scope: Scope) -> tuple[int, int]:
    """One batch of due steps for one list: (members handled, mails queued)."""
    handled = mailed = 0
    for step in scope.policy.steps:
        if step.day == 0:
            continue
        after, up_to = step_window(step, scope.now)
        due = store.members_due(scope.session, scope.lst.id, step.key, after, up_to, ENROLLED, BATCH - handled)
        for email, name in due:
            handled += 1
            mailed += run_step(scope, email, name, step)
        if handled >= BATCH:
            break
    return handled, mailed


def run_step(scope: Scope, email: str, name: str, step: Step) -> int:
    session, lst = scope.session, scope.lst
    posted = store.has_posted(session, lst.id, email)
    discussions = suggested_discussions(scope, email) if step.name == "discussions" else []
    reason = skip_reason(step, posted, len(discussions))
    if not store.claim_step(session, lst.id, email, step.key, "skipped" if reason else "sent", scope.now):
        return 0  # done by another node meanwhile
    if reason:
        log.info("onboarding step skipped list=%s step=%s reason=%s", lst.address, step.key, reason)
        return 0
    return int(send_step(scope, email, name, step.name, step.key, discussions=discussions, has_posted=posted))


def suggested_discussions(scope: Scope, email: str, limit: int = 3) -> list[store.Suggestion]:
    """Recent discussions without an answer that the member did not start: from the discussions
    feature's table when it has threaded this list, else thread starts without replies."""
    threaded = from_discussions(scope, email, limit)
    if threaded is not None:
        return threaded
    return store.unanswered_discussions(scope.session, scope.lst.id, email, scope.now, RECENT_DAYS, limit)


def from_discussions(scope: Scope, email: str, limit: int) -> list[store.Suggestion] | None:
    """None when the list has no threaded discussions (or the feature is absent)."""
    try:
        from listserv.discussions.tables import Discussion
    except ImportError:  # pragma: no cover - the discussions feature is not installed
        return None
    session, list_id = scope.session, scope.lst.id
    if session.scalar(select(Discussion.id).where(Discussion.list_id == list_id).limit(1)) is None:
        return None
    query = (
        select(Discussion.subject, Discussion.started_by, Discussion.key, Discussion.first_activity)
        .where(Discussion.list_id == list_id, Discussion.post_count <= 1, Discussion.started_by != email)
        .where(Discussion.first_activity > scope.now - timedelta(days=RECENT_DAYS))
        .order_by(Discussion.last_activity.desc(), Discussion.id.desc())
        .limit(limit)
    )
    return [store.Suggestion(r[0], r[1], f"<{r[2]}>", r[3] or scope.now) for r in session.execute(query)]
