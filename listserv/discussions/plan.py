"""Thread a run of arrivals against stored state: the *decide* step of the store shell. Pure.

The shell gathers a :class:`Snapshot` (the stored containers of every id the arrivals name,
their discussions, and the discussions their subjects could join), calls
:func:`plan_threads`, and applies the :class:`Plan` it returns. Arrivals are threaded one
after another with :func:`jwz.assign_thread` against the snapshot plus what the earlier
arrivals of the same run changed, so a run of one (a live post) and a run of a thousand
(an archive import chunk) give the same result as threading the messages one at a time.

Containers never move on their own: a discussion changes only by being merged whole into
another one (``Assignment.merge_from``), so the shell applies a merge with one UPDATE.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from listserv.discussions.headers import chain_of, storable_id, subject_key
from listserv.discussions.jwz import assign_thread, placeholders_to_create
from listserv.discussions.model import (
    DEFAULT_SUBJECT_WINDOW,
    KnownPost,
    RecentThread,
    ThreadInput,
    ThreadMethod,
)
from listserv.discussions.subjects import is_reply_subject, normalize_subject


class OnDuplicate(enum.Enum):
    """What to do with an arrival whose Message-ID is already a post of the list."""

    FRESH_ID = "fresh-id"  # live: it was distributed, thread it as <id>#duplicate-<post id>
    SKIP = "skip"  # archive import: the same message again, leave it out


class SkipReason(enum.Enum):
    ALREADY_THREADED = "already-threaded"  # this very post is threaded: nothing to do
    DUPLICATE_ID = "duplicate-message-id"


@dataclass(frozen=True, slots=True)
class Arrival:
    """One post to thread. ``ref`` is the caller's handle; ``post_id`` is set once the post is stored."""

    ref: int
    msg: ThreadInput  # ids bare and storable, date naive UTC
    sender: str
    post_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredContainer:
    message_id: str
    discussion_key: str
    is_placeholder: bool
    post_id: int | None


@dataclass(frozen=True, slots=True)
class DiscussionFacts:
    key: str
    subject: str = ""
    subject_key: str = ""
    started_by: str = ""
    first_activity: datetime | None = None
    last_activity: datetime | None = None
    post_count: int = 0


@dataclass(frozen=True)
class Snapshot:
    containers: Mapping[str, StoredContainer]
    discussions: Mapping[str, DiscussionFacts]  # by key


@dataclass(frozen=True, slots=True)
class Placed:
    """A container to insert, or (``stored``) a stored placeholder that became this arrival."""

    message_id: str
    discussion_key: str
    parent_id: str | None
    is_placeholder: bool
    ref: int | None  # the arrival, None for a placeholder
    method: ThreadMethod | None
    posted_at: datetime | None
    stored: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    ref: int
    message_id: str
    reason: SkipReason


@dataclass(frozen=True)
class Plan:
    new_discussions: tuple[DiscussionFacts, ...]
    changed_discussions: tuple[DiscussionFacts, ...]  # stored ones, their new facts
    merges: tuple[tuple[str, str], ...]  # (stored key merged away, surviving key)
    inserts: tuple[Placed, ...]
    relinks: tuple[Placed, ...]
    skipped: tuple[Skipped, ...]

    def placed_arrivals(self) -> list[Placed]:
        return [p for p in self.inserts + self.relinks if p.ref is not None]


@dataclass(slots=True)
class _Box:
    message_id: str
    key: str
    is_placeholder: bool
    post_id: int | None
    stored: bool
    parent_id: str | None = None
    ref: int | None = None
    method: ThreadMethod | None = None
    posted_at: datetime | None = None
    dirty: bool = False


@dataclass(slots=True)
class _Discussion:
    facts: DiscussionFacts
    stored: bool
    dirty: bool = False


