"""A list's library as the page, the export and the digest show it: ranked, grouped by tag. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

FORMER_MEMBER = "a former member"
UNTAGGED = "untagged"


@dataclass(frozen=True)
class Share:
    """Someone shared (or added) the resource: who, in which post, and what they said."""

    by: str  # a name or an address; FORMER_MEMBER once anonymised
    said: str
    at: datetime
    message_id: str  # the post's Message-ID, "" when added by command
    subject: str
    again: bool


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    url: str
    label: str
    title: str
    description: str
    tags: tuple[str, ...]
    recommendations: int
    outdated: bool
    shares: tuple[Share, ...]
    created_at: datetime
    updated_at: datetime
    size: int = 0
    content_type: str = ""

    @property
    def name(self) -> str:
        """What the entry is called: the page's title, else the clean link, filename, DOI or ISBN."""
        return self.title or (self.url if self.kind == "link" else self.label) or self.url

    @property
    def first(self) -> Share | None:
        return self.shares[0] if self.shares else None


@dataclass(frozen=True)
class TagGroup:
    tag: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Library:
    list_address: str
    list_name: str
    entries: tuple[Entry, ...]  # ranked


def ranked(entries: Sequence[Entry]) -> tuple[Entry, ...]:
    """Most recommended first; then the most recently active; outdated ones last."""
    return tuple(sorted(entries, key=lambda e: (e.outdated, -e.recommendations, -e.updated_at.timestamp(), e.id)))


def by_tag(library: Library, tag: str = "") -> tuple[TagGroup, ...]:
    """One group per tag (alphabetical, an entry under each of its tags), the untagged last."""
    tags = sorted({t for e in library.entries for t in e.tags if not tag or t == tag})
    groups = [TagGroup(t, tuple(e for e in library.entries if t in e.tags)) for t in tags]
    untagged = tuple(e for e in library.entries if not e.tags)
    if untagged and not tag:
        groups.append(TagGroup(UNTAGGED, untagged))
    return tuple(groups)


def this_week(library: Library, since: datetime, until: datetime,
              limit: int = 5) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:  # fmt: skip
    """For the digest: the resources first shared in the period, and the most recommended others."""
    new = tuple(e for e in library.entries if since <= e.created_at < until and not e.outdated)[:limit]
    top = tuple(e for e in library.entries if e.recommendations > 0 and not e.outdated and e not in new)[:limit]
    return new, top


def clean_tags(words: Sequence[str]) -> tuple[str, ...]:
    """Tags as stored: lower case, '#' dropped, letters, digits, '-' and '_' only, at most 32 characters."""
    found = []
    for word in words:
        tag = "".join(c for c in word.lower().lstrip("#") if c.isalnum() or c in "-_")[:32]
        if tag and tag not in found:
            found.append(tag)
    return tuple(found)


class Action(StrEnum):
    """What a library_events row records."""

    SHARED = "shared"
    SHARED_AGAIN = "shared-again"
    ADDED = "added"
    RECOMMENDED = "recommended"
    TAGGED = "tagged"
    DESCRIBED = "described"
    OUTDATED = "outdated"
    REMOVED = "removed"


SHARES = (Action.SHARED, Action.SHARED_AGAIN, Action.ADDED)
