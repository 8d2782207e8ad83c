"""Pure message threading: the JWZ algorithm plus an incremental variant.

Written from the description at https://www.jwz.org/doc/threading.html.  No
I/O, no database, no environment: callers hand in :class:`ThreadInput` values
and get plain frozen dataclasses back.  See ``docs/threading.md`` for the
design notes; the short version:

* Message-IDs are handled *bare* (no angle brackets); surrounding whitespace
  and one pair of angle brackets are stripped defensively everywhere.
* :func:`reference_chain` merges References and In-Reply-To: References gives
  the ancestry, In-Reply-To (when present) is always the direct parent -- it
  is moved to the end of the chain if References has it elsewhere and
  appended if References lacks it.  This never discards either header.
* :func:`build_forest` is JWZ steps 1-5 with four deliberate changes:

  1. a *real* message's parent is decided only by its own headers.  Another
     message's References can give a parent to a placeholder (a message we
     have not seen), but never re-parent a message that arrived and spoke for
     itself: every message's own link is made first (JWZ 1C), presumed links
     between placeholders afterwards (JWZ 1B).  This stops third parties
     hijacking roots and makes presumed links unable to block real ones;
  2. messages are linked in (date, id) order, not input order, so the result
     does not depend on input order (except which copy of a duplicated id
     keeps it): a reference loop is broken against the later message's
     claim, and a placeholder claimed by two chains takes the earlier one;
  3. the subject fallback is *guarded*: only a root with no references and a
     reply subject (``Re: ...``) may join a thread, only one whose
     normalised subject matches and which had activity within
     ``subject_window`` before the message's date.  Non-reply posts never
     merge by subject;
  4. duplicate Message-IDs: the first message keeps the id, each later one is
     threaded under a fresh unique id (``<id>#duplicate-<n>``) and reported in
     :attr:`Forest.duplicates`.

* Everything is iterative.  Reference chains are attacker controlled; no code
  path recurses on them, and nothing walks them per link: while building,
  every link hangs a tree root under another tree, so "would this make a
  loop?" is "are both in the same tree?", answered by union-find.  Building
  is O(total references * alpha) plus O(n log n) for sorting.
* :func:`assign_thread` / :func:`placeholders_to_create` /
  :func:`relink_on_arrival` thread one message at a time against stored
  state (thread keys of known ids), for the live pipeline.
"""

from __future__ import annotations

import enum
import heapq
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from .subjects import is_reply_subject, normalize_subject

__all__ = [
    "DEFAULT_SUBJECT_WINDOW",
    "Assignment",
    "Duplicate",
    "DuplicateMessageError",
    "Forest",
    "KnownPost",
    "RecentThread",
    "Thread",
    "ThreadInput",
    "ThreadMethod",
    "ThreadNode",
    "assign_thread",
    "build_forest",
    "parse_msgids",
    "pick_in_reply_to",
    "placeholders_to_create",
    "reference_chain",
    "relink_on_arrival",
]

DEFAULT_SUBJECT_WINDOW = timedelta(days=14)
_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


class ThreadMethod(enum.Enum):
    """How a message was attached to its discussion."""

    ROOT = "root"  # starts a discussion (no parent)
    REFERENCE = "reference"  # direct parent is a real (stored) message
    PLACEHOLDER = "placeholder"  # direct parent is a missing message
    SUBJECT = "subject"  # no references; joined by the guarded subject fallback


@dataclass(frozen=True, slots=True)
class ThreadInput:
    """The threading-relevant facts of one message (ids bare, no ``<>``)."""

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    date: datetime | None  # naive datetimes are taken to be UTC


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one message goes.

    ``thread_key`` names the discussion: in :func:`build_forest` it is the id
    of the top-most container of the message's tree (a real message or a
    placeholder), before pruning.  ``parent_id`` is the nearest *real*
    ancestor (placeholders skipped) or None.  ``merge_from`` is only set by
    :func:`assign_thread`: keys of other stored discussions that this message
    proves to be the same discussion; the caller merges them into
    ``thread_key``.
    """

    thread_key: str
    parent_id: str | None
    method: ThreadMethod
    merge_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A message whose Message-ID was already taken in the batch."""

    original_id: str
    assigned_id: str


@dataclass(frozen=True, slots=True)
class ThreadNode:
    """One container of a pruned thread tree, in pre-order.

    ``parent_id`` is the container parent and may be a placeholder id.
    """

    message_id: str
    parent_id: str | None
    depth: int
    is_placeholder: bool


