"""Atom feeds (RFC 4287) of a list's newest posts and of one discussion's posts.

`render_list_feed` and `render_discussion_feed` are pure: values in, UTF-8 XML out, every
text escaped by ElementTree. Entry ids are ``mid:`` URIs (RFC 2392) of the Message-ID, so
they survive re-imports; each entry links to the post's permalink (links.py). The loaders
(feed_store.py) read the newest posts and their text from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import cast
from urllib.parse import quote
from xml.etree import ElementTree

from listserv.archive.search import clean_text
from listserv.mail.permalinks import permalink_path

ATOM = "http://www.w3.org/2005/Atom"


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
