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
     reply subject (``Re: ...``) with a title that is not generic ("help", a
     tag alone) may join a thread, only one whose
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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from listserv.discussions.containers import (
    Registry,
    Slot,
    SortKey,
    entry_key,
    kids,
    link_chain,
    link_own,
)
from listserv.discussions.grouping import Group, make_group, preorder, subject_fallback
from listserv.discussions.ids import bare_id, input_chain
from listserv.discussions.model import (
    DEFAULT_SUBJECT_WINDOW,
    FAR_FUTURE,
    Assignment,
    DuplicateMessageError,
    Forest,
    KnownPost,
    RecentThread,
    Thread,
    ThreadInput,
    ThreadMethod,
    ThreadNode,
    as_utc,
)
from listserv.discussions.subjects import is_generic_title, is_reply_subject, normalize_subject


def _sort_keys(order: list[Slot]) -> dict[str, SortKey]:
    """Message date (then id); a placeholder sorts like its earliest child."""
    keys: dict[str, SortKey] = {}
    for node in reversed(order):
        if node.msg is not None:
            keys[node.ident] = (as_utc(node.msg.date) or FAR_FUTURE, node.ident)
        else:
            below = [keys[kid.ident] for kid in kids(node)]
            keys[node.ident] = min(below, default=(FAR_FUTURE, node.ident))
    return keys


def _freeze(group: Group) -> tuple[SortKey, Thread]:
    assert group.root is not None
    keys = _sort_keys([node for node, _ in preorder(group.root)])
    nodes: list[ThreadNode] = []
    stack: list[tuple[Slot, str | None, int]] = [(group.root, None, 0)]
    while stack:
        node, parent_id, depth = stack.pop()
        nodes.append(ThreadNode(node.ident, parent_id, depth, node.msg is None))
        if node.children:
            children = sorted(node.children.values(), key=lambda kid: keys[kid.ident], reverse=True)
            stack.extend([(kid, node.ident, depth + 1) for kid in children])
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
    registry = Registry({bare_id(msg.message_id) for msg in msgs})
    table = registry.table
    entries = [registry.register(msg) for msg in msgs]
    entries.sort(key=lambda entry: entry_key(entry[0]))
    for node, chain in entries:  # authoritative links first ...
        link_own(table, node, chain)
    for _, chain in entries:  # ... then presumed links between placeholders
        link_chain(table, chain)
    roots = [node for node in table.values() if node.parent is None]
    groups = [make_group(root) for root in roots]
    groups = [group for group in groups if group.root is not None]
    subject_fallback(groups, subject_window, prefixes)
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
    if bare_id(known_placeholder.message_id) != bare_id(msg_id):
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
    return _view_chain(input_chain(msg), known).unknown


def _subject_join(
    msg: ThreadInput,
    recent_by_subject: Mapping[str, RecentThread],
    window: timedelta,
    prefixes: Sequence[str],
) -> RecentThread | None:
    when = as_utc(msg.date)
    if when is None or not is_reply_subject(msg.subject, prefixes):
        return None
    subject = normalize_subject(msg.subject, prefixes)
    recent = None if is_generic_title(subject) else recent_by_subject.get(subject)
    if recent is None:
        return None
    last = as_utc(recent.last_activity)
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
    own = relink_on_arrival(msg.message_id, known.get(bare_id(msg.message_id)))
    chain = input_chain(msg)
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
    if recent is not None and recent.thread_key != own:  # its own replies' discussion is no other thread
        merge = _merge_list(recent.thread_key, (own,) if own is not None else ())
        return Assignment(recent.thread_key, recent.root_message_id, ThreadMethod.SUBJECT, merge)
    return Assignment(own if own is not None else bare_id(msg.message_id), None, ThreadMethod.ROOT)
