"""The archive's reads: a page of discussions, one discussion with its posts' raw mail, one post.

Each page is a few indexed queries whatever the archive's size: discussions by
(list_id, last_activity), containers by discussion, a post by (list_id, message_id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.archive.links import Access
from listserv.discussions.admin import Entry, Summary
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.discussions.tree import Container, tree
from listserv.mail.message import ListInfo, ListStatus
from listserv.mail.permalinks import LONG_ID, message_id_of, post_token
from listserv.store.admin import ListSetting
from listserv.store.queries import is_member, list_info
from listserv.store.schema import Inbound, MailingList, Post

ARCHIVE_SETTINGS = {
    "archive_access": ListSetting(str, tuple(Access), help="who reads the web archive: public, members (a signed "
                                  "link each member asks for by mail) or private (no archive pages)"),
}  # fmt: skip
PAGE_SIZE = 50


@dataclass(frozen=True)
class IndexPage:
    discussions: tuple[Summary, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class ShownPost:
    entry: Entry
    token: str  # the permalink's last segment
    raw: bytes


@dataclass(frozen=True)
class FoundPost:
    discussion_id: int
    subject: str
    message_id: str
    date: datetime | None
    raw: bytes


def load_archived_list(session: Session, name: str) -> ListInfo | None:
    """A list by its name in URLs: the local part of its address (the oldest list, if two domains share it)."""
    query = (select(MailingList).where(MailingList.address.startswith(f"{name}@", autoescape=True),
                                       MailingList.status != ListStatus.REMOVED).order_by(MailingList.id).limit(1))  # fmt: skip
    row = session.scalar(query)
    return list_info(row) if row is not None else None


def load_index_page(session: Session, list_id: int, page: int, size: int = PAGE_SIZE) -> IndexPage:
    """One page of discussions, the most recently active first, with each one's participant count."""
    total = int(session.scalar(select(func.count()).select_from(Discussion).where(Discussion.list_id == list_id)) or 0)
    rows = list(session.scalars(select(Discussion).where(Discussion.list_id == list_id)
                                .order_by(Discussion.last_activity.desc().nulls_last(), Discussion.id.desc())
                                .offset((page - 1) * size).limit(size)))  # fmt: skip
    people = dict(session.execute(
        select(ThreadContainer.discussion_id, func.count(func.distinct(Post.sender)))
        .join(Post, Post.id == ThreadContainer.post_id)
        .where(ThreadContainer.discussion_id.in_([row.id for row in rows])).group_by(ThreadContainer.discussion_id)
    ).all()) if rows else {}  # fmt: skip
    summaries = tuple(Summary(row.id, row.key, row.subject, row.started_by, row.post_count, int(people.get(row.id, 0)),
                              row.first_activity, row.last_activity) for row in rows)  # fmt: skip
    return IndexPage(summaries, page, max(1, -(-total // size)), total)


def load_discussion(session: Session, list_id: int, discussion_id: int) -> tuple[Summary, list[ShownPost]] | None:
    """A discussion's summary and its posts in thread order (placeholders left out), with their raw mail."""
    found = load_discussions(session, list_id, [discussion_id])
    return found[0] if found else None


def load_discussions(session: Session, list_id: int,
                     ids: Sequence[int]) -> list[tuple[Summary, list[ShownPost]]]:  # fmt: skip
    """Several discussions at once (two queries whatever their number), in the order of `ids`."""
    rows = {row.id: row for row in session.scalars(select(Discussion).where(Discussion.list_id == list_id,
                                                                            Discussion.id.in_(ids)))}  # fmt: skip
    query = (select(ThreadContainer.discussion_id, ThreadContainer.message_id, ThreadContainer.parent_id,
                    ThreadContainer.placeholder, ThreadContainer.posted_at, ThreadContainer.post_id,
                    ThreadContainer.method, Post.sender, Post.subject, Inbound.raw)
             .outerjoin(Post, Post.id == ThreadContainer.post_id).outerjoin(Inbound, Inbound.id == Post.inbound_id)
             .where(ThreadContainer.discussion_id.in_(list(rows))))  # fmt: skip
    grouped: dict[int, list[Any]] = {}
    for found in session.execute(query):
        grouped.setdefault(found[0], []).append(found)
    return [_shown(rows[ident], grouped.get(ident, [])) for ident in ids if ident in rows]


def _shown(discussion: Discussion, found: list[Any]) -> tuple[Summary, list[ShownPost]]:
    facts = {row[1]: row for row in found}
    posts: list[ShownPost] = []
    for line in tree([Container(row[1], row[2], bool(row[3]), row[4]) for row in found]):
        _, message_id, _, _, posted_at, post_id, method, sender, subject, raw = facts[line.message_id]
        if post_id is not None and raw is not None:
            entry = Entry(line, post_id, sender or "", posted_at, subject or "", method or "")
            posts.append(ShownPost(entry, post_token(message_id), raw))
    people = len({post.entry.author for post in posts})
    summary = Summary(discussion.id, discussion.key, discussion.subject, discussion.started_by, discussion.post_count,
                      people, discussion.first_activity, discussion.last_activity)  # fmt: skip
    return summary, posts


def _message_id_for(session: Session, list_id: int, token: str) -> str | None:
    found = message_id_of(token)
    if found is not None:
        return found
    long_ids = select(ThreadContainer.message_id).where(ThreadContainer.list_id == list_id,
                                                       func.length(ThreadContainer.message_id) > LONG_ID // 4)  # fmt: skip
    return next((ident for ident in session.scalars(long_ids) if post_token(ident) == token), None)


def load_post(session: Session, list_id: int, token: str) -> FoundPost | None:
    message_id = _message_id_for(session, list_id, token)
    if message_id is None:
        return None
    query = (select(ThreadContainer.discussion_id, Post.subject, ThreadContainer.posted_at, Inbound.raw)
             .join(Post, Post.id == ThreadContainer.post_id).join(Inbound, Inbound.id == Post.inbound_id)
             .where(ThreadContainer.list_id == list_id, ThreadContainer.message_id == message_id))  # fmt: skip
    row = session.execute(query).first()
    if row is None:
        return None
    return FoundPost(row[0], row[1], message_id, row[2], row[3])


def discussion_ids(session: Session, list_id: int) -> list[int]:
    """Every discussion of the list, the most recently active first (a static build's work list: 8 bytes each)."""
    query = (select(Discussion.id).where(Discussion.list_id == list_id)
             .order_by(Discussion.last_activity.desc().nulls_last(), Discussion.id.desc()))  # fmt: skip
    return list(session.scalars(query))


def is_current_member(session: Session, list_id: int, email: str) -> bool:
    return is_member(session, list_id, email)
