"""The core tables (SQLAlchemy 2): lists, members, raw mail in, posts, mail out and its ledger.

Each capability keeps its own tables beside its code (moderation/tables.py, ...), on the same
Base. Times are naive UTC and always written by the caller, from the clock it was given:
no column defaults to the real clock. docs/storage.md describes the schema for operators.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from listserv.mail.message import ListStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class InboundStatus(StrEnum):
    RECEIVED = "received"  # committed raw, waiting for the worker
    DONE = "done"  # processed: distributed, refused or forwarded
    QUARANTINED = "quarantined"  # processing failed max_tries times


class BatchStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender until lease_until
    DONE = "done"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEFERRED = "deferred"  # 4xx: moved to a later batch
    FAILED = "failed"  # 5xx, or deferred for too long


class MailingList(Base):
    __tablename__ = "lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    subject_prefix: Mapped[str] = mapped_column(String(100), default="")
    reply_to: Mapped[str] = mapped_column(String(16), default="leave")
    reply_to_address: Mapped[str] = mapped_column(String(254), default="")
    max_message_size: Mapped[int] = mapped_column(Integer, default=0)  # 0: the server's cap
    personalize: Mapped[bool] = mapped_column(Boolean, default=False)
    archive_url: Mapped[str] = mapped_column(String(500), default="")
    # membership (migration 0004; docs/membership.md)
    subscription_policy: Mapped[str] = mapped_column(String(16), default="open")  # open|approval|invitation
    guidelines: Mapped[str] = mapped_column(Text, default="")  # non-empty: confirming means accepting them
    max_members: Mapped[int] = mapped_column(Integer, default=0)  # 0: no maximum
    when_full: Mapped[str] = mapped_column(String(16), default="refuse")  # refuse|waitlist
    membership_days: Mapped[int] = mapped_column(Integer, default=0)  # 0: membership does not expire
    allow_who: Mapped[bool] = mapped_column(Boolean, default=False)
    confirm_unsubscribe: Mapped[bool] = mapped_column(Boolean, default=False)
    onboarding: Mapped[str] = mapped_column(Text, default="0:welcome 3:introduce 10:discussions")
    one_click_unsubscribe: Mapped[bool | None] = mapped_column(
        Boolean, nullable=True, default=None
    )  # None: on where it counts
    # moderation (migration 0003; docs/moderation.md)
    nonmember_action: Mapped[str] = mapped_column(String(16), default="hold")  # hold|reject|discard|accept
    new_member_posts: Mapped[int] = mapped_column(Integer, default=1)  # a newcomer's posts reviewed
    emergency_moderation: Mapped[bool] = mapped_column(Boolean, default=False)  # hold every post
    hold_message_size: Mapped[int] = mapped_column(Integer, default=5 * 1024 * 1024)  # 0: off
    max_recipients: Mapped[int] = mapped_column(Integer, default=10)  # To + Cc; 0: off
    require_subject: Mapped[bool] = mapped_column(Boolean, default=True)
    hold_patterns: Mapped[str] = mapped_column(Text, default="")  # "Header: regex" / "body: regex" lines
    spam_action: Mapped[str] = mapped_column(String(16), default="hold")  # hold|reject|discard|accept
    approve_always_adds: Mapped[str] = mapped_column(String(16), default="poster")  # poster|member
    held_expire_days: Mapped[int] = mapped_column(Integer, default=14)
    # digests and facilitation (migration 0005; docs/digest.md)
    digest_period: Mapped[str] = mapped_column(String(8), default="weekly")  # daily | weekly
    digest_day: Mapped[str] = mapped_column(String(9), default="monday")  # weekly: the day it goes out
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)  # the hour it goes out, in `timezone`
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name, e.g. Europe/Paris
    digest_size_threshold: Mapped[int] = mapped_column(Integer, default=0)  # posts that send it early; 0: off
    digest_preview_hours: Mapped[int] = mapped_column(Integer, default=24)  # facilitators' preview; 0: none
    unanswered_days: Mapped[int] = mapped_column(Integer, default=2)
    nudge_weeks: Mapped[int] = mapped_column(Integer, default=0)  # silent this long: a nudge; 0: off
    digest_reminders: Mapped[bool] = mapped_column(Boolean, default=False)  # (migration 0013) reminders alone
    status: Mapped[str] = mapped_column(String(16), default=ListStatus.OPEN)  # ListStatus (migration 0007)
    # DMARC mitigation (migration 0010; docs/dmarc.md)
    dmarc_mitigation: Mapped[str] = mapped_column(String(16), default="policy")  # policy | always | never
    dmarc_action: Mapped[str] = mapped_column(String(16), default="munge")  # munge | wrap
    dmarc_author_reply: Mapped[str] = mapped_column(String(16), default="reply-to")  # reply-to | cc
    # bounces (migration 0009; docs/bounces.md)
    bounce_threshold: Mapped[int] = mapped_column(Integer, default=5)  # score that disables delivery; 0: off
    bounce_half_life_days: Mapped[int] = mapped_column(Integer, default=7)  # a bounce counts half after this
    bounce_remove_days: Mapped[int] = mapped_column(Integer, default=14)  # disabled this long: removed; 0: never
    # engagement (migration 0014; docs/engagement.md): "key=value ..." thresholds, "" for the defaults
    stage_rules: Mapped[str] = mapped_column(Text, default="")
    engagement_report: Mapped[str] = mapped_column(String(8), default="weekly")  # weekly | off
    # the resource library (migration 0020; docs/library.md): fetch linked pages' titles
    library_fetch_titles: Mapped[bool] = mapped_column(Boolean, default=False)
    # IMAP intake (migration 0012; docs/imap.md): the mailbox the list's mail is taken from
    imap_host: Mapped[str] = mapped_column(String(253), default="")  # "": no IMAP intake
    imap_port: Mapped[int] = mapped_column(Integer, default=0)  # 0: 993 with implicit TLS, else 143
    imap_tls: Mapped[str] = mapped_column(String(16), default="implicit")  # implicit | starttls | none
    imap_ca_file: Mapped[str] = mapped_column(String(500), default="")  # "": the system's CAs
    imap_user: Mapped[str] = mapped_column(String(254), default="")
    imap_password_file: Mapped[str] = mapped_column(String(500), default="")  # the password is never stored
    imap_password_env: Mapped[str] = mapped_column(String(100), default="")  # or the variable that holds it
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    imap_processed_folder: Mapped[str] = mapped_column(String(200), default="")  # "": mark \Seen, leave it
    imap_failed_folder: Mapped[str] = mapped_column(String(200), default="listserv-failed")
    # the web archive (migration 0018; docs/archive.md): public | members | private
    archive_access: Mapped[str] = mapped_column(String(16), default="members")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("list_id", "email"),
        Index("ix_members_list_id_id", "list_id", "id"),  # fan-out planning in id order (0016)
        Index("ix_members_expires_at", "expires_at", sqlite_where=text("expires_at IS NOT NULL"),
              postgresql_where=text("expires_at IS NOT NULL")),  # expiry and reminders (0021)
    )  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="member")
    receive_own_posts: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery: Mapped[str] = mapped_column(String(16), default="each")
    vacation_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # no mail before this
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # no mail from this time on
    # moderation (migration 0003): "" | new | accept | hold | reject | discard
    moderation: Mapped[str] = mapped_column(String(16), default="")
    posts_approved: Mapped[int] = mapped_column(Integer, default=0)
    profiled: Mapped[bool] = mapped_column(Boolean, default=True)  # engagement (migration 0014): stage kept
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Inbound(Base):
    """Raw mail exactly as received, committed before we answer 250."""

    __tablename__ = "inbound"
    __table_args__ = (
        UniqueConstraint("list_id", "role", "dedupe_key"),
        Index("ix_inbound_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # post, owner, request, bounces
    mail_from: Mapped[str] = mapped_column(String(998))
    rcpt: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    dedupe_key: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lease_node: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who holds the lease (0015)


class Post(Base):
    """What the pipeline decided about one inbound message sent to a list address."""

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id", ondelete="CASCADE"), unique=True)
    message_id: Mapped[str] = mapped_column(String(998))
    sender: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    references: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16))
    rules: Mapped[str] = mapped_column(Text, default="")  # space-separated rule ids that hit
    reason: Mapped[str] = mapped_column(Text, default="")
    defects: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Outbound(Base):
    """One message as members receive it; personalised ones carry a member marker."""

    __tablename__ = "outbound"
    __table_args__ = (
        Index("ix_outbound_list_kind_created", "list_id", "kind", "created_at"),  # digests (0005)
        Index("ix_outbound_planning", "id", sqlite_where=text("plan_after IS NOT NULL"),
              postgresql_where=text("plan_after IS NOT NULL")),  # fan-outs still being planned (0021)
        Index("ix_outbound_post_id", "post_id"),  # a post's outbound row (0021)
    )  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # post, notice, forward
    mail_from: Mapped[str] = mapped_column(String(998))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    personalized: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # fan-out planned in chunks: members after plan_after are still to plan (NULL: all planned)
    plan_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    plan_exclude: Mapped[str] = mapped_column(String(254), default="")
    arc_seal: Mapped[str | None] = mapped_column(Text, nullable=True)  # a post's ARC inputs (JSON); NULL: not sealed


class FanoutChoice(Base):
    """A member's own choice for one fan-out, copied from their discussion controls when the post
    is released (migration 0017): receive it although in digest mode (follow), or not (mute)."""

    __tablename__ = "fanout_choices"
    __table_args__ = (Index("ix_fanout_choices_member_id", "member_id"),)  # a member leaves (0021)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    receive: Mapped[bool] = mapped_column(Boolean)


class Batch(Base):
    """The unit a sender claims: one SMTP transaction's worth of recipients."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("outbound_id", "seq"),
        Index("ix_batches_status_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_node: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who holds the lease (0015)


class Node(Base):
    """One `listserv serve` process sharing the database, and its heartbeat (docs/scaling.md)."""

    __tablename__ = "nodes"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # node_name: hostname:pid by default
    host: Mapped[str] = mapped_column(String(253))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # a clean stop
    doing: Mapped[str] = mapped_column(Text, default="")  # the jobs running at the last heartbeat


class Delivery(Base):
    """The per-recipient ledger: pending -> sent / deferred / failed."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_batch", "outbound_id", "batch_seq", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound.id", ondelete="CASCADE"))
    batch_seq: Mapped[int] = mapped_column(Integer)
    rcpt: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class NoticeLog(Base):
    """One row per automatic notice: at most one per address, kind and day."""

    __tablename__ = "notice_log"
    __table_args__ = (UniqueConstraint("address", "kind", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))


class Token(Base):
    """A capability mailed to someone (listserv/tokens.py): act once, before it expires.

    `purpose` says what it is for (moderate, subscribe, approve, invite, unsubscribe, renew,
    note, prompt, poll); `address` is whom it was sent to or is about; `target_id` the held
    post, digest issue, prompt or poll it acts on; `detail` what the purpose needs to keep (JSON).
    """

    __tablename__ = "tokens"
    __table_args__ = (
        Index("ix_tokens_list_address_purpose", "list_id", "address", "purpose"),
        Index("ix_tokens_address_created_at", "address", "created_at"),
        Index("ix_tokens_requested_by_created_at", "requested_by", "created_at"),
        Index("ix_tokens_target", "purpose", "target_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # listserv.tokens.token_key
    purpose: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(254), default="")  # envelope sender; "" for operators
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