def _absorb(into: DiscussionFacts, other: DiscussionFacts) -> DiscussionFacts:
    """Facts of the union of two discussions: the earlier-starting one gives the title."""
    starter = into
    if into.post_count == 0 or (other.first_activity is not None and other.post_count and (
            into.first_activity is None or other.first_activity < into.first_activity)):  # fmt: skip
        starter = other
    firsts = [d for d in (into.first_activity, other.first_activity) if d is not None]
    lasts = [d for d in (into.last_activity, other.last_activity) if d is not None]
    return replace(
        into, subject=starter.subject, subject_key=starter.subject_key, started_by=starter.started_by,
        first_activity=min(firsts, default=None), last_activity=max(lasts, default=None),
        post_count=into.post_count + other.post_count,
    )  # fmt: skip


def _add_post(facts: DiscussionFacts, msg: ThreadInput, sender: str, prefixes: Sequence[str]) -> DiscussionFacts:
    post = DiscussionFacts(facts.key, msg.subject, subject_key(msg.subject, tuple(prefixes)), sender,
                           msg.date, msg.date, 1)  # fmt: skip
    return _absorb(facts, post)


@dataclass
class _Overlay:
    """The snapshot plus what this run changed; keys of merged discussions redirect."""

    prefixes: tuple[str, ...]
    window: timedelta
    boxes: dict[str, _Box] = field(default_factory=dict)
    discussions: dict[str, _Discussion] = field(default_factory=dict)
    redirect: dict[str, str] = field(default_factory=dict)
    by_subject: dict[str, set[str]] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)  # stored keys merged away
    skipped: list[Skipped] = field(default_factory=list)

    def resolve(self, key: str) -> str:
        path = []
        while key in self.redirect:
            path.append(key)
            key = self.redirect[key]
        for step in path:
            self.redirect[step] = key
        return key

    def index_subject(self, facts: DiscussionFacts) -> None:
        if facts.subject_key:
            self.by_subject.setdefault(facts.subject_key, set()).add(facts.key)

    def known(self, ids: Sequence[str]) -> dict[str, KnownPost]:
        found = (self.boxes.get(ident) for ident in ids)
        return {b.message_id: KnownPost(b.message_id, self.resolve(b.key), b.is_placeholder) for b in found if b}

    def recent(self, msg: ThreadInput) -> dict[str, RecentThread]:
        """The most recently active discussion with the message's title, for the subject fallback."""
        if msg.date is None or not is_reply_subject(msg.subject, self.prefixes):
            return {}
        title = normalize_subject(msg.subject, self.prefixes)
        wanted = subject_key(msg.subject, self.prefixes)
        keys = {self.resolve(k) for k in self.by_subject.get(wanted, ())}
        own = self.boxes.get(msg.message_id)
        if own is not None and own.is_placeholder:  # its own replies' discussion is no other thread
            keys.discard(self.resolve(own.key))
        candidates = [self.discussions[k].facts for k in keys]
        dated = [(f.last_activity, f.key) for f in candidates if f.subject_key == wanted and f.last_activity]
        if not dated:
            return {}
        last, key = max(dated)
        return {title: RecentThread(key, last, None)}

    def discussion(self, key: str) -> _Discussion:
        found = self.discussions.get(key)
        if found is None:
            found = self.discussions[key] = _Discussion(DiscussionFacts(key), stored=False)
        return found

    def merge(self, source: str, target: str) -> None:
        gone = self.discussions.pop(source)
        into = self.discussion(target)
        into.facts, into.dirty = _absorb(into.facts, gone.facts), True
        self.redirect[source] = target
        self.index_subject(into.facts)
        if gone.stored:
            self.merged.append(source)


