"""Digest and facilitation tables (migration 0005; docs/digest.md, docs/storage.md).

- digest_issues: one row per list and period; a draft until it is sent (or found empty).
- digest_receipts: the per-(issue, member) ledger; unique, so a member gets at most one
  digest per period whatever happens to the job.
- digest_tokens: capabilities in reply addresses (editorial notes, prompt confirmations);
  only their SHA-256 is stored.
- digest_prompts, digest_prompt_posts: scheduled prompts and announcements, and each time
  one was posted (unique per occurrence: posted at most once).
- digest_polls, digest_votes: polls by reply; one vote row per member (the last counts).
- digest_nudges: re-engagement mail sent, at most one per member and period.
Times are naive UTC.
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


class IssueStatus(StrEnum):
    DRAFT = "draft"  # the period is running; the preview may have gone to the facilitators
    SENT = "sent"  # digests queued for every reader (numbered)
    EMPTY = "empty"  # nothing to send for the period (not numbered)


class DigestIssue(Base):
    __tablename__ = "digest_issues"
    __table_args__ = (UniqueConstraint("list_id", "period_start"), Index("ix_digest_issues_list_status", "list_id",
                                                                            "status"))  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(DateTime)
    period_end: Mapped[datetime] = mapped_column(DateTime)  # planned end for a draft, real end once sent
    status: Mapped[str] = mapped_column(String(16), default=IssueStatus.DRAFT)
    volume: Mapped[int] = mapped_column(Integer, default=0)  # 0 until sent
    number: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")  # the facilitator's editorial note
    note_by: Mapped[str] = mapped_column(String(254), default="")
    note_state: Mapped[str] = mapped_column(String(16), default="")  # "" | given | skipped
    preview_sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class DigestReceipt(Base):
    """The ledger: this member got this issue, in this mode, as this outbound message."""

    __tablename__ = "digest_receipts"
    __table_args__ = (
        UniqueConstraint("issue_id", "email"),
        Index("ix_digest_receipts_outbound_id", "outbound_id"),  # retention deletes digests' outbound rows (0021)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("digest_issues.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    mode: Mapped[str] = mapped_column(String(16))  # summary | mime-digest | plain-digest
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound.id", ondelete="SET NULL"), nullable=True)
    partial: Mapped[int] = mapped_column(Integer, default=0)  # 1: only the posts not already received
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PromptStatus(StrEnum):
    CONFIRMING = "confirming"  # sent by mail; waits for the facilitator's confirmation
    SCHEDULED = "scheduled"
    DONE = "done"  # posted (and not recurring)
    REMOVED = "removed"


class DigestPrompt(Base):
    __tablename__ = "digest_prompts"
    __table_args__ = (Index("ix_digest_prompts_status_next", "status", "next_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="prompt")  # prompt | announcement
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(254))  # a facilitator: the post's From
    next_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    every: Mapped[str] = mapped_column(String(16), default="")  # "" | daily | weekly | fortnightly | monthly
    status: Mapped[str] = mapped_column(String(16), default=PromptStatus.SCHEDULED)
    posted: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DigestPromptPost(Base):
    """One occurrence of a prompt, posted: unique, so it is posted at most once."""

    __tablename__ = "digest_prompt_posts"
    __table_args__ = (UniqueConstraint("prompt_id", "occurrence"), Index("ix_digest_prompt_posts_list_at",
                                                                          "list_id", "posted_at"))  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("digest_prompts.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime] = mapped_column(DateTime)
    message_id: Mapped[str] = mapped_column(String(998))
    posted_at: Mapped[datetime] = mapped_column(DateTime)


class PollStatus(StrEnum):
    CONFIRMING = "confirming"
    SCHEDULED = "scheduled"  # not posted yet
    OPEN = "open"  # posted, taking votes
    CLOSED = "closed"
    REMOVED = "removed"


class DigestPoll(Base):
    __tablename__ = "digest_polls"
    __table_args__ = (Index("ix_digest_polls_status", "status", "opens_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[str] = mapped_column(Text)  # one option a line
    author: Mapped[str] = mapped_column(String(254))
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=PollStatus.SCHEDULED)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DigestVote(Base):
    __tablename__ = "digest_votes"
    __table_args__ = (UniqueConstraint("poll_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("digest_polls.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    choice: Mapped[int] = mapped_column(Integer)  # 1-based option number
    voted_at: Mapped[datetime] = mapped_column(DateTime)


class DigestNudge(Base):
    __tablename__ = "digest_nudges"
    __table_args__ = (UniqueConstraint("list_id", "email", "period"), Index("ix_digest_nudges_list_email_at",
                                                                             "list_id", "email", "sent_at"))  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    period: Mapped[str] = mapped_column(String(32))  # the digest period's start, ISO
    sent_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = ["DigestIssue", "DigestNudge", "DigestPoll", "DigestPrompt", "DigestPromptPost", "DigestReceipt",
           "DigestVote", "IssueStatus", "PollStatus", "PromptStatus"]  # fmt: skip
