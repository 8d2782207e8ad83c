"""Where each IMAP mailbox stands (migration 0012): one row a mailbox, keyed by user@host:port/folder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from listserv.store.schema import Base


class ImapMailbox(Base):
    __tablename__ = "imap_mailboxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(700), unique=True)  # user@host:port/folder
    lists: Mapped[str] = mapped_column(Text, default="")  # the list addresses it feeds, space separated
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)  # 0: never selected
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)  # every UID up to here is taken
    backlog: Mapped[int] = mapped_column(Integer, default=0)  # messages waiting at the last look
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    taken: Mapped[int] = mapped_column(BigInteger, default=0)  # messages committed from it, all time
    failed: Mapped[int] = mapped_column(BigInteger, default=0)  # messages moved to the failed folder
    last_error: Mapped[str] = mapped_column(Text, default="")  # "" since the last good pass
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # the last good pass
