"""Atom feeds (RFC 4287) of a list's newest posts and of one discussion's posts.

`render_list_feed` and `render_discussion_feed` are pure: values in, UTF-8 XML out, every
text escaped by ElementTree. Entry ids are ``mid:`` URIs (RFC 2392) of the Message-ID, so
they survive re-imports; each entry links to the post's permalink (links.py). The loaders
read the newest posts and their text from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import cast
from urllib.parse import quote
from xml.etree import ElementTree

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from listserv.archive.links import list_name_of, permalink_path
from listserv.archive.search import clean_text, document_of, split_author
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.message import ListInfo
from listserv.mail.text import excerpt
from listserv.store.schema import Inbound, MailingList, Post

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 30  # entries in a feed
CONTENT_CHARS = 4000
CONTAINERS = cast(Table, ThreadContainer.__table__)
DISCUSSIONS = cast(Table, Discussion.__table__)
POSTS = cast(Table, Post.__table__)
INBOUND = cast(Table, Inbound.__table__)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    message_id: str  # bare
    title: str
    author_name: str
    author_address: str
    date: datetime  # naive UTC
    text: str  # the post's readable text (an excerpt)


@dataclass(frozen=True, slots=True)
class Feed:
    feed_id: str
    title: str
    subtitle: str
    self_url: str  # where this feed is served
    page_url: str  # the web page it follows
    list_name: str
    base_url: str  # the archive's root: permalinks are base_url + permalink_path(...)
    updated: datetime
    entries: tuple[FeedEntry, ...]


def _stamp(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = clean_text(text)  # XML 1.0 allows no control characters
    return element


def _entry(feed: ElementTree.Element, info: Feed, item: FeedEntry) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", "mid:" + quote(item.message_id, safe="@!$&'()*+,;=:-._~"))
    _add(entry, "title", item.title or "(no subject)")
    _add(entry, "updated", _stamp(item.date))
    _add(entry, "published", _stamp(item.date))
    author = _add(entry, "author")
    _add(author, "name", item.author_name or item.author_address or "unknown")
    if item.author_address:
        _add(author, "email", item.author_address)
    _add(entry, "link", rel="alternate", type="text/html",
         href=info.base_url.rstrip("/") + permalink_path(info.list_name, item.message_id))  # fmt: skip
    _add(entry, "content", item.text, type="text")


def render_feed(info: Feed) -> bytes:
    """The Atom document: feed metadata, then the entries as given (newest first)."""
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", info.feed_id)
    _add(feed, "title", info.title)
    if info.subtitle:
        _add(feed, "subtitle", info.subtitle)
    _add(feed, "updated", _stamp(max([info.updated] + [e.date for e in info.entries])))
    _add(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=info.page_url)
    _add(feed, "generator", "listserv")
    for item in info.entries:
        _entry(feed, info, item)
    return cast(bytes, ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True))


render_list_feed = render_feed  # the two feeds differ in what they hold, not in form
render_discussion_feed = render_feed


def _feed_id(lst: ListInfo, created: datetime, *rest: str) -> str:
    """A tag: URI (RFC 4151) under the list's domain and creation date: stable for the list's life."""
    name, _, domain = lst.address.partition("@")
    return f"tag:{domain or 'localhost'},{created:%Y-%m-%d}:{quote(name, safe='')}" + "".join(
        f"/{quote(r, safe='')}" for r in rest
    )


def _entries(session: Session, where: object, limit: int) -> tuple[FeedEntry, ...]:
    when = func.coalesce(CONTAINERS.c.posted_at, POSTS.c.created_at)
    query = (
        select(CONTAINERS.c.message_id, POSTS.c.subject, INBOUND.c.raw, when)
        .join(POSTS, POSTS.c.id == CONTAINERS.c.post_id)
        .join(INBOUND, INBOUND.c.id == POSTS.c.inbound_id)
        .where(where)  # type: ignore[arg-type]
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
    name, root, created = list_name_of(lst.address), base_url.rstrip("/"), _created(session, lst.id)
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
    name, root, created = list_name_of(lst.address), base_url.rstrip("/"), _created(session, lst.id)
    entries = _entries(session, CONTAINERS.c.discussion_id == discussion_id, limit)
    page = f"{root}/{quote(name)}/d/{discussion_id}"
    return Feed(_feed_id(lst, created, "d", row.key), row.subject or "(no subject)", lst.name or lst.address,
                f"{page}/feed.atom", page, name, base_url, row.created_at, entries)  # fmt: skip
