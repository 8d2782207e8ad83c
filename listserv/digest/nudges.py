"""Re-engagement: a personal nudge to members who have not posted for `nudge_weeks` weeks.

Runs with the digest job once a list's issue has gone out. A member is nudged when all hold:
the list has nudge_weeks > 0; they are a member (not a facilitator) of at least that long;
they have not posted in that time; they are not on vacation, expired or in `none` mode;
they were not nudged in that time either; and not in this period (unique per member and
period, so at most once per period even when two nodes run the job). The nudge points at
live discussions (most recent activity in the last two weeks) they could help with.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.digest import gather, ledger
from listserv.digest.mime import build_service_mail
from listserv.digest.model import reply_address, reply_mailto
from listserv.digest.questions import bare_subject
from listserv.digest.tables import DigestIssue, DigestNudge, IssueStatus
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.message import ListInfo, Role
from listserv.outbound.queue import queue_message
from listserv.render import Templates
from listserv.store.schema import Member, Post
from listserv.work import Work

log = logging.getLogger(__name__)
LIVE = timedelta(days=14)
MAX_LIVE = 3
CHUNK = 500


def live_discussions(session: Session, lst: ListInfo, now: datetime) -> list[dict[str, object]]:
    query = (select(Discussion.id, Discussion.subject, Discussion.post_count)
             .where(Discussion.list_id == lst.id, Discussion.last_activity >= now - LIVE)
             .order_by(Discussion.last_activity.desc()).limit(MAX_LIVE))  # fmt: skip
    found = []
    for ident, subject, count in session.execute(query):
        latest = session.scalar(select(ThreadContainer.post_id).where(ThreadContainer.discussion_id == ident,
                                                                      ThreadContainer.post_id.is_not(None))
                                .order_by(ThreadContainer.posted_at.desc()).limit(1))  # fmt: skip
        if latest:
            clean = bare_subject(subject) or "(no subject)"
            found.append(dict(subject=clean, posts=count, address=reply_address(lst, latest),
                              mailto=reply_mailto(lst, latest, clean)))  # fmt: skip
    return found


def silent_members(session: Session, list_id: int, weeks: int, now: datetime) -> list[tuple[str, str]]:
    since = now - timedelta(weeks=weeks)
    posted = exists().where(Post.list_id == list_id, Post.sender == Member.email, Post.created_at >= since)
    nudged = exists().where(DigestNudge.list_id == list_id, DigestNudge.email == Member.email,
                            DigestNudge.sent_at >= since)  # fmt: skip
    query = (select(Member.email, Member.display_name)
             .where(ledger.receiving(list_id, now), Member.role == "member", Member.delivery != "none",
                    Member.created_at <= since, ~posted, ~nudged)
             .order_by(Member.id))  # fmt: skip
    return [(row[0], row[1]) for row in session.execute(query.execution_options(yield_per=CHUNK))]


def nudge_list(session: Session, templates: Templates, list_id: int, now: datetime) -> int:
    config = gather.load_digest_settings(session, list_id)
    lst = config.lst
    if config.nudge_weeks <= 0:
        return 0
    period = session.scalar(select(DigestIssue.period_end).where(DigestIssue.list_id == list_id,
                                                                 DigestIssue.status.in_((IssueStatus.SENT, IssueStatus.EMPTY)))
                            .order_by(DigestIssue.period_end.desc()).limit(1))  # fmt: skip
    if period is None:
        return 0
    live = live_discussions(session, lst, now)
    if not live:
        return 0
    sent = 0
    for email, name in silent_members(session, list_id, config.nudge_weeks, now):
        try:
            with session.begin_nested():
                session.add(DigestNudge(list_id=list_id, email=email, period=period.isoformat(), sent_at=now))
                session.flush()
        except IntegrityError:
            continue
        text = templates.render("digest-nudge.txt.j2", list=lst, member_name=name, weeks=config.nudge_weeks,
                                discussions=live, request=lst.service(Role.REQUEST))  # fmt: skip
        raw = build_service_mail(lst, email, f"What do you think? {lst.name} misses you", text,
                                 lst.service(Role.DIGEST), now)  # fmt: skip
        queue_message(session, lst, "notice", raw, [email], now)
        sent += 1
    if sent:
        log.info("nudges list=%s sent=%d", lst.address, sent)
    return sent


def send_nudges(work: Work, now: datetime, list_ids: list[int]) -> int:
    total = 0
    for list_id in list_ids:
        with work.sessions() as session, session.begin():
            total += nudge_list(session, work.templates, list_id, now)
    return total
