"""Read what one digest issue needs from the database (the shell's "gather" step).

A period's posts are the list's outbound messages of kind "post" created in
[start, end): the moment the list distributed them, so a post held for review counts in
the period it was approved in. Their raw bytes are the message as members received it
(after any moderator edit). Posts are read in chunks; only a period's posts are held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from listserv.digest.compose import QUESTION_LOOKBACK
from listserv.digest.model import DiscussionInfo, Newcomer, PostItem
from listserv.digest.reading import read_body
from listserv.digest.schedule import (
    DAYS,
    PERIODS,
    Schedule,
    hour_problem,
    timezone_problem,
)
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.message import ListInfo
from listserv.mail.parse import decode_value, header_value, parse_bytes, sender_of
from listserv.store import queries
from listserv.store.admin import ListSetting
from listserv.store.schema import Inbound, MailingList, Member, Outbound, Post

CHUNK = 500
ACCEPTED = ("accept", "imported")
DIGEST_SETTINGS = {
    "digest_period": ListSetting(str, PERIODS, help="daily or weekly"),
    "digest_day": ListSetting(str, DAYS, help="the day a weekly digest goes out"),
    "digest_hour": ListSetting(int, check=hour_problem, help="the hour it goes out, 0-23, in the list's timezone"),
    "timezone": ListSetting(str, check=timezone_problem, help="an IANA name, e.g. Europe/Paris"),
    "digest_size_threshold": ListSetting(int, help="posts in a period that send the digest early; 0: off"),
    "digest_preview_hours": ListSetting(int, help="hours before the digest the facilitators' preview goes; 0: none"),
    "unanswered_days": ListSetting(int, help="days after which a question counts as unanswered", minimum=1),
    "nudge_weeks": ListSetting(int, help="weeks of silence after which a member is nudged; 0: off"),
    "digest_reminders": ListSetting(
        bool, help="a scheduled summary without posts still reminds of unanswered questions and open polls"
    ),
}


@dataclass(frozen=True)
class ListDigestSettings:
    lst: ListInfo
    schedule: Schedule
    unanswered_days: int
    nudge_weeks: int
    created_at: datetime
    reminders: bool = False  # digest_reminders


def load_digest_settings(session: Session, list_id: int) -> ListDigestSettings:
    row = session.get_one(MailingList, list_id)
    schedule = Schedule(row.digest_period, row.digest_day, row.digest_hour, row.timezone, row.digest_size_threshold,
                        row.digest_preview_hours)  # fmt: skip
    return ListDigestSettings(queries.list_info(row), schedule, row.unanswered_days, row.nudge_weeks, row.created_at,
                              row.digest_reminders)  # fmt: skip


def post_item(post_id: int, discussion_id: int | None, date: datetime, raw: bytes) -> PostItem:
    """Parse one post's raw message into what the digest shows of it."""
    message = parse_bytes(raw)
    author, name = sender_of(message)
    body = read_body(message)
    return PostItem(
        post_id=post_id, discussion_id=discussion_id or -post_id,
        subject=decode_value(header_value(message, "Subject")), author=author, author_name=name, date=date,
        text=body.text, message_id=header_value(message, "Message-ID").strip(),
        in_reply_to=header_value(message, "In-Reply-To").strip(), attachments=body.attachments, links=body.links,
    )  # fmt: skip


def period_rows(session: Session, list_id: int, start: datetime, end: datetime) -> Iterator[Any]:
    """(post id, discussion id or None, distributed at, raw, outbound id), oldest first."""
    query = (
        select(Outbound.post_id, ThreadContainer.discussion_id, Outbound.created_at, Outbound.raw, Outbound.id)
        .outerjoin(ThreadContainer, ThreadContainer.post_id == Outbound.post_id)
        .where(Outbound.list_id == list_id, Outbound.kind == "post", Outbound.post_id.is_not(None),
               Outbound.created_at >= start, Outbound.created_at < end)
        .order_by(Outbound.created_at, Outbound.id)
    )  # fmt: skip
    yield from session.execute(query.execution_options(yield_per=CHUNK))


def count_period_posts(session: Session, list_id: int, start: datetime, end: datetime) -> int:
    query = select(func.count()).select_from(Outbound).where(
        Outbound.list_id == list_id, Outbound.kind == "post", Outbound.post_id.is_not(None),
        Outbound.created_at >= start, Outbound.created_at < end)  # fmt: skip
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class PeriodPosts:
    items: list[PostItem]  # oldest first
    raws: list[bytes]  # each post as distributed (for the MIME and plain digests)
    outbound_ids: list[int]  # each post's outbound message (its `each` deliveries)


