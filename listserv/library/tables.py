"""The library's tables (migration 0020): one row per resource of a list, and its history:
who shared, added, recommended, tagged or flagged it, when, in which post, and what they said."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base


class LibraryResource(Base):
    """A resource of a list, found once by its key (normalised URL, doi:, isbn:, sha256: of a document)."""

    __tablename__ = "library_resources"
    __table_args__ = (UniqueConstraint("list_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # harvest.Kind: link | document | doi | isbn
    key: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(Text, default="")  # a document's filename, the DOI, the ISBN-13
    title: Mapped[str] = mapped_column(Text, default="")  # the page's <title>, when fetching is on
    title_status: Mapped[str] = mapped_column(String(16), default="")  # "" (to fetch) | fetched | failed | off
    description: Mapped[str] = mapped_column(Text, default="")  # set by `describe` or `add`
    tags: Mapped[str] = mapped_column(Text, default="")  # space-separated, sorted
    recommendations: Mapped[int] = mapped_column(Integer, default=0)
    outdated: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))  # first shared in
    part: Mapped[int] = mapped_column(Integer, default=-1)  # a document's MIME part in that post
    size: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class LibraryEvent(Base):
    """Something a member did to a resource: shared, shared-again, added, recommended, tagged, ..."""

    __tablename__ = "library_events"
    __table_args__ = (Index("ix_library_events_list_email", "list_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("library_resources.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254), default="")  # "" once anonymised
    name: Mapped[str] = mapped_column(String(200), default="")
    said: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
