"""Discussions: the threads posts are grouped into (docs/threading.md, docs/storage.md).

A discussion holds *containers*, JWZ's word: one per Message-ID seen in the list, either a
stored post or a placeholder for a message that was referred to but never arrived. Parent
links between containers record what each message's own headers claim (loops included);
listserv.discussions.tree builds the loop-safe tree from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base

ID_LENGTH = 255  # longer Message-IDs are shortened (listserv.discussions.headers.storable_id)


class Discussion(Base):
    __tablename__ = "discussions"
    __table_args__ = (
        UniqueConstraint("list_id", "key"),
        Index("ix_discussions_subject", "list_id", "subject_key", "last_activity"),
        Index("ix_discussions_activity", "list_id", "last_activity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(ID_LENGTH))  # Message-ID of its top-most container
    subject: Mapped[str] = mapped_column(Text, default="")  # the starting post's subject
    subject_key: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the normalised subject
    started_by: Mapped[str] = mapped_column(String(254), default="")
    first_activity: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_activity: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # discussion controls (migration 0017, docs/engagement.md): set by facilitators and askers by reply
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # new posts refused
    highlighted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # first in the next digest
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # the asker says so


class ThreadContainer(Base):
    __tablename__ = "thread_containers"
    __table_args__ = (UniqueConstraint("list_id", "message_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(ID_LENGTH))  # bare, no angle brackets
    parent_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)  # a container's message_id
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"), nullable=True, unique=True)
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)  # root, reference, placeholder, ...
    posted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class DiscussionChoice(Base):
    """A member's follow or mute of one discussion (migration 0017)."""

    __tablename__ = "discussion_choices"
    __table_args__ = (UniqueConstraint("discussion_id", "member_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    choice: Mapped[str] = mapped_column(String(8))  # follow | mute
    created_at: Mapped[datetime] = mapped_column(DateTime)
