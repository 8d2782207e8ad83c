"""Polls by reply: posted like a prompt, voted on by mail to LIST-vote+POLL, closed at their time.

One vote row per member and poll (the last vote replaces the earlier one); votes from
non-members, and from addresses whose mail fails authentication, are not counted. When a
poll closes, the facilitators get the results; the next digest shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.utils import make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from listserv.digest import gather
from listserv.digest.model import PollItem, PollOption, mailto
from listserv.digest.prompts import build_post, display_name, inject_post
from listserv.digest.schedule import Schedule, local_text
from listserv.digest.tables import DigestPoll, DigestVote, PollStatus
from listserv.mail.message import ListInfo, Role
from listserv.moderation.mail import build_facilitator_mail
from listserv.outbound.queue import queue_message
from listserv.render import Templates
from listserv.store import queries

log = logging.getLogger(__name__)


def vote_address(lst: ListInfo, poll_id: int) -> str:
    return f"{lst.local_part}-{Role.VOTE.value}+{poll_id}@{lst.domain}"


def options_of(poll: DigestPoll) -> tuple[str, ...]:
    return tuple(line for line in poll.options.split("\n") if line.strip())


def tally(session: Session, poll_id: int) -> dict[int, int]:
    query = select(DigestVote.choice, func.count()).where(DigestVote.poll_id == poll_id).group_by(DigestVote.choice)
    return {row[0]: int(row[1]) for row in session.execute(query)}


def poll_item(session: Session, lst: ListInfo, schedule: Schedule, poll: DigestPoll, closed: bool) -> PollItem:
    counts = tally(session, poll.id)
    address = vote_address(lst, poll.id)
    options = tuple(
        PollOption(str(number), text, counts.get(number, 0), mailto(address, f"Vote: {number}", f"{number}\n"))
        for number, text in enumerate(options_of(poll), start=1)
    )
    return PollItem(poll.id, poll.question, options, local_text(poll.closes_at, schedule), closed,
                    sum(counts.values()), address)  # fmt: skip


def polls_for_digest(session: Session, lst: ListInfo, schedule: Schedule, start: datetime, end: datetime,
                     now: datetime) -> list[PollItem]:  # fmt: skip
    """Polls that closed in the period (with results) and polls still open at its end."""
    closed = select(DigestPoll).where(DigestPoll.list_id == lst.id, DigestPoll.status == PollStatus.CLOSED,
                                      DigestPoll.closed_at >= start, DigestPoll.closed_at < end)  # fmt: skip
    still_open = select(DigestPoll).where(DigestPoll.list_id == lst.id, DigestPoll.status == PollStatus.OPEN,
                                          DigestPoll.opens_at < end)  # fmt: skip
    items = [poll_item(session, lst, schedule, p, True) for p in session.scalars(closed.order_by(DigestPoll.id))]
    items += [poll_item(session, lst, schedule, p, False) for p in session.scalars(still_open.order_by(DigestPoll.id))]
    return items


def add_poll(session: Session, list_id: int, author: str, question: str, body: str, options: tuple[str, ...],
             opens: datetime, closes: datetime, now: datetime,
             status: PollStatus = PollStatus.SCHEDULED) -> DigestPoll:  # fmt: skip
    poll = DigestPoll(list_id=list_id, question=question, body=body, options="\n".join(options), author=author,
                      opens_at=opens, closes_at=closes, status=status, message_id="", created_at=now)  # fmt: skip
    session.add(poll)
    session.flush()
    return poll


def poll_text(templates: Templates, lst: ListInfo, schedule: Schedule, poll: DigestPoll) -> str:
    address = vote_address(lst, poll.id)
    options = [(n, text, mailto(address, f"Vote: {n}", f"{n}\n")) for n, text in enumerate(options_of(poll), 1)]
    return templates.render("poll-post.txt.j2", list=lst, poll=poll, options=options, address=address,
                            closes=local_text(poll.closes_at, schedule))  # fmt: skip


def open_due_polls(sessions: Callable[[], Session], templates: Templates, now: datetime) -> int:
    """Post every scheduled poll whose time has come (claimed by its status: posted once)."""
    with sessions() as session:
        due = list(session.scalars(select(DigestPoll.id).where(DigestPoll.status == PollStatus.SCHEDULED,
                                                                DigestPoll.opens_at <= now)))  # fmt: skip
    posted = 0
    for poll_id in due:
        with sessions() as session, session.begin():
            config = gather.load_digest_settings(session, session.get_one(DigestPoll, poll_id).list_id)
            lst = config.lst
            message_id = make_msgid("poll", domain=lst.domain)
            claimed = session.execute(update(DigestPoll).where(DigestPoll.id == poll_id,
                                                               DigestPoll.status == PollStatus.SCHEDULED)
                                      .values(status=PollStatus.OPEN, message_id=message_id))  # fmt: skip
            if queries.rowcount(claimed) != 1:
                continue
            poll = session.get_one(DigestPoll, poll_id)
            text = poll_text(templates, lst, config.schedule, poll)
            raw = build_post(lst, poll.author, display_name(session, lst.id, poll.author), poll.question, text,
                             message_id, now, {"Reply-To": vote_address(lst, poll.id)})  # fmt: skip
            inject_post(session, lst, poll.author, raw, message_id, now)
            log.info("poll posted list=%s poll=%s msgid=%s", lst.address, poll_id, message_id)
            posted += 1
    return posted


def close_due_polls(sessions: Callable[[], Session], templates: Templates, now: datetime) -> int:
    """Close polls whose time is up and send the results to the facilitators."""
    with sessions() as session:
        due = list(session.scalars(select(DigestPoll.id).where(DigestPoll.status == PollStatus.OPEN,
                                                                DigestPoll.closes_at <= now)))  # fmt: skip
    closed = 0
    for poll_id in due:
        with sessions() as session, session.begin():
            claimed = session.execute(update(DigestPoll).where(DigestPoll.id == poll_id,
                                                               DigestPoll.status == PollStatus.OPEN)
                                      .values(status=PollStatus.CLOSED, closed_at=now))  # fmt: skip
            if queries.rowcount(claimed) != 1:
                continue
            poll = session.get_one(DigestPoll, poll_id)
            config = gather.load_digest_settings(session, poll.list_id)
            item = poll_item(session, config.lst, config.schedule, poll, True)
            send_results(session, templates, config.lst, item, now)
            closed += 1
    return closed


def send_results(session: Session, templates: Templates, lst: ListInfo, item: PollItem, now: datetime) -> None:
    rcpts = queries.facilitators(session, lst.id)
    text = templates.render("poll-results.txt.j2", list=lst, poll=item)
    for facilitator in rcpts:
        raw = build_facilitator_mail(lst, facilitator, f"Poll results: {item.question}", text, now)
        queue_message(session, lst, "notice", raw, [facilitator], now)
    log.info("poll closed list=%s poll=%s votes=%d", lst.address, item.id, item.voters)


def record_vote(session: Session, poll_id: int, email: str, choice: int, now: datetime) -> None:
    """One row per member: a later vote replaces the earlier one."""
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = maker(DigestVote).values(poll_id=poll_id, email=email, choice=choice, voted_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["poll_id", "email"],
                                                    set_=dict(choice=choice, voted_at=now)))  # fmt: skip
