"""Moderation tables: the hold queue, reply tokens, the audit log, sender rules (migration 0003).

docs/moderation.md and docs/storage.md describe them for operators.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
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


class HeldStatus(StrEnum):
    HELD = "held"  # waiting for a facilitator
    APPROVED = "approved"  # distributed (approve, approve always, edit)
    REJECTED = "rejected"  # the sender was told why
    DISCARDED = "discarded"  # dropped silently
    EXPIRED = "expired"  # nobody acted within the list's held_expire_days


class HeldPost(Base):
    """A post kept for a facilitator. Its raw message stays in `inbound`."""

    __tablename__ = "held_posts"
    __table_args__ = (
        Index("ix_held_posts_status_list", "status", "list_id", "created_at"),
        Index("ix_held_posts_inbound_id", "inbound_id"),  # retention deletes inbound rows (0021)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text, default="")  # space-separated rule ids that hit
    reasons: Mapped[str] = mapped_column(Text, default="")  # readable reasons, one a line
    status: Mapped[str] = mapped_column(String(16), default=HeldStatus.HELD)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    verb: Mapped[str] = mapped_column(String(16), default="")  # approve, approve-always, reject, discard, edit, expire
    handled_by: Mapped[str] = mapped_column(String(254), default="")
    handled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")  # the reason given with a rejection


class ModerationLog(Base):
    """The audit log: every decision about a held post, and every refused attempt."""

    __tablename__ = "moderation_log"
    __table_args__ = (
        Index("ix_moderation_log_list_at", "list_id", "at"),
        Index("ix_moderation_log_held_id", "held_id"),  # held posts deleted (0021)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    held_id: Mapped[int | None] = mapped_column(ForeignKey("held_posts.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(254))  # a facilitator's address, "cli:USER" or "listserv"
    verb: Mapped[str] = mapped_column(String(32))  # hold, approve, ..., expire, refused, already-handled
    rules: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class SenderRule(Base):
    """A per-list action for senders matching a pattern: bans (discard/reject), hold, or accept."""

    __tablename__ = "sender_rules"
    __table_args__ = (UniqueConstraint("list_id", "pattern"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(254))  # address, glob (*@x.example) or ^regex
    action: Mapped[str] = mapped_column(String(16))  # accept | hold | reject | discard
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ModerationAttempt(Base):
    """A refused reply to a moderation address, for rate-limiting token guessing."""

    __tablename__ = "moderation_attempts"
    __table_args__ = (Index("ix_moderation_attempts_who", "list_id", "address", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime)
