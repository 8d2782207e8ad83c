"""JWZ's containers: one slot per Message-ID, linked into trees without ever making a loop. Pure.

While the forest is built, slots are only ever linked, never cut, so trees only merge and
union-find answers "would this link make a loop?" in O(alpha(n)), however deep the chain.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from listserv.discussions.ids import bare_id, input_chain
from listserv.discussions.model import FAR_FUTURE, Duplicate, ThreadInput, as_utc


class Slot:
    """Mutable tree node used while building; never escapes this module."""

    __slots__ = ("ident", "msg", "parent", "children", "tree", "size")

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.msg: ThreadInput | None = None
        self.parent: Slot | None = None
        self.children: dict[str, Slot] | None = None  # lazily created
        self.tree: Slot = self  # union-find link: same tree <=> same find()
        self.size = 1


NO_KIDS: tuple[Slot, ...] = ()


def kids(node: Slot) -> Collection[Slot]:
    return node.children.values() if node.children else NO_KIDS


SortKey = tuple[datetime, str]


def entry_key(node: Slot) -> SortKey:
    assert node.msg is not None
    return (as_utc(node.msg.date) or FAR_FUTURE, node.ident)


def detach(node: Slot) -> None:
    if node.parent is not None:
        assert node.parent.children is not None
        del node.parent.children[node.ident]
        node.parent = None


def attach(parent: Slot, node: Slot) -> None:
    detach(node)
    if parent.children is None:
        parent.children = {}
    parent.children[node.ident] = node
    node.parent = parent


def find_root(node: Slot) -> Slot:
    """Union-find representative of ``node``'s tree (path halving)."""
    while node.tree is not node:
        node.tree = node.tree.tree
        node = node.tree
    return node


def link_under(parent: Slot, node: Slot) -> bool:
    """Make the *root* ``node`` a child of ``parent`` unless that is a loop.

    While the forest is being built containers are only ever linked, never
    cut, so trees only merge and union-find tracks them.  ``node`` is the
    root of its tree, so it is an ancestor-or-self of ``parent`` exactly when
    both are in the same tree: an O(alpha(n)) check however deep the chain.
    """
    assert node.parent is None
    mine, theirs = find_root(node), find_root(parent)
    if mine is theirs:
        return False
    attach(parent, node)
    if mine.size < theirs.size:
        mine, theirs = theirs, mine
    theirs.tree = mine
    mine.size += theirs.size
    return True


def slot_for(table: dict[str, Slot], ident: str) -> Slot:
    node = table.get(ident)
    if node is None:
        node = table[ident] = Slot(ident)
    return node


def link_chain(table: dict[str, Slot], chain: Sequence[str]) -> None:
    """JWZ step 1B: link consecutive chain ids, parent before child.

    Only a parentless *placeholder* is given a parent (real messages speak
    for themselves), and never when that would create a loop.
    """
    prev: Slot | None = None
    for ident in chain:
        node = slot_for(table, ident)
        if prev is not None and node.parent is None and node.msg is None:
            link_under(prev, node)
        prev = node


class Registry:
    """JWZ step 1A: the id table, with fresh ids for duplicate Message-IDs."""

    def __init__(self, taken: set[str]) -> None:
        self.table: dict[str, Slot] = {}
        self.taken = taken  # every id the input uses, so fresh ids never clash
        self.duplicates: list[Duplicate] = []
        self._counters: dict[str, int] = {}

    def _fresh_id(self, ident: str) -> str:
        """``<ident>#duplicate-<n>``, n counting up per original id."""
        counter = self._counters.get(ident, 0)
        while True:
            counter += 1
            fresh = f"{ident}#duplicate-{counter}"
            if fresh not in self.taken and fresh not in self.table:
                self._counters[ident] = counter
                self.duplicates.append(Duplicate(ident, fresh))
                return fresh

    def register(self, msg: ThreadInput) -> tuple[Slot, tuple[str, ...]]:
        ident = bare_id(msg.message_id)
        if not ident:
            raise ValueError("ThreadInput.message_id must be non-empty")
        if ident in self.table:
            ident = self._fresh_id(ident)
        node = self.table[ident] = Slot(ident)
        node.msg = msg
        return node, input_chain(msg)


def link_own(table: dict[str, Slot], node: Slot, chain: tuple[str, ...]) -> None:
    """JWZ step 1C: a message's own parent is the last id of its chain.

    Runs for every message before any presumed link exists, so only a
    genuine loop between messages' own claims can reject the link (the
    earlier message's claim has won).
    """
    if chain:
        link_under(slot_for(table, chain[-1]), node)
