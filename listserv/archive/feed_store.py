"""Atom feeds: the loaders. A list's newest archived posts, or one discussion's, with their
readable text, as the `Feed` that feed.py renders."""

from __future__ import annotations

from datetime import datetime
from typing import cast
from urllib.parse import quote

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import Session

from listserv.archive.feed import Feed, FeedEntry
from listserv.archive.search import document_of, split_author
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.message import ListInfo
from listserv.mail.text import excerpt
from listserv.store.schema import Inbound, MailingList, Post

ENTRIES = 30  # entries in a feed
CONTENT_CHARS = 4000
CONTAINERS = cast(Table, ThreadContainer.__table__)
DISCUSSIONS = cast(Table, Discussion.__table__)
POSTS = cast(Table, Post.__table__)
INBOUND = cast(Table, Inbound.__table__)


def _feed_id(lst: ListInfo, created: datetime, *rest: str) -> str:
    """A tag: URI (RFC 4151) under the list's domain and creation date: stable for the list's life."""
    name, _, domain = lst.address.partition("@")
    return f"tag:{domain or 'localhost'},{created:%Y-%m-%d}:{quote(name, safe='')}" + "".join(
        f"/{quote(r, safe='')}" for r in rest
    )


def _entries(session: Session, where: ColumnElement[bool], limit: int) -> tuple[FeedEntry, ...]:
    when = func.coalesce(CONTAINERS.c.posted_at, POSTS.c.created_at)
    query = (
        select(CONTAINERS.c.message_id, POSTS.c.subject, INBOUND.c.raw, when)
        .join(POSTS, POSTS.c.id == CONTAINERS.c.post_id)
        .join(INBOUND, INBOUND.c.id == POSTS.c.inbound_id)
        .where(where)
        .order_by(when.desc(), POSTS.c.id.desc())
        .limit(limit)
    )
    found = []
    for message_id, subject, raw, date in session.execute(query):
        document = document_of(bytes(raw), subject or "")
        name, address = split_author(document.author)
        found.append(FeedEntry(message_id, document.subject, name, address, date,
                               excerpt(document.body, max_lines=80, max_chars=CONTENT_CHARS)))  # fmt: skip
    return tuple(found)


def _created(session: Session, list_id: int) -> datetime:
    return session.execute(select(MailingList.created_at).where(MailingList.id == list_id)).scalar_one()


def load_list_feed(session: Session, lst: ListInfo, base_url: str, limit: int = ENTRIES) -> Feed:
    """The list's newest archived posts; ``base_url`` is the archive's root (e.g. https://lists.example.org)."""
    name, root, created = lst.local_part, base_url.rstrip("/"), _created(session, lst.id)
    entries = _entries(session, CONTAINERS.c.list_id == lst.id, limit)
    return Feed(_feed_id(lst, created), lst.name or lst.address, lst.description, f"{root}/{quote(name)}/feed.atom",
                f"{root}/{quote(name)}/", name, base_url, created, entries)  # fmt: skip


def load_discussion_feed(session: Session, lst: ListInfo, discussion_id: int, base_url: str,
                         limit: int = ENTRIES) -> Feed | None:  # fmt: skip
    """A discussion's newest posts, or None when the list has no such discussion."""
    row = session.execute(
        select(DISCUSSIONS.c.key, DISCUSSIONS.c.subject, DISCUSSIONS.c.created_at)
        .where(DISCUSSIONS.c.id == discussion_id, DISCUSSIONS.c.list_id == lst.id)
    ).first()  # fmt: skip
    if row is None:
        return None
    name, root, created = lst.local_part, base_url.rstrip("/"), _created(session, lst.id)
    entries = _entries(session, CONTAINERS.c.discussion_id == discussion_id, limit)
    page = f"{root}/{quote(name)}/d/{discussion_id}"
    return Feed(_feed_id(lst, created, "d", row.key), row.subject or "(no subject)", lst.name or lst.address,
                f"{page}/feed.atom", page, name, base_url, row.created_at, entries)  # fmt: skip
