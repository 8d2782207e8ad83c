"""IMAP settings and mailbox state in the database: which lists take mail from a mailbox, and
where each mailbox stands (UIDVALIDITY, last UID, backlog, connected, last error)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.errors import NotFound
from listserv.inbound.imap.rules import Mailbox, MailboxConfig, Position, TlsMode, group_mailboxes
from listserv.inbound.imap.tables import ImapMailbox
from listserv.mail.message import ListStatus
from listserv.store.schema import MailingList


def config_of(row: MailingList) -> MailboxConfig:
    try:
        tls = TlsMode(row.imap_tls)
    except ValueError:
        tls = TlsMode.IMPLICIT
    return MailboxConfig(
        host=row.imap_host, user=row.imap_user, port=row.imap_port, tls=tls, ca_file=row.imap_ca_file,
        password_file=row.imap_password_file, password_env=row.imap_password_env, folder=row.imap_folder or "INBOX",
        processed_folder=row.imap_processed_folder, failed_folder=row.imap_failed_folder or "listserv-failed",
    )  # fmt: skip


def load_mailboxes(session: Session, list_address: str | None = None) -> list[Mailbox]:
    """Every configured mailbox (of open and closed lists), or those that feed one list."""
    rows = session.scalars(select(MailingList).where(MailingList.imap_host != "")
                           .where(MailingList.status != ListStatus.REMOVED)).all()  # fmt: skip
    mailboxes = group_mailboxes((row.address, config_of(row)) for row in rows)
    if list_address is None:
        return mailboxes
    found = [m for m in mailboxes if list_address in m.lists]
    if not found:
        raise NotFound(f"list {list_address} takes no mail by IMAP: set imap_host, imap_user and a password "
                       "(`listserv list set --help`)")  # fmt: skip
    return found


def mailbox_row(session: Session, mailbox: Mailbox) -> ImapMailbox:
    """The mailbox's state row, made on first need (once, even when two processes race)."""
    row = session.scalar(select(ImapMailbox).where(ImapMailbox.key == mailbox.key))
    if row is None:
        try:
            with session.begin_nested():
                session.add(ImapMailbox(key=mailbox.key, lists=" ".join(mailbox.lists), uidvalidity=0, last_uid=0,
                                        backlog=0, connected=False, taken=0, failed=0, last_error=""))  # fmt: skip
                session.flush()
        except IntegrityError:
            pass
        row = session.scalars(select(ImapMailbox).where(ImapMailbox.key == mailbox.key)).one()
    row.lists = " ".join(mailbox.lists)
    return row


def load_position(session: Session, mailbox: Mailbox) -> Position:
    row = mailbox_row(session, mailbox)
    return Position(row.uidvalidity, row.last_uid)


@dataclass(frozen=True)
class Progress:
    """What one step of a pass changes in the mailbox's row."""

    position: Position
    backlog: int
    taken: int = 0
    failed: int = 0


def save_progress(session: Session, mailbox: Mailbox, progress: Progress, now: datetime) -> None:
    row = mailbox_row(session, mailbox)
    row.uidvalidity, row.last_uid = progress.position.uidvalidity, progress.position.last_uid
    row.backlog, row.connected, row.checked_at = progress.backlog, True, now
    row.taken += progress.taken
    row.failed += progress.failed


def save_connected(session: Session, mailbox: Mailbox, connected: bool, error: str, now: datetime) -> None:
    row = mailbox_row(session, mailbox)
    row.connected = connected
    if error:
        row.last_error, row.last_error_at = error[:2000], now


def disconnect_all(session: Session, keys: list[str]) -> None:
    if keys:
        session.execute(update(ImapMailbox).where(ImapMailbox.key.in_(keys)).values(connected=False))


def mailbox_states(session: Session) -> list[tuple[Mailbox, ImapMailbox | None]]:
    """Every configured mailbox with its state row (None before its first connection)."""
    rows = {row.key: row for row in session.scalars(select(ImapMailbox))}
    return [(mailbox, rows.get(mailbox.key)) for mailbox in load_mailboxes(session)]
