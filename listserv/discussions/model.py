"""The values threading takes and gives: what a message says about itself, and the threads it lands in. Pure."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

DEFAULT_SUBJECT_WINDOW = timedelta(days=7)  # measured: docs/threading.md, "What each subject rule costs and gains"
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


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


def as_utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=timezone.utc)
