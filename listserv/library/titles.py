"""The `library-titles` job: fetch the titles of newly shared links, on lists that allow it.

Never inside a post's transaction: a resource is claimed (title_status "" -> "fetching") in
one short transaction, fetched with none open, and saved in another. A page that names a
canonical URL (<link rel=canonical>) moves the resource to it, or merges it into the
resource the library already has for it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from listserv.library.fetch import FetchError, fetch_page
from listserv.library.harvest import normalise_url
from listserv.library.pages import PageFacts, page_facts
from listserv.library.store import resource_by_key
from listserv.library.tables import LibraryEvent, LibraryResource
from listserv.store.admin import ListSetting
from listserv.store.queries import rowcount
from listserv.store.schema import MailingList
from listserv.work import Work

log = logging.getLogger(__name__)
BATCH = 10
LIBRARY_SETTINGS = {
    "library_fetch_titles": ListSetting(bool, help="fetch the titles of links shared on the list (off: no requests)"),
}


def run_titles(work: Work) -> int:
    """Fetch up to BATCH waiting titles; how many were tried."""
    claimed = claim(work)
    for resource_id, url in claimed:
        try:
            page = fetch_page(url, work.settings.library_fetch_timeout, work.settings.library_fetch_private)
            facts: PageFacts | None = page_facts(page.html, page.url)
        except FetchError as error:
            log.info("library title not fetched url=%s reason=%s", url[:200], error)
            facts = None
        with work.sessions() as session, session.begin():
            save_title(session, resource_id, facts)
    return len(claimed)


def claim(work: Work) -> list[tuple[int, str]]:
    with work.sessions() as session, session.begin():
        query = (
            select(LibraryResource.id, LibraryResource.url)
            .join(MailingList, MailingList.id == LibraryResource.list_id)
            .where(LibraryResource.title_status == "", LibraryResource.kind == "link",
                   MailingList.library_fetch_titles.is_(True))
            .order_by(LibraryResource.id).limit(BATCH)
        )  # fmt: skip
        rows = session.execute(query).all()
        mine = update(LibraryResource).where(LibraryResource.title_status == "").values(title_status="fetching")
        return [(i, url) for i, url in rows if rowcount(session.execute(mine.where(LibraryResource.id == i)))]


def save_title(session: Session, resource_id: int, facts: PageFacts | None) -> None:
    resource = session.get(LibraryResource, resource_id)
    if resource is None:
        return
    resource.title_status = "fetched" if facts else "failed"
    if facts is None:
        return
    resource.title = facts.title
    canonical = normalise_url(facts.canonical) if facts.canonical else None
    if canonical is None or canonical == resource.key:
        return
    other = resource_by_key(session, resource.list_id, canonical)
    if other is None:
        resource.key = resource.url = canonical
    elif other.id != resource.id:
        merge(session, resource, other)


def merge(session: Session, duplicate: LibraryResource, kept: LibraryResource) -> None:
    """The same page under another address: its history and recommendations join the kept one."""
    session.execute(update(LibraryEvent).where(LibraryEvent.resource_id == duplicate.id)
                    .values(resource_id=kept.id))  # fmt: skip
    kept.recommendations += duplicate.recommendations
    kept.title = kept.title or duplicate.title
    kept.tags = " ".join(sorted(set(kept.tags.split()) | set(duplicate.tags.split())))
    kept.updated_at = max(kept.updated_at, duplicate.updated_at)
    duplicate.removed = True
    log.info("library merged #%d into #%d (canonical %s)", duplicate.id, kept.id, kept.url[:200])
