"""Membership tables (migration 0004): tokens, history, wait-list, steps done, mail sent.

docs/membership.md and docs/storage.md describe them for operators. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base, utcnow


class MembershipToken(Base):
    """A capability mailed to someone: confirm, accept an invitation, approve, renew, leave.

    Only the SHA-256 of the token is stored; a token is used once and expires.
    """

    __tablename__ = "membership_tokens"
    __table_args__ = (
        Index("ix_membership_tokens_email_created_at", "email", "created_at"),
        Index("ix_membership_tokens_requested_by_created_at", "requested_by", "created_at"),
        Index("ix_membership_tokens_list_id_email_kind", "list_id", "email", "kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))  # whom it is about (the applicant for "approve")
    kind: Mapped[str] = mapped_column(String(16))  # subscribe, approve, invite, unsubscribe, renew
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    delivery: Mapped[str] = mapped_column(String(16), default="each")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    requested_by: Mapped[str] = mapped_column(String(254), default="")  # envelope sender; "" for operators
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class MembershipEvent(Base):
    """History: requested, confirmed, accepted-guidelines, joined, delivery, left, expired, ..."""

    __tablename__ = "membership_events"
    __table_args__ = (Index("ix_membership_events_list_id_email", "list_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WaitlistEntry(Base):
    """Someone who confirmed while the list was full; admitted oldest first."""

    __tablename__ = "waitlist"
    __table_args__ = (UniqueConstraint("list_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    delivery: Mapped[str] = mapped_column(String(16), default="each")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


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
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MembershipMail(Base):
    """Replies to membership mail, counted per address and hour (subscription bombing)."""

    __tablename__ = "membership_mail"
    __table_args__ = (Index("ix_membership_mail_address_at", "address", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["MemberStep", "MembershipEvent", "MembershipMail", "MembershipToken", "WaitlistEntry"]
