"""Engagement's tables: each member's stage changes (the history), and when each list was last assessed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base


class MemberStage(Base):
    """A member reached `stage` at `since` (a row per change, so the history stays small)."""

    __tablename__ = "member_stages"
    __table_args__ = (Index("ix_member_stages_list_email_since", "list_id", "email", "since"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    stage: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="")  # one reason per line
    since: Mapped[datetime] = mapped_column(DateTime)


class EngagementRun(Base):
    """The last assessment of a list; its row is the lock that lets one node assess at a time."""

    __tablename__ = "engagement_runs"
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    assessed_at: Mapped[datetime] = mapped_column(DateTime)


class EngagementReport(Base):
    """A week's report to the facilitators; its numbered people are what replies refer to."""

    __tablename__ = "engagement_reports"
    __table_args__ = (UniqueConstraint("list_id", "period_end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    period_end: Mapped[datetime] = mapped_column(DateTime)
    stuck: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the addresses numbered 1, 2, ... in the report
    ready: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime)
