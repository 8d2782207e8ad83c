"""The library in the database: record what posts share, apply curation, load it for showing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from listserv.errors import Invalid, NotFound
from listserv.library.harvest import Found, resource_of
from listserv.library.model import FORMER_MEMBER, SHARES, Action, Entry, Library, Share, clean_tags, ranked
from listserv.library.tables import LibraryEvent, LibraryResource
from listserv.store.queries import rowcount
from listserv.store.schema import MailingList, Post

MAX_SAID = 1000


def save_harvest(session: Session, list_id: int, post: Post, name: str, found: Sequence[Found],
                 now: datetime) -> int:  # fmt: skip
    """Record a post's resources: new ones, and a "shared again" for those the library has. How many."""
    for item in found:
        resource = resource_by_key(session, list_id, item.key)
        action = Action.SHARED_AGAIN
        if resource is None:
            resource = new_resource(session, list_id, item, now, post.id)
            action = Action.SHARED
        resource.updated_at = now
        record(session, resource, action, post.sender, name, item.said, now, post.id)
    return len(found)


def resource_by_key(session: Session, list_id: int, key: str) -> LibraryResource | None:
    query = select(LibraryResource).where(LibraryResource.list_id == list_id, LibraryResource.key == key)
    return session.scalar(query)


def new_resource(session: Session, list_id: int, item: Found, now: datetime, post_id: int | None) -> LibraryResource:
    fetch = session.scalar(select(MailingList.library_fetch_titles).where(MailingList.id == list_id))
    resource = LibraryResource(
        list_id=list_id, kind=item.kind.value, key=item.key, url=item.url, label=item.label, title="",
        title_status="" if fetch and item.url else "off", description="", tags="", recommendations=0,
        outdated=False, removed=False, post_id=post_id, part=item.part, size=item.size,
        content_type=item.content_type, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(resource)
    session.flush()
    return resource


def record(session: Session, resource: LibraryResource, action: Action, email: str, name: str, said: str,
           now: datetime, post_id: int | None = None) -> None:  # fmt: skip
    session.add(LibraryEvent(resource_id=resource.id, list_id=resource.list_id, post_id=post_id, action=action.value,
                             email=email[:254], name=name[:200], said=said[:MAX_SAID], created_at=now))  # fmt: skip


# -- curation (by mail and on the command line) ------------------------------------------------------


def find_resource(session: Session, list_id: int, ref: str) -> LibraryResource:
    """A resource by its number or by the link, DOI or ISBN it is for; NotFound otherwise."""
    ref = ref.strip().removeprefix("#")
    if ref.isdigit() and len(ref) < 12:
        resource = session.get(LibraryResource, int(ref))
        resource = resource if resource is not None and resource.list_id == list_id else None
    else:
        found = resource_of(ref)
        resource = resource_by_key(session, list_id, found.key) if found else None
    if resource is None or resource.removed:
        raise NotFound(f"no resource {ref} in this library")
    return resource


def add_resource(session: Session, list_id: int, ref: str, email: str, name: str, note: str, now: datetime,
                 post_id: int | None = None) -> tuple[LibraryResource, bool]:  # fmt: skip
    """Add a link, DOI or ISBN with a description; (the resource, whether it was new)."""
    found = resource_of(ref)
    if found is None:
        raise Invalid(f"not a link, DOI or ISBN: {ref[:100]}")
    resource = resource_by_key(session, list_id, found.key)
    created = resource is None or resource.removed
    if resource is None:
        resource = new_resource(session, list_id, found, now, post_id)
    resource.removed = False
    if note.strip() and not resource.description:
        resource.description = note.strip()[:MAX_SAID]
    resource.updated_at = now
    action = Action.ADDED if created else Action.SHARED_AGAIN
    record(session, resource, action, email, name, note.strip(), now, post_id)
    return resource, created


def resources_of_post(session: Session, list_id: int, post_id: int) -> list[LibraryResource]:
    """The resources a post shared (first or again), not removed."""
    shared = select(LibraryEvent.resource_id).where(LibraryEvent.post_id == post_id,
                                                    LibraryEvent.action.in_([a.value for a in SHARES]))  # fmt: skip
    query = select(LibraryResource).where(LibraryResource.list_id == list_id, LibraryResource.id.in_(shared),
                                          LibraryResource.removed.is_(False))  # fmt: skip
    return list(session.scalars(query.order_by(LibraryResource.id)))


def tag_resource(session: Session, resource: LibraryResource, words: Sequence[str], email: str,
                 now: datetime) -> tuple[str, ...]:  # fmt: skip
    """Add tags (a word starting with '-' takes one away); the resource's tags after."""
    tags = list(resource.tags.split())
    for tag in clean_tags([w for w in words if not w.startswith("-")]):
        tags += [tag] if tag not in tags else []
    gone = set(clean_tags([w[1:] for w in words if w.startswith("-")]))
    resource.tags = " ".join(sorted(t for t in tags if t not in gone))
    record(session, resource, Action.TAGGED, email, "", " ".join(words)[:MAX_SAID], now)
    return tuple(resource.tags.split())


def recommend(session: Session, resource: LibraryResource, email: str, now: datetime) -> bool:
    """+1 from a member, once each; False when they had recommended it already."""
    query = select(LibraryEvent.id).where(LibraryEvent.resource_id == resource.id, LibraryEvent.email == email,
                                          LibraryEvent.action == Action.RECOMMENDED.value)  # fmt: skip
    if session.scalar(query.limit(1)) is not None:
        return False
    resource.recommendations += 1
    resource.updated_at = now
    record(session, resource, Action.RECOMMENDED, email, "", "", now)
    return True


def describe(session: Session, resource: LibraryResource, text: str, email: str, now: datetime) -> None:
    resource.description = text.strip()[:MAX_SAID]
    record(session, resource, Action.DESCRIBED, email, "", resource.description, now)


def mark_outdated(session: Session, resource: LibraryResource, email: str, now: datetime) -> None:
    resource.outdated = True
    record(session, resource, Action.OUTDATED, email, "", "", now)


def remove(session: Session, resource: LibraryResource, email: str, now: datetime) -> None:
    resource.removed = True
    record(session, resource, Action.REMOVED, email, "", "", now)


def anonymise(session: Session, list_id: int, email: str) -> int:
    """A member's entries keep their resources but no longer name them; how many were changed."""
    query = update(LibraryEvent).where(LibraryEvent.list_id == list_id, LibraryEvent.email == email)
    return rowcount(session.execute(query.values(email="", name="")))


# -- loading ----------------------------------------------------------------------------------------


def load_library(session: Session, list_id: int) -> Library:
    """The list's resources (not removed), ranked, each with its shares."""
    lst = session.get_one(MailingList, list_id)
    resources = list(session.scalars(select(LibraryResource).where(LibraryResource.list_id == list_id,
                                                                    LibraryResource.removed.is_(False))))  # fmt: skip
    shares = load_shares(session, [r.id for r in resources])
    entries = [entry_of(r, tuple(shares.get(r.id, ()))) for r in resources]
    return Library(lst.address, lst.name, ranked(entries))


def load_shares(session: Session, ids: list[int]) -> dict[int, list[Share]]:
    found: dict[int, list[Share]] = {}
    for start in range(0, len(ids), 500):
        query = (
            select(LibraryEvent, Post.message_id, Post.subject)
            .outerjoin(Post, Post.id == LibraryEvent.post_id)
            .where(LibraryEvent.resource_id.in_(ids[start : start + 500]),
                   LibraryEvent.action.in_([a.value for a in SHARES]))
            .order_by(LibraryEvent.id)
        )  # fmt: skip
        for event, message_id, subject in session.execute(query):
            by = event.name or event.email or FORMER_MEMBER
            again = event.action == Action.SHARED_AGAIN.value
            found.setdefault(event.resource_id, []).append(
                Share(by, event.said, event.created_at, message_id or "", subject or "", again)
            )
    return found


def entry_of(resource: LibraryResource, shares: tuple[Share, ...]) -> Entry:
    return Entry(
        id=resource.id, kind=resource.kind, url=resource.url, label=resource.label, title=resource.title,
        description=resource.description, tags=tuple(resource.tags.split()),
        recommendations=resource.recommendations, outdated=resource.outdated, shares=shares,
        created_at=resource.created_at, updated_at=resource.updated_at, size=resource.size,
        content_type=resource.content_type,
    )  # fmt: skip


def count_resources(session: Session, list_id: int) -> int:
    query = select(func.count()).select_from(LibraryResource).where(LibraryResource.list_id == list_id)
    return int(session.scalar(query.where(LibraryResource.removed.is_(False))) or 0)
