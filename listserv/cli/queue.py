"""The queue by hand: `listserv inject` (a message from a pipe), `quarantine` and `status`."""

from __future__ import annotations

import sys

import click

from listserv.cli_context import CliContext, echo_json, pass_cli
from listserv.inbound.ingest import make_receive
from listserv.inbound.limits import check_limits
from listserv.inbound.replies import Refused
from listserv.inbound.server import limits_of
from listserv.mail.addresses import parse_recipient
from listserv.mail.parse import parse_bytes, sender_of
from listserv.store import admin, queries

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 65, 67, 75  # sysexits.h, as MTAs read them


@click.command()
@click.argument("list_address")
@click.option("--sender", "-f", default=None, help="Envelope sender (default: the From address).")
@click.option("--now", is_flag=True, help="Also process and deliver at once, without `listserv serve`.")
@pass_cli
def inject(ctx: CliContext, list_address: str, sender: str | None, now: bool) -> None:
    """Run one message from standard input through the pipeline (exit 0, 65, 67 or 75)."""
    raw = sys.stdin.buffer.read()
    try:
        code = _inject(ctx, ctx.address(list_address), raw, sender, now)
    except Exception as error:  # an MTA must get a tempfail, not a traceback
        click.echo(f"listserv inject: temporary failure: {error}", err=True)
        code = EX_TEMPFAIL
    sys.exit(code)


def _inject(ctx: CliContext, address: str, raw: bytes, sender: str | None, now: bool) -> int:
    with ctx.session() as session:
        rcpt = parse_recipient(address, queries.load_list_addresses(session))
    if rcpt is None:
        click.echo(f"listserv inject: no such list {address}", err=True)
        return EX_NOUSER
    refusal = check_limits(raw, limits_of(ctx.settings))
    if refusal is not None:
        click.echo(f"listserv inject: refused: {refusal}", err=True)
        return EX_DATAERR
    mail_from = sender if sender is not None else sender_of(parse_bytes(raw))[0]
    try:
        make_receive(ctx.work.sessions, ctx.settings.max_message_size, ctx.clock)(raw, rcpt, mail_from, address)
    except Refused as refused:
        click.echo(f"listserv inject: refused: {refused.reply}", err=True)
        return EX_TEMPFAIL if refused.reply.code < 500 else EX_DATAERR
    if now:
        ctx.deliver(ctx.work)
    return 0


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


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def status(ctx: CliContext, as_json: bool) -> None:
    """Counts of inbound messages, batches and deliveries by state."""
    with ctx.session() as session:
        counts = admin.queue_counts(session)
    if as_json:
        return echo_json([{"queue": k, "count": v} for k, v in sorted(counts.items())])
    for key, value in sorted(counts.items()):
        click.echo(f"{key}\t{value}")
