"""Bounce tables (migration 0009; docs/bounces.md).

- bounce_events: one row per failure counted against a member: a report to LIST-bounces,
  a relay's refusal in the delivery ledger, or a complaint.
- member_bounces: per member and list, the state (ok, disabled, removed), the score as last
  computed, and the dates that drive the next step. The state changes with a conditional UPDATE
  (the claim), so each warning and each removal happens once, however many nodes run the job.
- bounce_scan: up to where the delivery ledger is settled and read for refusals; beyond it, a
  refusal is counted once because its event holds the delivery's id (unique).
Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base


class BounceKind(StrEnum):
    HARD = "hard"  # the address itself is bad (no such user or domain)
    SOFT = "soft"  # a temporary failure, a full mailbox, a policy block
    COMPLAINT = "complaint"  # a feedback-loop report: counted apart, acted on at once


class MemberState(StrEnum):
    OK = "ok"
    DISABLED = "disabled"  # delivery set to none until they resume
    REMOVED = "removed"  # no longer a member (the row stays for `bounce ls` and list health)


class BounceEvent(Base):
    __tablename__ = "bounce_events"
    __table_args__ = (Index("ix_bounce_events_list_id_email_at", "list_id", "email", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))  # BounceKind
    source: Mapped[str] = mapped_column(String(16))  # report | relay
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime)
    delivery_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)  # a relay refusal's ledger row


class MemberBounce(Base):
    __tablename__ = "member_bounces"
    __table_args__ = (UniqueConstraint("list_id", "email"), Index("ix_member_bounces_state", "state"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(16), default=MemberState.OK)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(Text, default="")  # the last bounce's
    last_bounce_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    counted_from: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # events before: forgiven
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    delivery_before: Mapped[str] = mapped_column(String(16), default="each")  # what resuming asks for


class BounceScan(Base):
    __tablename__ = "bounce_scan"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["BounceEvent", "BounceKind", "BounceScan", "MemberBounce", "MemberState"]
