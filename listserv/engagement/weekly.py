"""The weekly report's shell: gather what it shows, send it to each facilitator, once per week.

It goes out at the list's weekly digest time (digest_day, digest_hour, timezone), whatever
the digest's own period, unless `engagement_report` is off. The report's row, unique per
list and week, is the claim: on several nodes one sends it and the others skip.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.bounces.store import health
from listserv.digest.gather import load_digest_settings, question_candidates
from listserv.digest.polls import polls_for_digest
from listserv.digest.schedule import Schedule, last_due, local_day, local_text
from listserv.discussions.controls import control_address
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.engagement.chart import Week
from listserv.engagement.report import (
    Delivery,
    Discussed,
    Person,
    Report,
    StageRoll,
    duration_words,
    median,
    report_mail,
)
from listserv.engagement.rules import Stage
from listserv.engagement.store import claim_run, load_rules, record_stages, stage_counts_at
from listserv.engagement.tables import EngagementReport
from listserv.mail.message import ListInfo, ListStatus, Role
from listserv.membership.tables import MembershipEvent
from listserv.outbound.queue import queue_message
from listserv.store import queries
from listserv.store import tokens as store_tokens
from listserv.store.schema import Delivery as DeliveryRow
from listserv.store.schema import MailingList, Member, Outbound, Post
from listserv.work import Work

log = logging.getLogger(__name__)
WEEKS_SHOWN = 8
LATE_LIMIT = timedelta(days=3)  # a report more than this late (the engine was down) waits for next week
REPLY_DAYS = 14  # how long a report's reply address works
LEFT_EVENTS = ("left", "expired", "removed")
TOKEN_PURPOSE = "report"


def weekly_schedule(session: Session, list_id: int) -> Schedule:
    schedule = load_digest_settings(session, list_id).schedule
    return Schedule("weekly", schedule.day, schedule.hour, schedule.zone)


def stage_weeks(session: Session, list_id: int, counts: dict[Stage, int], end: datetime,
                schedule: Schedule) -> tuple[Week, ...]:  # fmt: skip
    """Members per stage at the end of each of the last weeks (from the history), this week's
    `counts` last."""
    weeks = []
    for back in range(WEEKS_SHOWN - 1, 0, -1):
        moment = end - timedelta(weeks=back)
        weeks.append(Week(local_day(moment, schedule), stage_counts_at(session, list_id, moment)))
    return (*weeks, Week(local_day(end, schedule), counts))


def first_replies(session: Session, list_id: int, start: datetime, end: datetime) -> tuple[int, str]:
    """Of the discussions started in the period, how many got a reply from someone else, and the
    median wait for it."""
    first = (
        select(Discussion.first_activity, func.min(ThreadContainer.posted_at))
        .join(ThreadContainer, ThreadContainer.discussion_id == Discussion.id)
        .join(Post, Post.id == ThreadContainer.post_id)
        .where(Discussion.list_id == list_id, Discussion.first_activity >= start, Discussion.first_activity < end,
               Post.sender != Discussion.started_by)
        .group_by(Discussion.id, Discussion.first_activity)
    )  # fmt: skip
    waits = [(reply - started).total_seconds() for started, reply in session.execute(first) if started and reply]
    middle = median(waits)
    return len(waits), duration_words(middle) if middle is not None else ""


def quiet_discussions(session: Session, lst: ListInfo, start: datetime, schedule: Schedule,
                      secret: bytes) -> tuple[Discussed, ...]:  # fmt: skip
    """Discussions of three posts or more whose last post came in the week before the period."""
    opening = (select(func.min(ThreadContainer.post_id)).where(ThreadContainer.discussion_id == Discussion.id)
               .scalar_subquery())  # fmt: skip
    query = (select(Discussion, opening).where(Discussion.list_id == lst.id, Discussion.post_count >= 3,
                                               Discussion.last_activity >= start - timedelta(weeks=1),
                                               Discussion.last_activity < start)
             .order_by(Discussion.post_count.desc()).limit(10))  # fmt: skip
    return tuple(Discussed(d.subject, d.started_by, local_day(d.last_activity or start, schedule), d.post_count,
                           steer(lst, secret, post_id)) for d, post_id in session.execute(query))  # fmt: skip


def steer(lst: ListInfo, secret: bytes, post_id: int | None) -> str:
    """The discussion-control address of a post, for the report's discussion lines ("" without one)."""
    return control_address(lst, secret, post_id) if secret and post_id else ""


def delivery_health(session: Session, list_id: int, start: datetime, end: datetime) -> Delivery:
    query = (select(DeliveryRow.status, func.count()).join(Outbound, Outbound.id == DeliveryRow.outbound_id)
             .where(Outbound.list_id == list_id, Outbound.created_at >= start, Outbound.created_at < end)
             .group_by(DeliveryRow.status))  # fmt: skip
    counts: dict[str, int] = {status: count for status, count in session.execute(query)}
    bounced = health(session, list_id, start)
    return Delivery(counts.get("sent", 0), counts.get("failed", 0), counts.get("pending", 0) + counts.get("deferred", 0),
                    tuple(bounced.paused), tuple(bounced.removed), tuple(bounced.complained))  # fmt: skip


