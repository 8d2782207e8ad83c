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
* :func:`build_forest` is JWZ steps 1-5 with three deliberate changes:

  1. a *real* message's parent is decided only by its own headers.  Another
     message's References can give a parent to a placeholder (a message we
     have not seen), but never re-parent a message that arrived and spoke for
     itself.  This makes the tree independent of arrival order (apart from
     loop tie-breaks) and stops third parties hijacking roots;
  2. the subject fallback is *guarded*: only a root with no references and a
     reply subject (``Re: ...``) may join a thread, only one whose
     normalised subject matches and which had activity within
     ``subject_window`` before the message's date.  Non-reply posts never
     merge by subject;
  3. duplicate Message-IDs: the first message keeps the id, each later one is
     threaded under a fresh unique id (``<id>#duplicate-<n>``) and reported in
     :attr:`Forest.duplicates`.

* Everything is iterative.  Reference chains are attacker controlled; no code
  path recurses on them, and the loop check walks up from the new parent and
  down from the new child *in lock step*, so it costs O(min(depth,
  subtree size)) rather than O(depth) per link.
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
_BARE = re.compile(r"[^\s<>()\[\]\",;:]+@[^\s<>()\[\]\",;:]+")


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
    return [token for token in _BARE.findall(header_value) if _is_msgid(token)]


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

    __slots__ = ("ident", "msg", "parent", "children")

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.msg: ThreadInput | None = None
        self.parent: _Container | None = None
        self.children: dict[str, _Container] | None = None  # lazily created


_NO_KIDS: tuple[_Container, ...] = ()


def _kids(node: _Container) -> Collection[_Container]:
    return node.children.values() if node.children else _NO_KIDS


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


def _next_descendant(pending: list[Iterator[_Container]]) -> _Container | None:
    """One step of an iterative pre-order walk driven by ``pending``."""
    while pending:
        child = next(pending[-1], None)
        if child is None:
            pending.pop()
            continue
        pending.append(iter(_kids(child)))
        return child
    return None


def _is_ancestor_or_self(candidate: _Container, node: _Container) -> bool:
    """True if ``candidate`` is ``node`` or one of its ancestors.

    Walks up from ``node`` and down through ``candidate``'s subtree one step
    each per iteration; whichever search finishes first answers, so the cost
    is O(min(depth of node, size of candidate's subtree)).
    """
    if candidate is node:
        return True
    up = node.parent
    pending = [iter(_kids(candidate))]
    while True:
        if up is None:
            return False
        if up is candidate:
            return True
        up = up.parent
        down = _next_descendant(pending)
        if down is None:
            return False
        if down is node:
            return True


def _container(table: dict[str, _Container], ident: str) -> _Container:
    node = table.get(ident)
    if node is None:
        node = table[ident] = _Container(ident)
    return node


def _link_chain(table: dict[str, _Container], chain: Sequence[str]) -> _Container | None:
    """JWZ step 1B: link consecutive chain ids; return the nearest parent.

    Only a parentless *placeholder* is given a parent (real messages speak
    for themselves), and never when that would create a loop.
    """
    prev: _Container | None = None
    for ident in chain:
        node = _container(table, ident)
        if (
            prev is not None
            and node.parent is None
            and node.msg is None
            and not _is_ancestor_or_self(node, prev)
        ):
            _attach(prev, node)
        prev = node
    return prev


def _fresh_id(ident: str, taken: set[str], table: Mapping[str, _Container]) -> str:
    """``<ident>#duplicate-<n>`` with the smallest n not used anywhere."""
    counter = 1
    while f"{ident}#duplicate-{counter}" in taken or f"{ident}#duplicate-{counter}" in table:
        counter += 1
    fresh = f"{ident}#duplicate-{counter}"
    taken.add(fresh)
    return fresh


def _register(
    table: dict[str, _Container], msg: ThreadInput, taken: set[str], dups: list[Duplicate]
) -> tuple[_Container, tuple[str, ...]]:
    """JWZ step 1A: a container for the message (fresh id for a duplicate)."""
    ident = _clean(msg.message_id)
    if not ident:
        raise ValueError("ThreadInput.message_id must be non-empty")
    if ident in table:
        fresh = _fresh_id(ident, taken, table)
        dups.append(Duplicate(ident, fresh))
        ident = fresh
    node = table[ident] = _Container(ident)
    node.msg = msg
    return node, _chain_of(msg)


def _link_own(table: dict[str, _Container], node: _Container, chain: tuple[str, ...]) -> None:
    """JWZ step 1C: a message's own parent is the last id of its chain.

    Runs for every message before any presumed link exists, so ``node`` is
    still a root here and only a genuine loop between messages' own claims
    can reject the link (the earlier message's claim has won).
    """
    if chain:
        parent = _container(table, chain[-1])
        if not _is_ancestor_or_self(node, parent):
            _attach(parent, node)


# --------------------------------------------------------------------------
# Per-tree bookkeeping, pruning, subject fallback
# --------------------------------------------------------------------------


class _Group:
    """One tree of the forest while the subject fallback runs."""

    __slots__ = ("key", "root", "members", "dates", "seen", "subjects")

    def __init__(self, key: str, root: _Container) -> None:
        self.key = key
        self.root: _Container | None = root
        self.members: dict[str, Assignment] = {}
        self.dates: list[datetime] = []  # min-heap of not yet consumed dates
        self.seen: datetime | None = None  # latest consumed date
        self.subjects: set[str] = set()


def _preorder(root: _Container) -> list[tuple[_Container, str | None]]:
    """Pre-order containers paired with their nearest *real* ancestor id."""
    out: list[tuple[_Container, str | None]] = []
    stack: list[tuple[_Container, str | None]] = [(root, None)]
    while stack:
        node, real_above = stack.pop()
        out.append((node, real_above))
        below = node.ident if node.msg is not None else real_above
        stack.extend((child, below) for child in _kids(node))
    return out


def _method(node: _Container) -> ThreadMethod:
    if node.parent is None:
        return ThreadMethod.ROOT
    if node.parent.msg is None:
        return ThreadMethod.PLACEHOLDER
    return ThreadMethod.REFERENCE


def _make_group(root: _Container, prefixes: Sequence[str]) -> _Group:
    """Assign every message of one tree, collect dates/subjects, prune."""
    group = _Group(root.ident, root)
    order = _preorder(root)
    for node, real_above in order:
        if node.msg is None:
            continue
        group.members[node.ident] = Assignment(root.ident, real_above, _method(node))
        when = _utc(node.msg.date)
        if when is not None:
            group.dates.append(when)
        group.subjects.add(normalize_subject(node.msg.subject, prefixes))
    heapq.heapify(group.dates)
    group.root = _prune(root, [node for node, _ in order])
    return group


def _prune(root: _Container, order: list[_Container]) -> _Container | None:
    """JWZ step 4, bottom-up without recursion; returns the new root.

    An empty container with no children is dropped; one with children is
    replaced by them, except at the root where it stays if it holds two or
    more children together (a single child is promoted to root).
    """
    promoted: _Container | None = None
    for node in reversed(order):  # reversed pre-order: children first
        if node.msg is not None:
            continue
        kids = list(_kids(node))
        if node.parent is not None:
            for kid in kids:
                _attach(node.parent, kid)
            _detach(node)
        elif len(kids) == 1:
            _detach(kids[0])
            promoted = kids[0]
        elif kids:
            promoted = node
    if root.msg is not None:
        return root
    return promoted


def _latest_activity(group: _Group, when: datetime) -> datetime | None:
    """Latest date in ``group`` not after ``when`` (``when`` never decreases)."""
    while group.dates and group.dates[0] <= when:
        popped = heapq.heappop(group.dates)
        if group.seen is None or popped > group.seen:
            group.seen = popped
    return group.seen


def _is_candidate(group: _Group, prefixes: Sequence[str]) -> bool:
    """A real root with no references, a reply subject and a date."""
    root = group.root
    if root is None or root.msg is None or root.msg.date is None:
        return False
    if _chain_of(root.msg):
        return False
    msg = root.msg
    return is_reply_subject(msg.subject, prefixes) and bool(
        normalize_subject(msg.subject, prefixes)
    )


def _best_target(
    index: Mapping[str, Mapping[str, _Group]],
    msg: ThreadInput,
    window: timedelta,
    prefixes: Sequence[str],
) -> _Group | None:
    when = _utc(msg.date)
    assert when is not None  # guaranteed by _is_candidate
    best: _Group | None = None
    best_seen: datetime | None = None
    for group in index.get(normalize_subject(msg.subject, prefixes), {}).values():
        seen = _latest_activity(group, when)
        if seen is None or seen < when - window:
            continue
        if best_seen is None or seen > best_seen:
            best, best_seen = group, seen
    return best


def _index(index: dict[str, dict[str, _Group]], subjects: Iterable[str], group: _Group) -> None:
    for subject in subjects:
        if subject:
            index.setdefault(subject, {})[group.key] = group


def _join(target: _Group, group: _Group) -> None:
    """Hang ``group``'s tree under ``target``'s root (subject fallback)."""
    assert target.root is not None and group.root is not None
    root = group.root
    _attach(target.root, root)
    parent_id = target.root.ident if target.root.msg is not None else None
    for ident, assignment in group.members.items():
        target.members[ident] = replace(assignment, thread_key=target.key)
    target.members[root.ident] = Assignment(target.key, parent_id, ThreadMethod.SUBJECT)
    for when in group.dates:
        heapq.heappush(target.dates, when)
    target.subjects |= group.subjects
    group.root = None


def _subject_fallback(groups: list[_Group], window: timedelta, prefixes: Sequence[str]) -> None:
    """JWZ step 5, guarded: candidates in date order may join a recent thread."""
    index: dict[str, dict[str, _Group]] = {}
    candidates: list[tuple[datetime, str, _Group]] = []
    for group in groups:
        if _is_candidate(group, prefixes):
            assert group.root is not None and group.root.msg is not None
            when = _utc(group.root.msg.date)
            assert when is not None
            candidates.append((when, group.key, group))
        else:
            _index(index, group.subjects, group)
    candidates.sort(key=lambda item: (item[0], item[1]))
    for _, _, group in candidates:
        assert group.root is not None and group.root.msg is not None
        target = _best_target(index, group.root.msg, window, prefixes)
        subjects = set(group.subjects)
        if target is None:
            _index(index, subjects, group)
        else:
            _join(target, group)
            _index(index, subjects, target)


# --------------------------------------------------------------------------
# Freezing and the batch entry point
# --------------------------------------------------------------------------

_SortKey = tuple[datetime, str]


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
        kids = sorted(_kids(node), key=lambda kid: keys[kid.ident], reverse=True)
        stack.extend((kid, node.ident, depth + 1) for kid in kids)
    return keys[group.root.ident], Thread(group.key, group.root.ident, tuple(nodes))


def _entry_key(node: _Container) -> _SortKey:
    assert node.msg is not None
    return (_utc(node.msg.date) or _FAR_FUTURE, node.ident)


def build_forest(
    messages: Iterable[ThreadInput],
    *,
    subject_window: timedelta = DEFAULT_SUBJECT_WINDOW,
    prefixes: Sequence[str] = (),
) -> Forest:
    """Thread a batch of messages (JWZ, with the changes listed in the module doc).

    Deterministic for a given input order; order only matters for breaking
    reference loops (the earlier link wins) and for which copy of a
    duplicated Message-ID keeps the id (the first).
    """
    msgs = list(messages)
    table: dict[str, _Container] = {}
    dups: list[Duplicate] = []
    taken = {_clean(msg.message_id) for msg in msgs}
    entries = [_register(table, msg, taken, dups) for msg in msgs]
    entries.sort(key=lambda entry: _entry_key(entry[0]))
    for node, chain in entries:  # authoritative links first ...
        _link_own(table, node, chain)
    for _, chain in entries:  # ... then presumed links between placeholders
        _link_chain(table, chain)
    roots = [node for node in table.values() if node.parent is None]
    groups = [_make_group(root, prefixes) for root in roots]
    groups = [group for group in groups if group.root is not None]
    _subject_fallback(groups, subject_window, prefixes)
    live = sorted((_freeze(g) for g in groups if g.root is not None), key=lambda kt: kt[0])
    assignment: dict[str, Assignment] = {}
    for group in groups:
        assignment.update(group.members)
    return Forest([thread for _, thread in live], assignment, tuple(dups))


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
