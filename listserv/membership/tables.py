"""Membership tables (migration 0004): history, wait-list, steps done, mail sent.

docs/membership.md and docs/storage.md describe them for operators. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

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


class MembershipEvent(Base):
    """History: requested, confirmed, accepted-guidelines, joined, delivery, left, expired, ..."""

    __tablename__ = "membership_events"
    __table_args__ = (Index("ix_membership_events_list_id_email", "list_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime)


class WaitlistEntry(Base):
    """Someone who confirmed while the list was full; admitted oldest first."""

    __tablename__ = "waitlist"
    __table_args__ = (UniqueConstraint("list_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    delivery: Mapped[str] = mapped_column(String(16), default="each")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class MemberStep(Base):
    """One automatic step done for a member (onboarding mail, renewal reminder): inserting the
    row claims the step, so it happens at most once even with several nodes."""

    __tablename__ = "member_steps"
    __table_args__ = (UniqueConstraint("list_id", "email", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    step: Mapped[str] = mapped_column(String(100))  # onboard:enrolled, onboard:3:introduce, renew:14
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent, skipped
    at: Mapped[datetime] = mapped_column(DateTime)


class MembershipMail(Base):
    """Replies to membership mail, counted per address and hour (subscription bombing)."""

    __tablename__ = "membership_mail"
    __table_args__ = (Index("ix_membership_mail_address_at", "address", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)


__all__ = ["MemberStep", "MembershipEvent", "MembershipMail", "WaitlistEntry"]