def _duplicate_check(overlay: _Overlay, arrival: Arrival, policy: OnDuplicate) -> ThreadInput | None:
    """The message to thread (maybe under a fresh id), or None when it is skipped."""
    msg = arrival.msg
    for attempt in range(2):
        box = overlay.boxes.get(msg.message_id)
        if box is None or box.is_placeholder:
            return msg
        if arrival.post_id is not None and box.post_id == arrival.post_id:
            overlay.skipped.append(Skipped(arrival.ref, msg.message_id, SkipReason.ALREADY_THREADED))
            return None
        if policy is OnDuplicate.SKIP or attempt:
            overlay.skipped.append(Skipped(arrival.ref, msg.message_id, SkipReason.DUPLICATE_ID))
            return None
        msg = replace(msg, message_id=fresh_id(msg.message_id, arrival.ref))
    return None


def fresh_id(message_id: str, ref: int) -> str:
    """The id a second post with an already-threaded Message-ID is threaded under."""
    return storable_id(f"{message_id}#duplicate-{ref}")


def _thread_one(overlay: _Overlay, arrival: Arrival, msg: ThreadInput) -> None:
    chain = chain_of(msg)
    known = overlay.known(chain + (msg.message_id,))
    recent = {} if chain else overlay.recent(msg)
    assignment = assign_thread(msg, known, recent, subject_window=overlay.window,
                               prefixes=overlay.prefixes)  # fmt: skip
    key = assignment.thread_key
    overlay.discussion(key)
    for source in assignment.merge_from:
        overlay.merge(source, key)
    position = {ident: index for index, ident in enumerate(chain)}
    for ident in placeholders_to_create(msg, known):
        index = position[ident]
        parent = chain[index - 1] if index else None
        overlay.boxes[ident] = _Box(ident, key, True, None, stored=False, parent_id=parent)
    parent_id = chain[-1] if chain else (key if assignment.method is ThreadMethod.SUBJECT else None)
    box = overlay.boxes.get(msg.message_id)
    if box is None:
        box = overlay.boxes[msg.message_id] = _Box(msg.message_id, key, False, arrival.post_id, stored=False)
    box.is_placeholder, box.post_id, box.ref, box.dirty = False, arrival.post_id, arrival.ref, True
    box.parent_id, box.method, box.posted_at = parent_id, assignment.method, msg.date
    target = overlay.discussion(key)
    target.facts, target.dirty = _add_post(target.facts, msg, arrival.sender, overlay.prefixes), True
    overlay.index_subject(target.facts)


def plan_threads(
    arrivals: Sequence[Arrival],
    snapshot: Snapshot,
    *,
    on_duplicate: OnDuplicate,
    prefixes: Sequence[str] = (),
    subject_window: timedelta = DEFAULT_SUBJECT_WINDOW,
) -> Plan:
    """Thread ``arrivals`` in order against ``snapshot``; see the module docstring."""
    overlay = _Overlay(tuple(prefixes), subject_window)
    for stored in snapshot.containers.values():
        overlay.boxes[stored.message_id] = _Box(stored.message_id, stored.discussion_key, stored.is_placeholder,
                                                stored.post_id, stored=True)  # fmt: skip
    for facts in snapshot.discussions.values():
        overlay.discussions[facts.key] = _Discussion(facts, stored=True)
        overlay.index_subject(facts)
    for arrival in arrivals:
        msg = _duplicate_check(overlay, arrival, on_duplicate)
        if msg is not None:
            _thread_one(overlay, arrival, msg)
    return _freeze(overlay)


def _freeze(overlay: _Overlay) -> Plan:
    live = overlay.discussions.values()
    placed = [
        Placed(b.message_id, overlay.resolve(b.key), b.parent_id, b.is_placeholder, b.ref, b.method, b.posted_at,
               b.stored)
        for b in overlay.boxes.values() if not b.stored or b.dirty
    ]  # fmt: skip
    return Plan(
        new_discussions=tuple(d.facts for d in live if not d.stored),
        changed_discussions=tuple(d.facts for d in live if d.stored and d.dirty),
        merges=tuple((key, overlay.resolve(key)) for key in overlay.merged),
        inserts=tuple(p for p in placed if not p.stored),
        relinks=tuple(p for p in placed if p.stored),
        skipped=tuple(overlay.skipped),
    )
