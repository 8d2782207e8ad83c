"""From trees of slots to threads: each tree's members and dates, pruning empty slots, and the
guarded subject fallback that lets a reply without references join a recent thread. Pure."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from listserv.discussions.containers import (
    Slot,
    SortKey,
    attach,
    detach,
    entry_key,
    kids,
)
from listserv.discussions.ids import input_chain
from listserv.discussions.model import Assignment, ThreadMethod, as_utc
from listserv.discussions.subjects import is_generic_title, is_reply_subject, normalize_subject


class Group:
    """One tree of the forest while the subject fallback runs."""

    __slots__ = ("key", "root", "members", "dates")

    def __init__(self, key: str, root: Slot) -> None:
        self.key = key
        self.root: Slot | None = root  # None once pruned away or joined
        self.members: dict[str, Assignment] = {}
        self.dates: list[datetime] = []


def preorder(root: Slot) -> list[tuple[Slot, str | None]]:
    """Pre-order containers paired with their nearest *real* ancestor id."""
    out: list[tuple[Slot, str | None]] = []
    stack: list[tuple[Slot, str | None]] = [(root, None)]
    while stack:
        node, real_above = stack.pop()
        out.append((node, real_above))
        if node.children:
            below = node.ident if node.msg is not None else real_above
            stack.extend([(child, below) for child in node.children.values()])
    return out


def method_of(node: Slot) -> ThreadMethod:
    if node.parent is None:
        return ThreadMethod.ROOT
    if node.parent.msg is None:
        return ThreadMethod.PLACEHOLDER
    return ThreadMethod.REFERENCE


def make_group(root: Slot) -> Group:
    """Assign every message of one tree, collect its dates, prune it."""
    group = Group(root.ident, root)
    order = preorder(root)
    for node, real_above in order:
        if node.msg is None:
            continue
        group.members[node.ident] = Assignment(root.ident, real_above, method_of(node))
        when = as_utc(node.msg.date)
        if when is not None:
            group.dates.append(when)
    group.root = prune(root, [node for node, _ in order])
    return group


def prune(root: Slot, order: list[Slot]) -> Slot | None:
    """JWZ step 4 in one top-down pass; returns the new root (or None).

    Placeholders below the root vanish and their children move up to the
    nearest surviving ancestor (the "host").  A placeholder root stays if it
    ends up holding two or more children together, is replaced by its only
    child, or disappears if it has none.  ``order`` is a pre-order of the
    tree, so a host is always known before it is needed: O(n), whatever the
    shape (a children-first splice would move a child once per placeholder
    above it).
    """
    parents = [(node, node.parent) for node in order]
    for node in order:
        node.parent, node.children = None, None
    host: dict[str, Slot] = {root.ident: root}
    for node, parent in parents:
        if parent is None:
            continue  # the root itself
        if node.msg is None:
            host[node.ident] = host[parent.ident]
        else:
            host[node.ident] = node
            attach(host[parent.ident], node)
    if root.msg is not None:
        return root
    children = list(kids(root))
    if len(children) == 1:
        detach(children[0])
        return children[0]
    return root if children else None


def thread_subject(group: Group, prefixes: Sequence[str]) -> str:
    """JWZ: the root's subject, or the earliest child's under a placeholder root.

    After pruning only the root can be a placeholder, so its children are
    real messages.
    """
    root = group.root
    assert root is not None
    if root.msg is None:
        root = min(kids(root), key=entry_key)
    assert root.msg is not None
    title = normalize_subject(root.msg.subject, prefixes)
    return "" if is_generic_title(title) else title


def is_candidate(group: Group, prefixes: Sequence[str]) -> bool:
    """A real root with no references, a dated reply subject and a title that is not generic."""
    root = group.root
    if root is None or root.msg is None or root.msg.date is None:
        return False
    msg = root.msg
    if input_chain(msg) or not is_reply_subject(msg.subject, prefixes):
        return False
    return not is_generic_title(normalize_subject(msg.subject, prefixes))


class SubjectIndex:
    """Per normalised subject, a min-heap of (date, thread key) activity.

    Candidates are consulted in date order, so entries not after the current
    candidate's date can be popped for good; ``latest`` keeps the most recent
    one popped.  Total cost O(dates * log dates) however hostile the dates.
    """

    def __init__(self) -> None:
        self.heaps: dict[str, list[tuple[datetime, str]]] = {}
        self.latest: dict[str, tuple[datetime, str]] = {}
        self.groups: dict[str, Group] = {}

    def publish(self, subject: str, dates: Iterable[datetime], owner: Group) -> None:
        if not subject:
            return
        self.groups[owner.key] = owner
        heap = self.heaps.setdefault(subject, [])
        for when in dates:
            heapq.heappush(heap, (when, owner.key))

    def best(self, subject: str, when: datetime, window: timedelta) -> Group | None:
        """The thread with the latest activity in ``[when - window, when]``."""
        heap = self.heaps.get(subject, [])
        latest = self.latest.get(subject)
        while heap and heap[0][0] <= when:
            entry = heapq.heappop(heap)
            if latest is None or entry > latest:
                latest = entry
        if latest is None:
            return None
        self.latest[subject] = latest
        return self.groups[latest[1]] if latest[0] >= when - window else None


def join_groups(target: Group, group: Group) -> None:
    """Hang ``group``'s tree under ``target``'s root (subject fallback)."""
    assert target.root is not None and group.root is not None
    root = group.root
    attach(target.root, root)
    parent_id = target.root.ident if target.root.msg is not None else None
    for ident, assignment in group.members.items():
        target.members[ident] = replace(assignment, thread_key=target.key)
    target.members[root.ident] = Assignment(target.key, parent_id, ThreadMethod.SUBJECT)
    group.members = {}
    group.root = None


def subject_fallback(groups: list[Group], window: timedelta, prefixes: Sequence[str]) -> None:
    """JWZ step 5, guarded: candidates in date order may join a recent thread."""
    index = SubjectIndex()
    candidates: list[tuple[SortKey, Group]] = []
    for group in groups:
        if is_candidate(group, prefixes):
            assert group.root is not None
            candidates.append((entry_key(group.root), group))
        else:
            index.publish(thread_subject(group, prefixes), group.dates, group)
    candidates.sort(key=lambda item: item[0])
    for (when, _), group in candidates:
        assert group.root is not None and group.root.msg is not None
        subject = normalize_subject(group.root.msg.subject, prefixes)
        target = index.best(subject, when, window)
        if target is not None:
            join_groups(target, group)
        index.publish(subject, group.dates, target or group)
