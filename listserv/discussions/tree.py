"""A stored discussion as a tree: loop-safe linking, JWZ pruning, date order. Pure.

Stored parent links record what each message's own headers claim, so they can form loops
(a replies to b, b replies to a) and a discussion can have several tops (a merge, replies
to different missing messages). :func:`link` keeps every claim it can without a loop: real
messages' claims first, in date order, so the earlier message's claim wins, as in
:func:`listserv.discussions.jwz.build_forest`; then placeholders' presumed links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

_FAR_FUTURE = datetime.max


@dataclass(frozen=True, slots=True)
class Container:
    message_id: str
    parent_id: str | None
    is_placeholder: bool
    date: datetime | None


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the displayed tree, in pre-order. ``parent_id`` is the displayed parent."""

    message_id: str
    parent_id: str | None
    depth: int
    is_placeholder: bool


def _order(container: Container) -> tuple[bool, datetime, str]:
    return (container.is_placeholder, container.date or _FAR_FUTURE, container.message_id)


def link(containers: Iterable[Container]) -> dict[str, str | None]:
    """Each container's parent after loop breaking; None for a top.

    A parent outside the given containers counts as none. Union-find makes the loop check
    O(alpha(n)) per link, whatever the depth.
    """
    items = sorted(containers, key=_order)
    present = {c.message_id for c in items}
    tree: dict[str, str] = {c.message_id: c.message_id for c in items}

    def find(ident: str) -> str:
        while tree[ident] != ident:
            tree[ident] = tree[tree[ident]]
            ident = tree[ident]
        return ident

    parents: dict[str, str | None] = {}
    for container in items:
        parent = container.parent_id
        parents[container.message_id] = None
        if parent is None or parent not in present or parent == container.message_id:
            continue
        mine, theirs = find(container.message_id), find(parent)
        if mine != theirs:  # the container is a top, so a shared tree means a loop
            parents[container.message_id] = parent
            tree[mine] = theirs
    return parents


def _children(parents: dict[str, str | None]) -> dict[str | None, list[str]]:
    kids: dict[str | None, list[str]] = {}
    for ident, parent in parents.items():
        kids.setdefault(parent, []).append(ident)
    return kids


def subtree(containers: Iterable[Container], message_id: str) -> set[str]:
    """``message_id`` and every container below it (placeholders included)."""
    kids = _children(link(containers))
    found: set[str] = set()
    stack = [message_id]
    while stack:
        ident = stack.pop()
        found.add(ident)
        stack.extend(kids.get(ident, ()))
    return found


def _displayed_parents(by_id: dict[str, Container], kids: dict[str | None, list[str]]) -> dict[str, str | None]:
    """JWZ pruning: placeholders below a top vanish, their children move up; a placeholder top
    stays only if it holds two or more children together."""
    shown: dict[str, str | None] = {}
    for top in kids.get(None, ()):
        below: list[str] = []
        stack: list[tuple[str, str]] = [(kid, top) for kid in kids.get(top, ())]
        while stack:
            ident, host = stack.pop()
            if by_id[ident].is_placeholder:
                stack.extend((kid, host) for kid in kids.get(ident, ()))
                continue
            shown[ident] = host
            if host == top:
                below.append(ident)
            stack.extend((kid, ident) for kid in kids.get(ident, ()))
        if not by_id[top].is_placeholder or len(below) >= 2:
            shown[top] = None
        elif len(below) == 1:
            shown[below[0]] = None
    return shown


def tree(containers: Sequence[Container]) -> list[Line]:
    """The displayed tree in pre-order; siblings (and tops) by date, then id."""
    by_id = {c.message_id: c for c in containers}
    shown = _displayed_parents(by_id, _children(link(containers)))
    kids = _children(shown)
    key: dict[str, tuple[datetime, str]] = {}
    for ident in shown:
        container = by_id[ident]
        if not container.is_placeholder:
            key[ident] = (container.date or _FAR_FUTURE, ident)
    for ident in shown:
        if by_id[ident].is_placeholder:  # only kept tops: every child is real
            key[ident] = min(key[kid] for kid in kids[ident])
    lines: list[Line] = []
    stack: list[tuple[str, int]] = [(ident, 0) for ident in sorted(kids.get(None, ()), key=key.__getitem__,
                                                                        reverse=True)]  # fmt: skip
    while stack:
        ident, depth = stack.pop()
        lines.append(Line(ident, shown[ident], depth, by_id[ident].is_placeholder))
        below = sorted(kids.get(ident, ()), key=key.__getitem__, reverse=True)
        stack.extend((kid, depth + 1) for kid in below)
    return lines
