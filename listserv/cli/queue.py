"""The queue by hand: `listserv inject` (a message from a pipe), `quarantine` and `status`."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from listserv.cli.nodes import load_report
from listserv.cli_context import CliContext, echo_json, pass_cli
from listserv.dkim.readiness import readiness
from listserv.errors import ListservError
from listserv.inbound.imap.rules import Mailbox
from listserv.inbound.imap.state import mailbox_states
from listserv.inbound.imap.tables import ImapMailbox
from listserv.inbound.ingest import IntakeItem, make_receive
from listserv.inbound.limits import check_limits
from listserv.inbound.replies import Refused, Reply
from listserv.inbound.server import limits_of
from listserv.mail.addresses import parse_recipient
from listserv.mail.message import ListStatus, Recipient
from listserv.mail.parse import parse_bytes, sender_of
from listserv.store import admin, db, queries
from listserv.store.schema import Inbound, InboundStatus, MailingList

EX_DATAERR, EX_NOUSER, EX_NOHOST, EX_TEMPFAIL, EX_NOPERM = 65, 67, 68, 75, 77  # sysexits.h, as MTAs read them
Outcome = tuple[int, str]  # exit status, and the line for stderr ("" when all is well)


@click.command()
@click.argument("list_address")
@click.option("--sender", "-f", default=None, help="Envelope sender (default: the From address).")
@click.option(
    "--now", is_flag=True, help="Also process and deliver at once, without `listserv serve` (75 if processing fails)."
)
@pass_cli
def inject(ctx: CliContext, list_address: str, sender: str | None, now: bool) -> None:
    """Run one message from standard input through the pipeline, as an MTA's pipe does.

    Exit status, in the sysexits codes an MTA's pipe understands: 0 stored (or stored before);
    65 (EX_DATAERR) refused for its content: too big, a header block too large, too complex;
    67 (EX_NOUSER) no such list; 68 (EX_NOHOST) the domain is not one of our lists' domains;
    75 (EX_TEMPFAIL) a temporary failure, so the MTA tries again later: the message could not be
    stored (the database is unreachable, read-only or not migrated), or with --now it was stored
    but processing failed and it waits for a retry or was quarantined (`listserv quarantine ls`);
    77 (EX_NOPERM) the list takes no such mail (it is closed). A message injected again is
    recognised and stored once."""
    raw = sys.stdin.buffer.read()
    try:
        code, problem = _inject(ctx, ctx.address(list_address), raw, sender, now)
    except Exception as error:  # an MTA must get a tempfail and one line, not a traceback
        code, problem = EX_TEMPFAIL, f"temporary failure: {_one_line(ctx, error)}"
    if problem:
        click.echo(f"listserv inject: {problem}", err=True)
    sys.exit(code)


def _one_line(ctx: CliContext, error: Exception) -> str:
    if isinstance(error, ListservError):
        return str(error)
    failure = db.database_failure(error, ctx.database_url())
    if failure is not None:
        return str(failure)
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _inject(ctx: CliContext, address: str, raw: bytes, sender: str | None, now: bool) -> Outcome:
    with ctx.session() as session:
        lists = queries.load_list_addresses(session)
    rcpt = parse_recipient(address, lists)
    if rcpt is None:
        return _not_ours(address, lists, ctx.settings.domain)
    refusal = check_limits(raw, limits_of(ctx.settings))
    if refusal is not None:
        return EX_DATAERR, f"refused: {refusal}"
    mail_from = sender if sender is not None else sender_of(parse_bytes(raw))[0]
    try:
        make_receive(ctx.work.sessions, ctx.settings.max_message_size, ctx.clock)(raw, rcpt, mail_from, address)
    except Refused as refused:
        return _refused(refused.reply)
    if not now:
        return 0, ""
    ctx.deliver(ctx.work)
    return _processed(ctx, IntakeItem(raw, rcpt, mail_from, address))


def _not_ours(address: str, lists: frozenset[str], default_domain: str) -> Outcome:
    domains = {list_address.rpartition("@")[2] for list_address in lists} | {default_domain.lower()}
    domain = address.rpartition("@")[2]
    if domain not in domains:
        return EX_NOHOST, f"{domain} is not one of our domains ({', '.join(sorted(domains))})"
    return EX_NOUSER, f"no such list {address}"


def _refused(reply: Reply) -> Outcome:
    """Our SMTP refusal as the exit status that makes an MTA say the same (RFC 3463 classes)."""
    if reply.code < 500:
        return EX_TEMPFAIL, f"refused: {reply}"
    if reply.status.startswith("5.1."):  # addressing: a removed list is no list
        return EX_NOUSER, f"refused: {reply}"
    if reply.status.startswith("5.7."):  # policy: a closed list
        return EX_NOPERM, f"refused: {reply}"
    return EX_DATAERR, f"refused: {reply}"


def _processed(ctx: CliContext, arrival: IntakeItem) -> Outcome:
    """After --now: 0 if the message was processed, else EX_TEMPFAIL and why."""
    rcpt: Recipient = arrival.rcpt
    query = (
        select(Inbound.id, Inbound.status, Inbound.error)
        .join(MailingList, MailingList.id == Inbound.list_id)
        .where(MailingList.address == rcpt.list_address, Inbound.role == rcpt.role.value)
        .where(Inbound.dedupe_key == arrival.key)
    )
    with ctx.session() as session:
        row = session.execute(query).first()
    if row is None or row.status == InboundStatus.DONE:
        return 0, ""
    reason = (row.error.strip().splitlines() or ["interrupted"])[0]
    if row.status == InboundStatus.QUARANTINED:
        return EX_TEMPFAIL, (f"message {row.id} stored but quarantined: {reason}; fix the cause, then "
                             f"`listserv quarantine retry {row.id}`")  # fmt: skip
    return EX_TEMPFAIL, f"message {row.id} stored but its processing failed: {reason}; it waits for a retry"


@click.group()
def quarantine() -> None:
    """Messages whose processing kept failing."""


@quarantine.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def quarantine_ls(ctx: CliContext, as_json: bool) -> None:
    """Quarantined messages with their reasons."""
    with ctx.session() as session:
        rows = [{"id": r.id, "rcpt": r.rcpt, "mail_from": r.mail_from, "message_id": r.message_id,
                 "received_at": r.received_at, "attempts": r.attempts, "error": r.error}
                for r in admin.quarantined(session)]  # fmt: skip
    if as_json:
        return echo_json(rows)
    for row in rows:
        click.echo(f"{row['id']}\t{row['rcpt']}\t{row['message_id']}\t{row['error']}")


@quarantine.command("retry")
@click.argument("inbound_id", type=int)
@pass_cli
def quarantine_retry(ctx: CliContext, inbound_id: int) -> None:
    """Put a quarantined message back in the queue (after fixing the cause)."""
    with ctx.session() as session, session.begin():
        admin.retry_quarantined(session, inbound_id)
    click.echo(f"message {inbound_id} queued again")


def mailbox_report(mailbox: Mailbox, row: ImapMailbox | None) -> dict[str, object]:
    """One IMAP mailbox's state, as `status` shows it (before its first connection: all zero)."""
    return {"mailbox": mailbox.key, "lists": list(mailbox.lists), "connected": bool(row and row.connected),
            "uidvalidity": row.uidvalidity if row else 0, "last_uid": row.last_uid if row else 0,
            "backlog": row.backlog if row else 0, "taken": row.taken if row else 0, "failed": row.failed if row else 0,
            "checked_at": row.checked_at if row else None, "last_error": row.last_error if row else "",
            "last_error_at": row.last_error_at if row else None}  # fmt: skip


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def status(ctx: CliContext, as_json: bool) -> None:
    """Counts of inbound messages, batches and deliveries by state.

    Then a `node` line for each `listserv serve` process sharing the database (docs/scaling.md):
    live, dead (no heartbeat for node_dead_seconds, or its process gone from this host) or
    stopped, and what it holds; and a `stale` line for each claim that is expired or held by a
    node that is not live (with --json, rows with a `node` or a `stale` key). Then an `imap`
    line for each IMAP mailbox (docs/imap.md): connected or not, the last UID taken, the
    backlog at the last look and the last error (with --json, a row with a `mailbox` key each). Then a `warning` line for each list whose mail is unsigned or has no one-click
    unsubscribe (on standard error with --json)."""
    with ctx.session() as session:
        counts = admin.queue_counts(session)
        report = load_report(session, ctx.settings, ctx.now())
        mailboxes = [mailbox_report(mailbox, row) for mailbox, row in mailbox_states(session)]
        lists = session.execute(select(MailingList.address, MailingList.one_click_unsubscribe)
                                .where(MailingList.status != ListStatus.REMOVED).order_by(MailingList.address)).all()  # fmt: skip
    warnings = [f"{address}: {line}" for address, one_click in lists
                for line in readiness(ctx.settings, address.rpartition("@")[2], one_click).warnings]  # fmt: skip
    if as_json:
        echo_json([{"queue": k, "count": v} for k, v in sorted(counts.items())] + report.rows() + mailboxes)
    else:
        for key, value in sorted(counts.items()):
            click.echo(f"{key}\t{value}")
        for line in report.lines(ctx.now()):
            click.echo(line)
        for mailbox in mailboxes:
            error = (
                f"\tlast error {mailbox['last_error_at']:%Y-%m-%d %H:%M}: {mailbox['last_error']}"
                if mailbox["last_error"]
                else ""
            )
            click.echo(f"imap\t{mailbox['mailbox']}\t{'connected' if mailbox['connected'] else 'not connected'}\t"
                       f"last UID {mailbox['last_uid']}\tbacklog {mailbox['backlog']}{error}")  # fmt: skip
    for line in warnings:
        click.echo(f"warning\t{line}", err=as_json)
