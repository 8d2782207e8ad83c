"""Discussions as the CLI shows them, and the moderator's repairs: merge and split."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Select, Subquery, UnaryExpression, func, select, update
from sqlalchemy.orm import Session

from listserv.discussions.headers import list_prefixes, subject_key
from listserv.discussions.store import CONTAINERS, lock_threads
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.discussions.tree import Container, Line, link, subtree, tree
from listserv.errors import Invalid, NotFound
from listserv.store.queries import in_chunks
from listserv.store.schema import Post

MODERATOR = "moderator"  # thread_containers.method of a post a merge or split placed


@dataclass(frozen=True)
class Summary:
    id: int
    key: str
    subject: str
    started_by: str
    post_count: int
    participants: int
    first_activity: datetime | None
    last_activity: datetime | None


@dataclass(frozen=True)
class Entry:
    """One line of a shown discussion."""

    line: Line
    post_id: int | None
    author: str
    date: datetime | None
    subject: str
    method: str


def find_discussion(session: Session, list_id: int, ref: str) -> Discussion:
    """A discussion by its number (from `thread ls`) or by the Message-ID of any message in it."""
    ref = ref.strip()
    if ref.isdigit():
        found = session.scalar(select(Discussion).where(Discussion.list_id == list_id, Discussion.id == int(ref)))
    else:
        bare = ref[1:-1] if ref.startswith("<") and ref.endswith(">") else ref
        found = session.scalar(select(Discussion).join(ThreadContainer).where(
            ThreadContainer.list_id == list_id, ThreadContainer.message_id == bare))  # fmt: skip
    if found is None:
        raise NotFound(f"no discussion {ref} in this list")
    return found


def _participants(list_id: int) -> Subquery:
    """Each discussion's count of distinct authors; joined into the one statement that reads the discussions,
    so both come from the same snapshot while threading commits alongside."""
    return (select(ThreadContainer.discussion_id, func.count(func.distinct(Post.sender)).label("people"))
            .join(Post, Post.id == ThreadContainer.post_id).where(ThreadContainer.list_id == list_id)
            .group_by(ThreadContainer.discussion_id).subquery())  # fmt: skip


def _with_participants(list_id: int, *columns: Any) -> Select[Any]:
    people = _participants(list_id)
    return (select(Discussion, func.coalesce(people.c.people, 0), *columns)
            .outerjoin(people, people.c.discussion_id == Discussion.id))  # fmt: skip


def _summary(row: Discussion, participants: int) -> Summary:
    return Summary(row.id, row.key, row.subject, row.started_by, row.post_count, int(participants),
                   row.first_activity, row.last_activity)  # fmt: skip


def _newest_first() -> tuple[UnaryExpression[datetime | None], UnaryExpression[int]]:
    return (Discussion.last_activity.desc().nulls_last(), Discussion.id.desc())


def summaries(session: Session, list_id: int) -> list[Summary]:
    """Every discussion of the list, the most recently active first."""
    query = _with_participants(list_id).where(Discussion.list_id == list_id).order_by(*_newest_first())
    return [_summary(row, people) for row, people in session.execute(query)]


def _containers(session: Session, discussion_id: int) -> list[Container]:
    query = select(CONTAINERS.c.message_id, CONTAINERS.c.parent_id, CONTAINERS.c.placeholder,
                   CONTAINERS.c.posted_at).where(CONTAINERS.c.discussion_id == discussion_id)  # fmt: skip
    return [Container(m, p, bool(h), d) for m, p, h, d in session.execute(query)]


def thread_orders(session: Session, list_id: int) -> Iterator[tuple[Summary, list[str]]]:
    """Each discussion (as in :func:`summaries`) with its posts' Message-IDs in thread order.

    Streamed: one discussion's containers in memory at a time.
    """
    query = (_with_participants(list_id, CONTAINERS.c.message_id, CONTAINERS.c.parent_id, CONTAINERS.c.placeholder,
                                CONTAINERS.c.posted_at)
             .join(ThreadContainer, ThreadContainer.discussion_id == Discussion.id)
             .where(Discussion.list_id == list_id).order_by(*_newest_first())
             .execution_options(yield_per=2000))  # fmt: skip
    rows = session.execute(query)
    for _, group in groupby(rows, key=lambda row: row[0].id):
        items = list(group)
        lines = tree([Container(m, p, bool(h), d) for _, _, m, p, h, d in items])
        yield _summary(items[0][0], items[0][1]), [line.message_id for line in lines if not line.is_placeholder]


def show(session: Session, discussion: Discussion) -> tuple[Summary, list[Entry]]:
    """The summary and the tree of one discussion, in pre-order."""
    query = (select(ThreadContainer.message_id, ThreadContainer.post_id, ThreadContainer.method,
                    ThreadContainer.posted_at, Post.sender, Post.subject)
             .outerjoin(Post, Post.id == ThreadContainer.post_id)
             .where(ThreadContainer.discussion_id == discussion.id))  # fmt: skip
    facts = {row[0]: row for row in session.execute(query)}
    entries = []
    for line in tree(_containers(session, discussion.id)):
        _, post_id, method, posted_at, sender, subject = facts[line.message_id]
        entries.append(Entry(line, post_id, sender or "", posted_at, subject or "", method or ""))
    people = len({entry.author for entry in entries if entry.post_id is not None})
    return _summary(discussion, people), entries


def recompute(session: Session, discussion: Discussion, subject_prefix: str) -> None:
    """A discussion's facts from its posts (after a merge or split)."""
    query = (select(ThreadContainer.posted_at, Post.sender, Post.subject)
             .join(Post, Post.id == ThreadContainer.post_id)
             .where(ThreadContainer.discussion_id == discussion.id, ThreadContainer.placeholder.is_(False))
             .order_by(ThreadContainer.posted_at.asc().nulls_last(), ThreadContainer.id))  # fmt: skip
    rows = session.execute(query).all()
    dates = [row[0] for row in rows if row[0] is not None]
    first = rows[0] if rows else None
    discussion.post_count = len(rows)
    discussion.first_activity, discussion.last_activity = min(dates, default=None), max(dates, default=None)
    discussion.started_by = first[1] if first else ""
    discussion.subject = first[2] if first else ""
    discussion.subject_key = subject_key(discussion.subject, list_prefixes(subject_prefix))