def people_joined_and_left(session: Session, list_id: int, start: datetime, end: datetime,
                           schedule: Schedule) -> tuple[tuple[Person, ...], tuple[Person, ...]]:  # fmt: skip
    joined = session.execute(select(Member.email, Member.created_at).where(
        Member.list_id == list_id, Member.created_at >= start, Member.created_at < end).order_by(Member.created_at))  # fmt: skip
    left = session.execute(select(MembershipEvent.email, MembershipEvent.event, MembershipEvent.at).where(
        MembershipEvent.list_id == list_id, MembershipEvent.event.in_(LEFT_EVENTS), MembershipEvent.at >= start,
        MembershipEvent.at < end).order_by(MembershipEvent.at))  # fmt: skip
    return (tuple(Person(email, f"joined {local_day(at, schedule)}") for email, at in joined),
            tuple(Person(email, f"{event} {local_day(at, schedule)}") for email, event, at in left))  # fmt: skip


def assess_for_report(work: Work, list_id: int, end: datetime) -> StageRoll:
    """Every member assessed as of `end` and their changes recorded (as the daily job does, in
    pages), keeping what the report shows of them."""
    with work.sessions() as session, session.begin():
        claim_run(session, list_id, end, timedelta())  # the row whose lock each page takes
        roll = StageRoll(load_rules(session, list_id), end)
    record_stages(work.sessions, list_id, end, roll)
    return roll


def gather_report(session: Session, lst: ListInfo, end: datetime, roll: StageRoll, secret: bytes = b"") -> Report:
    schedule = weekly_schedule(session, lst.id)
    start = end - timedelta(weeks=1)
    counts = {stage: roll.counts[stage] for stage in Stage}
    joined, left = people_joined_and_left(session, lst.id, start, end, schedule)
    unanswered_days = load_digest_settings(session, lst.id).unanswered_days
    answered, wait = first_replies(session, lst.id, start, end)
    return Report(
        title=f"{lst.name}: the week to {local_day(end, schedule)}",
        period=f"{local_text(start, schedule)} to {local_text(end, schedule)}",
        counts=counts, weeks=stage_weeks(session, lst.id, counts, end, schedule), joined=joined, left=left,
        stuck=tuple(Person(email, f"joined {local_day(at, schedule)}") for at, email in roll.stuck()),
        stuck_more=roll.stuck_total - len(roll.stuck()), ready=roll.ready(),
        ready_more=roll.ready_total - len(roll.ready()),
        unanswered=tuple(Discussed(p.subject, p.who, local_day(p.date, schedule), 0, steer(lst, secret, p.post_id))
                         for p in question_candidates(session, lst.id, end, unanswered_days)),
        first_reply=wait, answered=answered, quiet=quiet_discussions(session, lst, start, schedule, secret),
        delivery=delivery_health(session, lst.id, start, end),
        polls=tuple(polls_for_digest(session, lst, schedule, start, end, end)), stuck_weeks=roll.rules.stuck_weeks,
    )  # fmt: skip


def send_report(work: Work, session: Session, lst: ListInfo, end: datetime, roll: StageRoll) -> int:
    """Claim this week's report and queue a copy to each facilitator; 0 if another node has it."""
    report_row = EngagementReport(list_id=lst.id, period_end=end, created_at=work.now())
    session.add(report_row)
    session.flush()  # IntegrityError here: another node sent this week's report
    report = gather_report(session, lst, end, roll, work.secret())
    report_row.stuck = json.dumps([p.email for p in report.stuck])
    report_row.ready = json.dumps([p.email for p in report.ready])
    facilitators = queries.facilitators(session, lst.id)
    for facilitator in facilitators:
        token = store_tokens.issue_token(session, work.secret(), purpose=TOKEN_PURPOSE, list_id=lst.id,
                                         address=facilitator, now=work.now(), expires=end + timedelta(days=REPLY_DAYS),
                                         target_id=report_row.id)  # fmt: skip
        reply_to = f"{lst.local_part}-{Role.REPORT.value}+{token}@{lst.domain}"
        raw = report_mail(work.templates, lst, report, facilitator, reply_to, work.now())
        queue_message(session, lst, "notice", raw, [facilitator], work.now())
    return len(facilitators)


def due_lists(session: Session, now: datetime) -> list[tuple[ListInfo, datetime]]:
    found = []
    rows = session.scalars(select(MailingList).where(MailingList.status == ListStatus.OPEN,
                                                     MailingList.engagement_report == "weekly"))  # fmt: skip
    for row in rows:
        end = last_due(weekly_schedule(session, row.id), now)
        if now - end <= LATE_LIMIT and row.created_at < end:
            sent = session.scalar(select(EngagementReport.id).where(EngagementReport.list_id == row.id,
                                                                    EngagementReport.period_end == end))  # fmt: skip
            if sent is None:
                found.append((queries.list_info(row), end))
    return found


def run_reports(work: Work) -> int:
    """The job: this week's report for every list whose time has come; reports queued."""
    with work.sessions() as session:
        due = due_lists(session, work.now())
    sent = 0
    for lst, end in due:
        try:
            roll = assess_for_report(work, lst.id, end)
            with work.sessions() as session, session.begin():
                copies = send_report(work, session, lst, end, roll)
        except IntegrityError:  # another node sent it (or took the list's first assessment at once)
            continue
        log.info("engagement report list=%s week_to=%s copies=%d", lst.address, end, copies)
        sent += 1
    return sent
