"""Archive search, the index: one `archive_search` row per archived post (a post placed in a
discussion), holding its subject, author and readable text.

On SQLite the FTS5 table `archive_search_fts` indexes those rows as its external content,
kept in step by triggers (migration 0019). On PostgreSQL the row's generated `document`
tsvector has a GIN index. Text extraction needs Python (MIME, HTML), so rows are written
here: `index_all` finds archived posts without a row, in batches; the `archive-index`
job runs it, as do `archive search` and `archive reindex`. Several nodes may run it at once:
a row another node wrote first is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import ForeignKey, Table, Text, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from listserv.archive.search import document_of
from listserv.discussions.tables import ThreadContainer
from listserv.store.schema import Base, Inbound, Post
from listserv.work import Work

log = logging.getLogger(__name__)
BATCH = 200  # posts read, then written, per transaction


class ArchiveSearch(Base):
    __tablename__ = "archive_search"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


SEARCH = cast(Table, ArchiveSearch.__table__)
CONTAINERS = cast(Table, ThreadContainer.__table__)
POSTS = cast(Table, Post.__table__)
INBOUND = cast(Table, Inbound.__table__)


Row = dict[str, object]  # an archive_search row, for a multi-row insert


def load_rows(session: Session, post_ids: Iterable[int]) -> list[tuple[int, int, str, bytes]]:
    """(post id, list id, subject, raw message) of these posts."""
    query = (
        select(POSTS.c.id, POSTS.c.list_id, POSTS.c.subject, INBOUND.c.raw)
        .join(INBOUND, INBOUND.c.id == POSTS.c.inbound_id)
        .where(POSTS.c.id.in_(sorted(set(post_ids))))
    )
    return [(post_id, list_id, subject or "", bytes(raw)) for post_id, list_id, subject, raw in session.execute(query)]


def rows_of(loaded: Iterable[tuple[int, int, str, bytes]]) -> list[Row]:
    """The index rows: the text read from each raw message (no database work)."""
    rows: list[Row] = []
    for post_id, list_id, subject, raw in loaded:
        document = document_of(raw, subject)
        rows.append(dict(post_id=post_id, list_id=list_id, subject=document.subject, author=document.author,
                         body=document.body))  # fmt: skip
    return rows


def save_rows(session: Session, rows: list[Row]) -> int:
    """Write (or rewrite) index rows; a row another node wrote meanwhile is replaced."""
    if not rows:
        return 0
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(delete(SEARCH).where(SEARCH.c.post_id.in_([r["post_id"] for r in rows])))
    session.execute(maker(SEARCH).on_conflict_do_nothing(index_elements=["post_id"]), rows)
    return len(rows)


def index_posts(session: Session, post_ids: Iterable[int]) -> int:
    """Write (or rewrite) the index rows of these posts, in the caller's transaction."""
    return save_rows(session, rows_of(load_rows(session, post_ids)))


def pending_posts(session: Session, list_id: int | None, limit: int) -> list[int]:
    """Archived posts (placed in a discussion) that have no index row yet, oldest first."""
    query = (
        select(CONTAINERS.c.post_id)
        .outerjoin(SEARCH, SEARCH.c.post_id == CONTAINERS.c.post_id)
        .where(CONTAINERS.c.post_id.is_not(None), SEARCH.c.post_id.is_(None))
        .order_by(CONTAINERS.c.post_id)
        .limit(limit)
    )
    if list_id is not None:
        query = query.where(CONTAINERS.c.list_id == list_id)
    return [int(ident) for ident in session.scalars(query)]


def index_pending(session: Session, list_id: int | None = None, limit: int = BATCH) -> int:
    """Index up to ``limit`` archived posts that are not indexed yet (in the caller's transaction)."""
    return index_posts(session, pending_posts(session, list_id, limit))


def index_all(sessions: Callable[[], Session], list_id: int | None = None) -> int:
    """Index every archived post not indexed yet; returns how many. Each batch is read in one
    short transaction and written in another: the text is extracted between them, so the
    database (SQLite's one writer) is never held while mail is parsed."""
    done = 0
    while True:
        with sessions() as session, session.begin():
            loaded = load_rows(session, pending_posts(session, list_id, BATCH))
        rows = rows_of(loaded)
        with sessions() as session, session.begin():
            done += save_rows(session, rows)
        if len(loaded) < BATCH:
            break
    if done:
        log.info("archive search indexed %d posts", done)
    return done


def catch_up(work: Work, list_id: int | None = None) -> int:
    """The `archive-index` job: index_all with the work context's sessions."""
    return index_all(work.sessions, list_id)


def reindex(work: Work, list_id: int) -> int:
    """Drop a list's index rows and write them again (after an upgrade of the text extraction)."""
    with work.sessions() as session, session.begin():
        session.execute(delete(SEARCH).where(SEARCH.c.list_id == list_id))
    return catch_up(work, list_id)
