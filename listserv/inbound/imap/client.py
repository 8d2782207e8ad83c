"""The IMAP connection, through imapclient: connect with the list's TLS mode, log in, select,
and every failure as one ImapFailure line that says what happened and what to check.

The password is read when connecting, from imap_password_file or the variable imap_password_env
names, and is never logged or stored."""

from __future__ import annotations

import imaplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence

from imapclient import IMAPClient, SocketTimeout  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]

from listserv.errors import ConfigError, ServiceError
from listserv.inbound.imap.rules import MailboxConfig, TlsMode, config_problem

TIMEOUT_SECONDS = 60.0  # a command (a FETCH of a batch included) that hears nothing this long is stuck
CONNECT_SECONDS = 20.0
NETWORK_ERRORS = (OSError, imaplib.IMAP4.error, IMAPClientError, EOFError)


class ImapFailure(ServiceError):
    """The mailbox could not be reached, logged into or read; str() is the one line to show."""


def read_password(config: MailboxConfig, environ: Mapping[str, str]) -> str:
    if config.password_file:
        try:
            with open(config.password_file, encoding="utf-8") as handle:
                password = handle.read().strip("\r\n")
        except OSError as error:
            raise ConfigError(f"cannot read imap_password_file {config.password_file}: {error.strerror}; "
                              "make it readable by listserv only (mode 0600)") from None  # fmt: skip
        if not password:
            raise ConfigError(f"imap_password_file {config.password_file} is empty")
        return password
    password = environ.get(config.password_env, "")
    if not password:
        raise ConfigError(f"the environment variable {config.password_env} (imap_password_env) is not set "
                          "for listserv; set it in its service environment")  # fmt: skip
    return password


def tls_context(config: MailboxConfig) -> ssl.SSLContext:
    """Certificate and host name checked; imap_ca_file for a private CA."""
    try:
        return ssl.create_default_context(cafile=config.ca_file or None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"cannot read imap_ca_file {config.ca_file}: {getattr(error, 'strerror', None) or error}"
                          ) from None  # fmt: skip


def describe(error: BaseException, config: MailboxConfig, timeout: float = TIMEOUT_SECONDS) -> str:
    """One line for a failure talking to the server."""
    where = f"{config.host}:{config.effective_port}"
    if isinstance(error, ImapFailure | ConfigError):
        return str(error)
    if isinstance(error, socket.gaierror):
        return f"cannot find IMAP server {config.host} ({error.strerror}): check imap_host"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"the TLS certificate of {where} is not trusted ({error.verify_message}): set imap_ca_file "
                "for a private CA, or check imap_host")  # fmt: skip
    if isinstance(error, ssl.SSLError):
        return f"TLS failed with {where} ({error.reason}): check imap_tls and imap_port"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"IMAP server {where} did not answer within {timeout:.0f} s"
    if isinstance(error, ConnectionRefusedError):
        return f"IMAP server {where} refused the connection: check imap_host and imap_port"
    if isinstance(error, OSError):
        return f"connection to IMAP server {where} failed: {error.strerror or error}"
    if isinstance(error, imaplib.IMAP4.abort):
        return f"the connection to IMAP server {where} was lost ({error})"
    text = str(error).strip().splitlines()
    return f"IMAP server {where}: {text[0] if text else type(error).__name__}"


def keep_alive(sock: socket.socket) -> None:
    """A peer that vanished while we wait in IDLE is noticed in about a minute and a half."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def open_client(config: MailboxConfig, environ: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> IMAPClient:
    """A logged-in client (no folder selected). Raises ImapFailure or ConfigError."""
    problem = config_problem(config)
    if problem:
        raise ConfigError(problem)
    password = read_password(config, environ)
    context = None if config.tls is TlsMode.NONE else tls_context(config)
    try:
        client = IMAPClient(config.host, port=config.effective_port, ssl=config.tls is TlsMode.IMPLICIT,
                            ssl_context=context, timeout=SocketTimeout(min(timeout, CONNECT_SECONDS), timeout))  # fmt: skip
    except NETWORK_ERRORS as error:
        raise ImapFailure(describe(error, config, timeout)) from None
    try:
        keep_alive(client.socket())
        if config.tls is TlsMode.STARTTLS:
            client.starttls(context)
        client.login(config.user, password)
    except LoginError as error:
        client.shutdown()
        reason = str(error).strip().removeprefix("b'").removeprefix('b"').rstrip("'\"") or "refused"
        raise ImapFailure(
            f"IMAP login as {config.user} at {config.host} failed ({reason}): check imap_user and "
            "the password (providers such as Gmail and Fastmail want an app password)"
        ) from None
    except NETWORK_ERRORS as error:
        safe_close(client)
        raise ImapFailure(describe(error, config, timeout)) from None
    return client


def safe_close(client: IMAPClient | None) -> None:
    """Log out if the connection still works; close it in any case."""
    if client is None:
        return
    try:
        client.socket().settimeout(5)
        client.logout()
    except Exception:  # noqa: BLE001 - the connection is being dropped anyway
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass


def ensure_folder(client: IMAPClient, folder: str) -> None:
    if folder and not client.folder_exists(folder):
        client.create_folder(folder)


def move(client: IMAPClient, uids: Sequence[int], folder: str) -> None:
    """MOVE (RFC 6851), or COPY, \\Deleted and EXPUNGE (UID EXPUNGE when the server has UIDPLUS)."""
    if not uids:
        return
    if client.has_capability("MOVE"):
        client.move(list(uids), folder)
        return
    client.copy(list(uids), folder)
    client.add_flags(list(uids), [b"\\Deleted"], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(list(uids))
    else:
        client.expunge()


def mark_seen(client: IMAPClient, uids: Sequence[int]) -> None:
    if uids:
        client.add_flags(list(uids), [b"\\Seen"], silent=True)


def wait_for_mail(client: IMAPClient, seconds: float, stopping: Callable[[], bool]) -> bool:
    """IDLE until the server reports new mail (True), `seconds` pass or `stopping()` (False).
    Raises ConnectionError when the server hung up or said BYE (the caller drops the connection)."""
    deadline, quick_empty, found = time.monotonic() + seconds, 0, False
    client.idle()
    while not found and time.monotonic() < deadline and not stopping():
        started = time.monotonic()
        responses = client.idle_check(timeout=1.0)
        if any(r and r[0] == b"BYE" for r in responses):
            raise ConnectionError("the server said BYE")
        found = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        quick_empty = quick_empty + 1 if not responses and time.monotonic() - started < 0.5 else 0
        if quick_empty >= 3:  # readable but nothing to read: imapclient's way of saying EOF
            raise ConnectionError("the server closed the connection")
    client.idle_done()
    return found