def _tops(containers: list[Container]) -> list[str]:
    return [ident for ident, parent in link(containers).items() if parent is None]


def _set_parent(session: Session, list_id: int, message_ids: list[str], parent: str | None) -> None:
    """Give containers a moderator-made parent (None: they start the discussion)."""
    for batch in in_chunks(sorted(message_ids)):
        chosen = (CONTAINERS.c.list_id == list_id, CONTAINERS.c.message_id.in_(batch))
        session.execute(update(CONTAINERS).where(*chosen).values(parent_id=parent))
        session.execute(update(CONTAINERS).where(*chosen, CONTAINERS.c.placeholder.is_(False))
                        .values(method=MODERATOR))  # fmt: skip


def merge(session: Session, list_id: int, source: Discussion, target: Discussion, subject_prefix: str) -> int:
    """Move every message of ``source`` into ``target``, its tops under target's top message.
    Returns how many posts moved."""
    if source.id == target.id:
        raise Invalid("that is one discussion already")
    lock_threads(session, list_id)
    tops = _tops(_containers(session, source.id))
    moved = source.post_count
    session.execute(update(CONTAINERS).where(CONTAINERS.c.discussion_id == source.id).values(discussion_id=target.id))
    _set_parent(session, list_id, tops, target.key)
    session.delete(source)
    session.flush()
    recompute(session, target, subject_prefix)
    return moved


def split(session: Session, list_id: int, message_id: str, subject_prefix: str,
          now: datetime) -> tuple[Discussion, Discussion]:  # fmt: skip
    """Make a post and the replies below it a discussion of their own: (old, new)."""
    bare = message_id.strip()
    bare = bare[1:-1] if bare.startswith("<") and bare.endswith(">") else bare
    lock_threads(session, list_id)
    container = session.scalar(select(ThreadContainer).where(ThreadContainer.list_id == list_id,
                                                             ThreadContainer.message_id == bare))  # fmt: skip
    if container is None or container.placeholder:
        raise NotFound(f"no post <{bare}> in this list")
    old = session.get_one(Discussion, container.discussion_id)
    containers = _containers(session, old.id)
    moving = subtree(containers, bare)
    staying = [c for c in containers if c.message_id not in moving]
    if not any(not c.is_placeholder for c in staying):
        raise Invalid(f"<{bare}> and its replies are the whole discussion already")
    if old.key in moving:  # the old discussion keeps its number, under the id of its new top
        old.key = tree(staying)[0].message_id
        session.flush()
    new = Discussion(list_id=list_id, key=bare, subject="", subject_key="", started_by="", post_count=0,
                     created_at=now)  # fmt: skip
    session.add(new)
    session.flush()
    for batch in in_chunks(sorted(moving)):
        session.execute(update(CONTAINERS).where(CONTAINERS.c.list_id == list_id, CONTAINERS.c.message_id.in_(batch))
                        .values(discussion_id=new.id))  # fmt: skip
    _set_parent(session, list_id, [bare], None)
    session.expire_all()
    recompute(session, old, subject_prefix)
    recompute(session, new, subject_prefix)
    return old, new
