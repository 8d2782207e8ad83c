"""`listserv imap poll [LIST]` (one pass, for cron) and `listserv imap test LIST` (log in, report)."""

from __future__ import annotations

import os

import click

from listserv.cli_context import CliContext, echo_json, pass_cli
from listserv.errors import ListservError, ServiceError
from listserv.inbound.imap.client import NETWORK_ERRORS, describe, open_client, safe_close
from listserv.inbound.imap.intake import MailboxIntake, Summary
from listserv.inbound.imap.rules import Mailbox, pending, resume
from listserv.inbound.imap.state import load_mailboxes, load_position


@click.group(name="imap")
def imap_group() -> None:
    """Lists that take their mail from an IMAP mailbox: poll once (cron), test the settings."""


def mailboxes_of(ctx: CliContext, list_address: str | None) -> list[Mailbox]:
    with ctx.session() as session:
        found = load_mailboxes(session, ctx.address(list_address) if list_address else None)
    if not found:
        raise ServiceError("no list takes mail by IMAP: set imap_host, imap_user and imap_password_file "
                           "(`listserv list set LIST imap_host imap.example.org`, ...)")  # fmt: skip
    return found


@imap_group.command("poll")
@click.argument("list_address", required=False)
@click.option("--now", is_flag=True, help="Also process and deliver what was taken, without `listserv serve`.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def poll(ctx: CliContext, list_address: str | None, now: bool, as_json: bool) -> None:
    """Take the waiting mail of every IMAP mailbox (or LIST's) once, then log out.

    For cron when `listserv serve` does not run (with --now it also delivers), or to drain a
    backlog by hand. Exits 1 if a mailbox could not be read (one line each, on standard error);
    the others are still taken."""
    rows, failed = [], 0
    for mailbox in mailboxes_of(ctx, list_address):
        intake = MailboxIntake(mailbox, ctx.work.sessions, ctx.settings, ctx.clock, os.environ)
        summary, problem = Summary(), ""
        try:
            intake.connect()
            summary = intake.drain()
            intake.close()
        except (*NETWORK_ERRORS, ListservError) as error:  # one line each; the other mailboxes are still read
            problem = describe(error, mailbox.config)
            intake.close(problem)
        failed += bool(problem)
        rows.append({"mailbox": mailbox.key, "lists": list(mailbox.lists), "taken": summary.taken,
                     "failed": summary.failed, "left": summary.left, "error": problem})  # fmt: skip
        if problem:
            click.echo(f"listserv imap poll: {mailbox.key}: {problem}", err=True)
    if now:
        ctx.deliver(ctx.work)
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            if not row["error"]:
                click.echo(f"{row['mailbox']}\ttaken {row['taken']}\tfailed {row['failed']}\tleft {row['left']}")
    if failed:
        raise SystemExit(1)


@imap_group.command("test")
@click.argument("list_address")
@pass_cli
def test(ctx: CliContext, list_address: str) -> None:
    """Log in to LIST's mailbox and report what is there; change nothing.

    The server's IDLE and MOVE support, the folder's messages and UIDVALIDITY, how many wait to
    be taken, and whether the processed and failed folders exist (`serve` makes them)."""
    (mailbox,) = mailboxes_of(ctx, list_address)[:1]
    config = mailbox.config
    client = open_client(config, os.environ)
    try:
        capabilities = {c.decode("ascii", "replace").upper() for c in client.capabilities()}
        if not client.folder_exists(config.folder):
            raise ServiceError(f"logged in as {config.user} at {config.host}, but there is no folder "
                               f"{config.folder!r}: check imap_folder")  # fmt: skip
        selected = client.select_folder(config.folder, readonly=True)
        with ctx.session() as session:
            position = resume(load_position(session, mailbox), int(selected.get(b"UIDVALIDITY", 0)))
        new = client.search(["UID", f"{position.last_uid + 1}:*", "NOT", "DELETED"])
        not_done = client.search(["NOT", "DELETED"] if config.processed_folder else ["UNSEEN", "NOT", "DELETED"])
        folders = {name: client.folder_exists(name) for name in (config.processed_folder, config.failed_folder) if name}
    except NETWORK_ERRORS as error:
        raise ServiceError(describe(error, config)) from None
    finally:
        safe_close(client)
    click.echo(f"logged in as {config.user} at {config.host}:{config.effective_port} ({config.tls.value} TLS)")
    click.echo(f"lists: {', '.join(mailbox.lists)}")
    click.echo(
        "server: " + ", ".join(f"{c} {'yes' if c in capabilities else 'no'}" for c in ("IDLE", "MOVE", "UIDPLUS"))
    )
    click.echo(f"folder {config.folder}: {int(selected.get(b'EXISTS', 0))} messages, "
               f"UIDVALIDITY {int(selected.get(b'UIDVALIDITY', 0))}, {len(pending(new, not_done, position.last_uid))} "
               "waiting to be taken")  # fmt: skip
    for name, exists in folders.items():
        click.echo(f"folder {name}: {'exists' if exists else 'missing (made on the first poll)'}")
