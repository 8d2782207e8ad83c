"""IMAP intake test helpers: a list whose mail comes from the test Dovecot, and one pass over it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from listserv.inbound.imap.client import describe
from listserv.inbound.imap.intake import MailboxIntake, Summary
from listserv.inbound.imap.state import load_mailboxes
from listserv.work import Work
from support.dovecot import Dovecot


def password_file(folder: Path, password: str = "secret") -> str:
    path = folder / "imap.password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    return str(path)


def imap_settings(dovecot: Dovecot, folder: Path, port: int | None = None, **changes: str) -> dict[str, str]:
    """list settings for the test Dovecot's `list` user, over STARTTLS verified with its CA."""
    settings = {
        "imap_host": "127.0.0.1",
        "imap_port": str(port or dovecot.port),
        "imap_tls": "starttls",
        "imap_ca_file": dovecot.ca_file,
        "imap_user": "list",
        "imap_password_file": password_file(folder),
    }
    return settings | changes


def take_once(work: Work, list_address: str, on_stored: Callable[[], None] = lambda: None,
              timeout: float = 60.0) -> Summary:  # fmt: skip
    """What `listserv imap poll LIST` does: connect, take what waits, log out."""
    with work.sessions() as session:
        (mailbox,) = load_mailboxes(session, list_address)
    intake = MailboxIntake(mailbox, work.sessions, work.settings, work.clock, os.environ, on_stored, timeout)
    intake.connect()
    try:
        summary = intake.drain()
    except Exception as error:  # as `imap poll` does: recorded as the mailbox's last error
        intake.close(describe(error, mailbox.config, timeout))
        raise
    intake.close()
    return summary
