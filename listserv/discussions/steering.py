"""Discussion controls in the database: members' follow and mute, closed and highlighted
discussions, and the choices each released post's fan-out and the digest honour.

The decisions (which word, who may) are in discussions/controls.py; the reply handler is
engagement/controls.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Integer, Table, bindparam, delete, insert, literal, select
from sqlalchemy.orm import Session

from listserv.discussions.headers import storable_id
from listserv.discussions.ids import bare_id
from listserv.discussions.tables import Discussion, DiscussionChoice, ThreadContainer
from listserv.store.queries import CHOICES as FANOUT_CHOICES
from listserv.store.queries import MEMBERS, in_chunks
from listserv.store.schema import Member

CHOICES = cast(Table, DiscussionChoice.__table__)
CONTAINERS = cast(Table, ThreadContainer.__table__)
FOLLOW, MUTE = "follow", "mute"
_POST_DISCUSSION = select(CONTAINERS.c.discussion_id).where(CONTAINERS.c.post_id == bindparam("post_id"))
_FANOUT_CHOICES = (
    select(bindparam("outbound_id", type_=Integer), CHOICES.c.member_id, CHOICES.c.choice == FOLLOW)
    .join(MEMBERS, MEMBERS.c.id == CHOICES.c.member_id)
    .where(CHOICES.c.discussion_id == _POST_DISCUSSION.scalar_subquery(),
           (CHOICES.c.choice == MUTE) | (MEMBERS.c.delivery != "none"))
)  # fmt: skip
COPY_CHOICES_TO_FANOUT = insert(FANOUT_CHOICES).from_select(["outbound_id", "member_id", "receive"], _FANOUT_CHOICES)


def discussion_of_post(session: Session, list_id: int, post_id: int) -> Discussion | None:
    return session.scalar(select(Discussion).join(ThreadContainer, ThreadContainer.discussion_id == Discussion.id)
                          .where(ThreadContainer.post_id == post_id, Discussion.list_id == list_id))  # fmt: skip


def choose(session: Session, discussion: Discussion, member_id: int, choice: str | None, now: datetime) -> None:
    """Record a member's follow or mute of a discussion; None forgets it."""
    session.execute(delete(CHOICES).where(CHOICES.c.discussion_id == discussion.id, CHOICES.c.member_id == member_id))
    if choice is not None:
        session.add(DiscussionChoice(list_id=discussion.list_id, discussion_id=discussion.id, member_id=member_id,
                                     choice=choice, created_at=now))  # fmt: skip
        session.flush()


def choice_of(session: Session, discussion_id: int, member_id: int) -> str | None:
    return session.scalar(select(CHOICES.c.choice).where(CHOICES.c.discussion_id == discussion_id,
                                                         CHOICES.c.member_id == member_id))  # fmt: skip


def move_choices(session: Session, source: Discussion, target: Discussion) -> None:
    """Before a merge: the source's choices go with its posts, unless the member chose for the target."""
    chosen = select(CHOICES.c.member_id).where(CHOICES.c.discussion_id == target.id)
    session.execute(CHOICES.update().where(CHOICES.c.discussion_id == source.id, CHOICES.c.member_id.not_in(chosen))
                    .values(discussion_id=target.id))  # fmt: skip


def copy_choices(session: Session, source: Discussion, target: Discussion, now: datetime) -> None:
    """After a split: who followed or muted the discussion does the same for the part split off."""
    rows = select(literal(target.list_id), literal(target.id), CHOICES.c.member_id, CHOICES.c.choice,
                  literal(now)).where(CHOICES.c.discussion_id == source.id)  # fmt: skip
    session.execute(insert(CHOICES).from_select(["list_id", "discussion_id", "member_id", "choice", "created_at"],
                                                rows))  # fmt: skip


def choices_for_fanout(session: Session, outbound_id: int, post_id: int) -> None:
    """Copy the choices about the post's discussion onto its fan-out: one set-based statement.
    Following brings digest readers each post; a member who takes no mail (`none`) still gets none."""
    session.execute(COPY_CHOICES_TO_FANOUT, {"outbound_id": outbound_id, "post_id": post_id})


def muted_by(session: Session, list_id: int, discussion_ids: Iterable[int]) -> dict[str, set[int]]:
    """For each member who muted some of these discussions: which ones (their digest leaves them out)."""
    found: dict[str, set[int]] = {}
    for chunk in in_chunks(sorted(set(discussion_ids))):
        rows = session.execute(select(Member.email, CHOICES.c.discussion_id).join(Member, Member.id == CHOICES.c.member_id)
                               .where(CHOICES.c.list_id == list_id, CHOICES.c.choice == MUTE,
                                      CHOICES.c.discussion_id.in_(chunk)))  # fmt: skip
        for email, discussion_id in rows:
            found.setdefault(email, set()).add(discussion_id)
    return found


def closed_discussion(session: Session, list_id: int, message_ids: Sequence[str]) -> Discussion | None:
    """The closed discussion a new message would join (by its In-Reply-To and References), if any."""
    ids = [storable_id(bare_id(m)) for m in message_ids if bare_id(m)]
    if not ids:
        return None
    return session.scalar(CLOSED_DISCUSSION, {"list_id": list_id, "ids": ids[:IN_LIMIT]})


IN_LIMIT = 200  # the nearest references are enough to find a discussion
CLOSED_DISCUSSION = (
    select(Discussion).join(ThreadContainer, ThreadContainer.discussion_id == Discussion.id)
    .where(ThreadContainer.list_id == bindparam("list_id"), ThreadContainer.message_id.in_(bindparam("ids", expanding=True)),
           Discussion.closed_at.is_not(None)).limit(1)
)  # fmt: skip