def period_posts(session: Session, list_id: int, start: datetime, end: datetime) -> PeriodPosts:
    found = PeriodPosts([], [], [])
    for post_id, discussion_id, created, raw, outbound_id in period_rows(session, list_id, start, end):
        found.items.append(post_item(int(post_id), discussion_id, created, raw))
        found.raws.append(raw)
        found.outbound_ids.append(outbound_id)
    return found


def raw_of_posts(session: Session, post_ids: Iterable[int]) -> dict[int, tuple[datetime, bytes]]:
    """Each post's message as distributed (or, for imported history, as received)."""
    found: dict[int, tuple[datetime, bytes]] = {}
    for batch in queries.in_chunks(sorted(set(post_ids)), CHUNK):
        query = (
            select(Post.id, func.coalesce(Outbound.created_at, Post.created_at), func.coalesce(Outbound.raw, Inbound.raw))
            .join(Inbound, Inbound.id == Post.inbound_id)
            .outerjoin(Outbound, and_(Outbound.post_id == Post.id, Outbound.kind == "post"))
            .where(Post.id.in_(batch))
        )  # fmt: skip
        found.update({row[0]: (row[1], row[2]) for row in session.execute(query)})
    return found


def discussions_of(session: Session, ids: Iterable[int]) -> dict[int, DiscussionInfo]:
    """The discussions the period's posts belong to, each with its opening post."""
    wanted = sorted(i for i in set(ids) if i > 0)
    rows: dict[int, Discussion] = {}
    openings: dict[int, int] = {}
    for batch in queries.in_chunks(wanted, CHUNK):
        rows.update((d.id, d) for d in session.scalars(select(Discussion).where(Discussion.id.in_(batch))))
        first = (
            select(ThreadContainer.discussion_id, func.min(ThreadContainer.post_id))
            .where(ThreadContainer.discussion_id.in_(batch), ThreadContainer.post_id.is_not(None))
            .group_by(ThreadContainer.discussion_id)
        )
        openings.update({row[0]: int(row[1]) for row in session.execute(first) if row[1] is not None})
    raws = raw_of_posts(session, openings.values())
    infos = {}
    for ident, row in rows.items():
        post_id = openings.get(ident)
        opening = post_item(post_id, ident, *raws[post_id]) if post_id in raws and post_id is not None else None
        infos[ident] = DiscussionInfo(ident, row.subject, row.started_by, row.first_activity, row.post_count, opening,
                                      row.highlighted_at)  # fmt: skip
    return infos


def highlighted_ids(session: Session, list_id: int, start: datetime, end: datetime) -> list[int]:
    """Discussions a facilitator highlighted in the period: the issue that ends it shows them first."""
    return list(session.scalars(select(Discussion.id).where(Discussion.list_id == list_id,
                                                            Discussion.highlighted_at >= start,
                                                            Discussion.highlighted_at < end)))  # fmt: skip


def question_candidates(session: Session, list_id: int, end: datetime, days: int) -> list[PostItem]:
    """Opening posts of discussions started in the four weeks before `end` (and at least `days`
    before it) in which nobody but the starter has posted, and that the starter did not mark answered."""
    others = (
        select(ThreadContainer.id)
        .join(Post, Post.id == ThreadContainer.post_id)
        .where(ThreadContainer.discussion_id == Discussion.id, Post.sender != Discussion.started_by)
        .exists()
    )
    query = (
        select(Discussion.id)
        .where(Discussion.list_id == list_id, Discussion.first_activity >= end - QUESTION_LOOKBACK,
               Discussion.first_activity <= end - timedelta(days=days), Discussion.answered_at.is_(None), ~others)
        .order_by(Discussion.first_activity.desc())
        .limit(50)
    )  # fmt: skip
    infos = discussions_of(session, list(session.scalars(query)))
    return [info.opening for info in infos.values() if info.opening is not None]


def newcomers(session: Session, list_id: int, start: datetime, end: datetime) -> list[Newcomer]:
    """Who became a member in the period and still is: never staff (facilitators), never someone
    who only posted (a non-member, or a member of long standing posting for the first time)."""
    query = (select(Member.email, Member.display_name)
             .where(Member.list_id == list_id, Member.role == "member", Member.created_at >= start,
                    Member.created_at < end)
             .order_by(Member.created_at, Member.id).limit(200))  # fmt: skip
    return [Newcomer(row[0], row[1]) for row in session.execute(query)]