@dataclass(frozen=True, slots=True)
class Thread:
    """One discussion.  ``nodes`` is a flat pre-order walk (siblings by date).

    ``root_id`` is the root of the *pruned* tree: a real message, or a
    placeholder that holds two or more children together.  ``key`` equals
    the ``thread_key`` of every member's :class:`Assignment`.
    """

    key: str
    root_id: str
    nodes: tuple[ThreadNode, ...]

    def walk(self) -> Iterator[ThreadNode]:
        """Depth-first pre-order walk; ``node.depth`` gives the indentation."""
        return iter(self.nodes)

    def message_ids(self) -> frozenset[str]:
        """Ids of the real messages in the thread (placeholders excluded)."""
        return frozenset(n.message_id for n in self.nodes if not n.is_placeholder)


@dataclass(frozen=True, slots=True)
class Forest:
    """Result of :func:`build_forest`."""

    threads: list[Thread]
    assignment: dict[str, Assignment]
    duplicates: tuple[Duplicate, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class KnownPost:
    """A stored container (real post or placeholder) for the incremental API."""

    message_id: str
    thread_key: str
    is_placeholder: bool


@dataclass(frozen=True, slots=True)
class RecentThread:
    """A stored discussion that a reply-subject message could join.

    ``root_message_id``, when the caller knows it, becomes the ``parent_id``
    of a subject-joined message (as :func:`build_forest` does).
    """

    thread_key: str
    last_activity: datetime
    root_message_id: str | None = None


class DuplicateMessageError(ValueError):
    """The message's id is already stored as a real post."""


# --------------------------------------------------------------------------
# Header helpers
# --------------------------------------------------------------------------

_BRACKETED = re.compile(r"<([^<>]*)>")
_SEPARATORS = re.compile(r"[\s()\[\]\",;]+")


def _is_msgid(candidate: str) -> bool:
    """RFC 5322 shape check: ``left@right``, both sides non-empty."""
    at = candidate.find("@")
    return 0 < at < len(candidate) - 1


def parse_msgids(header_value: str | None) -> list[str]:
    """Extract bare Message-IDs from a Message-ID/In-Reply-To/References value.

    Tolerant of junk: takes every ``<...>`` group (innermost, so ``<<a@b>>``
    works), deletes whitespace inside it (folded headers), and keeps only
    ``left@right`` shapes -- so git-send-email's infamous ``<yes>`` is
    dropped.  If the value has no angle brackets at all, bare ``x@y`` tokens
    are accepted.  Order is preserved; duplicates are kept (see
    :func:`reference_chain`).
    """
    if not header_value:
        return []
    groups = _BRACKETED.findall(header_value)
    if groups:
        cleaned = ("".join(group.split()) for group in groups)
        return [ident for ident in cleaned if _is_msgid(ident)]
    if "<" in header_value or ">" in header_value:
        return []
    return [token for token in _SEPARATORS.split(header_value) if _is_msgid(token)]


def pick_in_reply_to(header_value: str | None, references: Sequence[str] = ()) -> str | None:
    """Choose the parent id from an In-Reply-To value.

    JWZ takes the first id.  Old MUAs put addresses in In-Reply-To
    (``<joe@example.com>'s message of ...``), so an id that References
    corroborates is preferred; otherwise the first id wins.
    """
    ids = parse_msgids(header_value)
    if not ids:
        return None
    corroborated = set(references)
    for ident in ids:
        if ident in corroborated:
            return ident
    return ids[0]


def _clean(ident: str | None) -> str:
    """Strip whitespace and one pair of surrounding angle brackets."""
    if not ident:
        return ""
    text = ident.strip()
    if text[:1] == "<" and text[-1:] == ">":
        text = text[1:-1].strip()
    return text


def reference_chain(
    in_reply_to: str | None,
    references: Sequence[str],
    *,
    message_id: str | None = None,
) -> tuple[str, ...]:
    """Ancestor chain, oldest first, nearest parent last.

    References is the chain, deduplicated (first occurrence wins), with empty
    ids and ``message_id`` (self references) removed.  In-Reply-To, when
    present, is the direct parent: if References lists it elsewhere it is
    *moved* to the end, if References lacks it it is *appended*.  Rationale:
    In-Reply-To is written by the replier's own client for exactly this
    purpose, while References is copied, truncated, reordered or mangled by
    intermediaries (gmane rewrote In-Reply-To but not References; some
    clients reverse References).  Keeping both means the other ids still pull
    the message into the right discussion even when the parent is missing.
    """
    own = _clean(message_id)
    parent = _clean(in_reply_to)
    seen = {"", own, parent}
    chain: list[str] = []
    for ref in references:
        ident = _clean(ref)
        if ident not in seen:
            seen.add(ident)
            chain.append(ident)
    if parent and parent != own:
        chain.append(parent)
    return tuple(chain)


def _chain_of(msg: ThreadInput) -> tuple[str, ...]:
    return reference_chain(msg.in_reply_to, msg.references, message_id=msg.message_id)


def _utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# Containers and loop-safe linking
# --------------------------------------------------------------------------


class _Container:
    """Mutable tree node used while building; never escapes this module."""

    __slots__ = ("ident", "msg", "parent", "children", "tree", "size")

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.msg: ThreadInput | None = None
        self.parent: _Container | None = None
        self.children: dict[str, _Container] | None = None  # lazily created
        self.tree: _Container = self  # union-find link: same tree <=> same find()
        self.size = 1


_NO_KIDS: tuple[_Container, ...] = ()


def _kids(node: _Container) -> Collection[_Container]:
    return node.children.values() if node.children else _NO_KIDS


_SortKey = tuple[datetime, str]


def _entry_key(node: _Container) -> _SortKey:
    assert node.msg is not None
    return (_utc(node.msg.date) or _FAR_FUTURE, node.ident)


def _detach(node: _Container) -> None:
    if node.parent is not None:
        assert node.parent.children is not None
        del node.parent.children[node.ident]
        node.parent = None


def _attach(parent: _Container, node: _Container) -> None:
    _detach(node)
    if parent.children is None:
        parent.children = {}
    parent.children[node.ident] = node
    node.parent = parent


def _find(node: _Container) -> _Container:
    """Union-find representative of ``node``'s tree (path halving)."""
    while node.tree is not node:
        node.tree = node.tree.tree
        node = node.tree
    return node


def _link(parent: _Container, node: _Container) -> bool:
    """Make the *root* ``node`` a child of ``parent`` unless that is a loop.

    While the forest is being built containers are only ever linked, never
    cut, so trees only merge and union-find tracks them.  ``node`` is the
    root of its tree, so it is an ancestor-or-self of ``parent`` exactly when
    both are in the same tree: an O(alpha(n)) check however deep the chain.
    """
    assert node.parent is None
    mine, theirs = _find(node), _find(parent)
    if mine is theirs:
        return False
    _attach(parent, node)
    if mine.size < theirs.size:
        mine, theirs = theirs, mine
    theirs.tree = mine
    mine.size += theirs.size
    return True


def _container(table: dict[str, _Container], ident: str) -> _Container:
    node = table.get(ident)
    if node is None:
        node = table[ident] = _Container(ident)
    return node


def _link_chain(table: dict[str, _Container], chain: Sequence[str]) -> None:
    """JWZ step 1B: link consecutive chain ids, parent before child.

    Only a parentless *placeholder* is given a parent (real messages speak
    for themselves), and never when that would create a loop.
    """
    prev: _Container | None = None
    for ident in chain:
        node = _container(table, ident)
        if prev is not None and node.parent is None and node.msg is None:
            _link(prev, node)
        prev = node


class _Registry:
    """JWZ step 1A: the id table, with fresh ids for duplicate Message-IDs."""

    def __init__(self, taken: set[str]) -> None:
        self.table: dict[str, _Container] = {}
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

    def register(self, msg: ThreadInput) -> tuple[_Container, tuple[str, ...]]:
        ident = _clean(msg.message_id)
        if not ident:
            raise ValueError("ThreadInput.message_id must be non-empty")
        if ident in self.table:
            ident = self._fresh_id(ident)
        node = self.table[ident] = _Container(ident)
        node.msg = msg
        return node, _chain_of(msg)


def _link_own(table: dict[str, _Container], node: _Container, chain: tuple[str, ...]) -> None:
    """JWZ step 1C: a message's own parent is the last id of its chain.

    Runs for every message before any presumed link exists, so only a
    genuine loop between messages' own claims can reject the link (the
    earlier message's claim has won).
    """
    if chain:
        _link(_container(table, chain[-1]), node)


# --------------------------------------------------------------------------
# Per-tree bookkeeping, pruning, subject fallback
# --------------------------------------------------------------------------


class _Group:
    """One tree of the forest while the subject fallback runs."""

    __slots__ = ("key", "root", "members", "dates")

    def __init__(self, key: str, root: _Container) -> None:
        self.key = key
        self.root: _Container | None = root  # None once pruned away or joined
        self.members: dict[str, Assignment] = {}
        self.dates: list[datetime] = []


def _preorder(root: _Container) -> list[tuple[_Container, str | None]]:
    """Pre-order containers paired with their nearest *real* ancestor id."""
    out: list[tuple[_Container, str | None]] = []
    stack: list[tuple[_Container, str | None]] = [(root, None)]
    while stack:
        node, real_above = stack.pop()
        out.append((node, real_above))
        if node.children:
            below = node.ident if node.msg is not None else real_above
            stack.extend([(child, below) for child in node.children.values()])
    return out


def _method(node: _Container) -> ThreadMethod:
    if node.parent is None:
        return ThreadMethod.ROOT
    if node.parent.msg is None:
        return ThreadMethod.PLACEHOLDER
    return ThreadMethod.REFERENCE


def _make_group(root: _Container) -> _Group:
    """Assign every message of one tree, collect its dates, prune it."""
    group = _Group(root.ident, root)
    order = _preorder(root)
    for node, real_above in order:
        if node.msg is None:
            continue
        group.members[node.ident] = Assignment(root.ident, real_above, _method(node))
        when = _utc(node.msg.date)
        if when is not None:
            group.dates.append(when)
    group.root = _prune(root, [node for node, _ in order])
    return group


def _prune(root: _Container, order: list[_Container]) -> _Container | None:
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
    host: dict[str, _Container] = {root.ident: root}
    for node, parent in parents:
        if parent is None:
            continue  # the root itself
        if node.msg is None:
            host[node.ident] = host[parent.ident]
        else:
            host[node.ident] = node
            _attach(host[parent.ident], node)
    if root.msg is not None:
        return root
    kids = list(_kids(root))
    if len(kids) == 1:
        _detach(kids[0])
        return kids[0]
    return root if kids else None


def _thread_subject(group: _Group, prefixes: Sequence[str]) -> str:
    """JWZ: the root's subject, or the earliest child's under a placeholder root.

    After pruning only the root can be a placeholder, so its children are
    real messages.
    """
    root = group.root
    assert root is not None
    if root.msg is None:
        root = min(_kids(root), key=_entry_key)
    assert root.msg is not None
    return normalize_subject(root.msg.subject, prefixes)


def _is_candidate(group: _Group, prefixes: Sequence[str]) -> bool:
    """A real root with no references, a dated reply subject and a title."""
    root = group.root
    if root is None or root.msg is None or root.msg.date is None:
        return False
    msg = root.msg
    if _chain_of(msg) or not is_reply_subject(msg.subject, prefixes):
        return False
    return bool(normalize_subject(msg.subject, prefixes))


class _SubjectIndex:
    """Per normalised subject, a min-heap of (date, thread key) activity.

    Candidates are consulted in date order, so entries not after the current
    candidate's date can be popped for good; ``latest`` keeps the most recent
    one popped.  Total cost O(dates * log dates) however hostile the dates.
    """

    def __init__(self) -> None:
        self.heaps: dict[str, list[tuple[datetime, str]]] = {}
        self.latest: dict[str, tuple[datetime, str]] = {}
        self.groups: dict[str, _Group] = {}

    def publish(self, subject: str, dates: Iterable[datetime], owner: _Group) -> None:
        if not subject:
            return
        self.groups[owner.key] = owner
        heap = self.heaps.setdefault(subject, [])
        for when in dates:
            heapq.heappush(heap, (when, owner.key))

    def best(self, subject: str, when: datetime, window: timedelta) -> _Group | None:
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


def _join(target: _Group, group: _Group) -> None:
    """Hang ``group``'s tree under ``target``'s root (subject fallback)."""
    assert target.root is not None and group.root is not None
    root = group.root
    _attach(target.root, root)
    parent_id = target.root.ident if target.root.msg is not None else None
    for ident, assignment in group.members.items():
        target.members[ident] = replace(assignment, thread_key=target.key)
    target.members[root.ident] = Assignment(target.key, parent_id, ThreadMethod.SUBJECT)
    group.members = {}
    group.root = None


def _subject_fallback(groups: list[_Group], window: timedelta, prefixes: Sequence[str]) -> None:
    """JWZ step 5, guarded: candidates in date order may join a recent thread."""
    index = _SubjectIndex()
    candidates: list[tuple[_SortKey, _Group]] = []
    for group in groups:
        if _is_candidate(group, prefixes):
            assert group.root is not None
            candidates.append((_entry_key(group.root), group))
        else:
            index.publish(_thread_subject(group, prefixes), group.dates, group)
    candidates.sort(key=lambda item: item[0])
    for (when, _), group in candidates:
        assert group.root is not None and group.root.msg is not None
        subject = normalize_subject(group.root.msg.subject, prefixes)
        target = index.best(subject, when, window)
        if target is not None:
            _join(target, group)
        index.publish(subject, group.dates, target or group)


# --------------------------------------------------------------------------
# Freezing and the batch entry point
# --------------------------------------------------------------------------

def _sort_keys(order: list[_Container]) -> dict[str, _SortKey]:
    """Message date (then id); a placeholder sorts like its earliest child."""
    keys: dict[str, _SortKey] = {}
    for node in reversed(order):
        if node.msg is not None:
            keys[node.ident] = (_utc(node.msg.date) or _FAR_FUTURE, node.ident)
        else:
            kids = [keys[kid.ident] for kid in _kids(node)]
            keys[node.ident] = min(kids, default=(_FAR_FUTURE, node.ident))
    return keys


def _freeze(group: _Group) -> tuple[_SortKey, Thread]:
    assert group.root is not None
    keys = _sort_keys([node for node, _ in _preorder(group.root)])
    nodes: list[ThreadNode] = []
    stack: list[tuple[_Container, str | None, int]] = [(group.root, None, 0)]
    while stack:
        node, parent_id, depth = stack.pop()
        nodes.append(ThreadNode(node.ident, parent_id, depth, node.msg is None))
        if node.children:
            kids = sorted(node.children.values(), key=lambda kid: keys[kid.ident], reverse=True)
            stack.extend([(kid, node.ident, depth + 1) for kid in kids])
    return keys[group.root.ident], Thread(group.key, group.root.ident, tuple(nodes))


def build_forest(
    messages: Iterable[ThreadInput],
    *,
    subject_window: timedelta = DEFAULT_SUBJECT_WINDOW,
    prefixes: Sequence[str] = (),
) -> Forest:
    """Thread a batch of messages (JWZ, with the changes listed in the module doc).

    The result does not depend on input order, except that the first copy of
    a duplicated Message-ID keeps the id.  Raises ValueError for an empty
    ``message_id`` (synthesise one, e.g. from a hash of the message).
    """
    msgs = list(messages)
    registry = _Registry({_clean(msg.message_id) for msg in msgs})
    table = registry.table
    entries = [registry.register(msg) for msg in msgs]
    entries.sort(key=lambda entry: _entry_key(entry[0]))
    for node, chain in entries:  # authoritative links first ...
        _link_own(table, node, chain)
    for _, chain in entries:  # ... then presumed links between placeholders
        _link_chain(table, chain)
    roots = [node for node in table.values() if node.parent is None]
    groups = [_make_group(root) for root in roots]
    groups = [group for group in groups if group.root is not None]
    _subject_fallback(groups, subject_window, prefixes)
    live = sorted((_freeze(g) for g in groups if g.root is not None), key=lambda kt: kt[0])
    assignment: dict[str, Assignment] = {}
    for group in groups:
        assignment.update(group.members)
    return Forest([thread for _, thread in live], assignment, tuple(registry.duplicates))


# --------------------------------------------------------------------------
# Incremental threading for the live pipeline
# --------------------------------------------------------------------------


def relink_on_arrival(msg_id: str, known_placeholder: KnownPost | None) -> str | None:
    """The thread key a newly arrived message inherits from its placeholder.

    When a message arrives whose id is stored as a placeholder, the message
    *takes the placeholder's place*: same id, same discussion, and the
    replies already hanging off the placeholder stay attached to it.  The
    caller turns the placeholder row into the real post.  Returns None when
    there is no placeholder.  Raises :class:`DuplicateMessageError` if the id
    is stored as a real post (the caller decides: drop, or store under a
    fresh id), and ValueError if ``known_placeholder`` is for another id.
    """
    if known_placeholder is None:
        return None
    if _clean(known_placeholder.message_id) != _clean(msg_id):
        raise ValueError("known_placeholder describes a different message id")
    if not known_placeholder.is_placeholder:
        raise DuplicateMessageError(f"message {msg_id!r} is already stored")
    return known_placeholder.thread_key


@dataclass(frozen=True, slots=True)
class _ChainView:
    keys: tuple[str, ...]  # thread keys touched, top-most first
    unknown: tuple[str, ...]  # chain ids to store as placeholders, oldest first
    real_parent: str | None  # nearest real ancestor in the chain


def _view_chain(chain: Sequence[str], known: Mapping[str, KnownPost]) -> _ChainView:
    """Walk the chain from the parent upwards, stopping at the first real post.

    Ids above a stored real post are not looked at: that post's own headers
    already decided its ancestry (the same rule as :func:`build_forest`).
    Placeholders do not stop the walk -- their ancestry was unknown, and this
    chain is new evidence about it.
    """
    keys: dict[str, None] = {}  # insertion-ordered set
    unknown: list[str] = []
    real_parent: str | None = None
    for ident in reversed(chain):
        post = known.get(ident)
        if post is None:
            unknown.append(ident)
            continue
        keys.setdefault(post.thread_key)
        if not post.is_placeholder:
            real_parent = ident
            break
    return _ChainView(tuple(reversed(keys)), tuple(reversed(unknown)), real_parent)


def placeholders_to_create(msg: ThreadInput, known: Mapping[str, KnownPost]) -> tuple[str, ...]:
    """Ids in ``msg``'s chain the caller must store as placeholders.

    They go into the discussion :func:`assign_thread` returns, so two replies
    to the same missing message share a discussion.  Oldest first.
    """
    return _view_chain(_chain_of(msg), known).unknown


def _subject_join(
    msg: ThreadInput,
    recent_by_subject: Mapping[str, RecentThread],
    window: timedelta,
    prefixes: Sequence[str],
) -> RecentThread | None:
    when = _utc(msg.date)
    if when is None or not is_reply_subject(msg.subject, prefixes):
        return None
    subject = normalize_subject(msg.subject, prefixes)
    recent = recent_by_subject.get(subject) if subject else None
    if recent is None:
        return None
    last = _utc(recent.last_activity)
    assert last is not None
    return recent if last >= when - window else None


def _merge_list(chosen: str, keys: Iterable[str]) -> tuple[str, ...]:
    """Distinct keys other than ``chosen``, first occurrence order."""
    return tuple(key for key in dict.fromkeys(keys) if key != chosen)


def assign_thread(
    msg: ThreadInput,
    known: Mapping[str, KnownPost],
    recent_by_subject: Mapping[str, RecentThread],
    *,
    subject_window: timedelta = DEFAULT_SUBJECT_WINDOW,
    prefixes: Sequence[str] = (),
) -> Assignment:
    """Thread one message against stored state.

    ``known`` must cover ``msg.message_id`` and the ids of its reference
    chain that are stored.  ``recent_by_subject`` maps a normalised subject
    (see :func:`normalize_subject`, same ``prefixes``) to a stored
    discussion.  Rules (see ``docs/threading.md``):

    * the message's own placeholder (if any) is inherited, see
      :func:`relink_on_arrival`;
    * the thread keys touched by the chain (walking up from the parent,
      stopping at the first real post) plus the own placeholder's key are
      one discussion: the top-most key is chosen, the rest are returned in
      ``merge_from``; with nothing stored, the key is the oldest chain id
      (the placeholder the caller creates) or the message's own id;
    * no chain: the guarded subject fallback may join ``recent_by_subject``;
      it matches :func:`build_forest` whenever ``last_activity`` is not after
      the message's date, and is lenient (joins) when it is.
    """
    own = relink_on_arrival(msg.message_id, known.get(_clean(msg.message_id)))
    chain = _chain_of(msg)
    if chain:
        view = _view_chain(chain, known)
        keys = view.keys + ((own,) if own is not None else ())
        chosen = keys[0] if keys else chain[0]
        parent = known.get(chain[-1])
        method = ThreadMethod.PLACEHOLDER
        if parent is not None and not parent.is_placeholder:
            method = ThreadMethod.REFERENCE
        return Assignment(chosen, view.real_parent, method, _merge_list(chosen, keys))
    recent = _subject_join(msg, recent_by_subject, subject_window, prefixes)
    if recent is not None:
        merge = _merge_list(recent.thread_key, (own,) if own is not None else ())
        return Assignment(recent.thread_key, recent.root_message_id, ThreadMethod.SUBJECT, merge)
    return Assignment(own if own is not None else _clean(msg.message_id), None, ThreadMethod.ROOT)
