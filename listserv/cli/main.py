"""The `listserv` command: parse arguments, load Settings, call one function."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from listserv.mail.addresses import address_problem, normalize_address, parse_recipient
from listserv.inbound.ingest import make_receive
from listserv.inbound.limits import check_limits
from listserv.membership.commands import DELIVERY_MODES
from listserv.inbound.replies import Refused
from listserv.settings import Settings, SettingsError, load_settings
from listserv.store import admin, db, queries

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 65, 67, 75  # sysexits.h, as MTAs read them
IMPORT_CHUNK = 5000


@dataclass
class Context:
    config: str | None
    _settings: Settings | None = None
    _engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config, os.environ)
            except SettingsError as error:
                raise click.ClickException(f"configuration: {error}") from None
            logging.basicConfig(level=self._settings.log_level.upper(),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.open_engine(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def address(self, value: str) -> str:
        """A list address; a bare name gets the default domain."""
        return normalize_address(value if "@" in value else f"{value}@{self.settings.domain}")


pass_context = click.make_pass_decorator(Context)


def echo_json(rows: object) -> None:
    click.echo(json.dumps(rows, indent=2, default=str))


@click.group()
@click.option("--config", "config", type=click.Path(dir_okay=False), help="TOML file (or LISTSERV_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """listserv: an email-first engine for communities of practice."""
    ctx.obj = Context(config)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or upgrade the database schema (idempotent), and the secret_file if it is missing."""
    from listserv.membership.secret import ensure_secret

    db.upgrade(ctx.engine)
    click.echo(f"database ready: {ctx.engine.url.render_as_string()}")
    if ensure_secret(ctx.settings.secret_file):
        click.echo(f"secret created: {ctx.settings.secret_file} (keep it; every node needs the same file)")


@main.command()
@pass_context
def serve(ctx: Context) -> None:
    """Run the LMTP and SMTP listeners, the worker and outbound delivery."""
    from listserv import service

    try:
        db.check_durability(ctx.engine)
        db.require_current_schema(ctx.engine)
    except db.DatabaseError as error:
        raise click.ClickException(str(error)) from None
    asyncio.run(service.run(ctx.settings, ctx.engine))


@main.command()
@click.argument("list_address")
@click.option("--sender", "-f", default=None, help="Envelope sender (default: the From address).")
@click.option("--now", is_flag=True, help="Also process and deliver at once, without `listserv serve`.")
@pass_context
def inject(ctx: Context, list_address: str, sender: str | None, now: bool) -> None:
    """Run one message from standard input through the pipeline (exit 0, 65, 67 or 75)."""
    raw = sys.stdin.buffer.read()
    try:
        code = _inject(ctx, ctx.address(list_address), raw, sender, now)
    except Exception as error:  # an MTA must get a tempfail, not a traceback
        click.echo(f"listserv inject: temporary failure: {error}", err=True)
        code = EX_TEMPFAIL
    sys.exit(code)


def _inject(ctx: Context, address: str, raw: bytes, sender: str | None, now: bool) -> int:
    from listserv.mail.parse import parse_bytes, sender_of
    from listserv.service import limits_of

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
        make_receive(db.sessions(ctx.engine), ctx.settings.max_message_size)(raw, rcpt, mail_from, address)
    except Refused as refused:
        click.echo(f"listserv inject: refused: {refused.reply}", err=True)
        return EX_TEMPFAIL if refused.reply.code < 500 else EX_DATAERR
    if now:
        asyncio.run(_drain(ctx))
    return 0


async def _drain(ctx: Context) -> None:
    from listserv.outbound.relay import open_relay
    from listserv.render import Templates
    from listserv.outbound.send import Sender
    from listserv.worker.process import Worker

    sessions = db.sessions(ctx.engine)
    worker = Worker(sessions, ctx.settings, Templates(ctx.settings.templates_dir))
    while worker.process_next():
        pass
    relay = open_relay(ctx.settings.relay)
    sender = Sender(sessions, ctx.settings, relay)
    try:
        while await sender.send_next():
            pass
    finally:
        await relay.close()


# -- lists ---------------------------------------------------------------------------------------


@main.group(name="list")
def list_group() -> None:
    """Create, show and change lists."""


def list_row(row: object) -> dict[str, object]:
    names = ["address", "name", "description", *admin.LIST_SETTINGS, "created_at"]
    return {name: getattr(row, name) for name in dict.fromkeys(names)}


@list_group.command("create")
@click.argument("address")
@click.option("--name", required=True)
@click.option("--description", default="")
@click.option("--facilitator", "facilitators", multiple=True, help="Repeat for several.")
@pass_context
def list_create(ctx: Context, address: str, name: str, description: str, facilitators: tuple[str, ...]) -> None:
    """Create a list at ADDRESS."""
    address = ctx.address(address)
    problems = [(a, address_problem(normalize_address(a))) for a in (address, *facilitators)]
    for value, problem in problems:
        if problem:
            raise click.ClickException(f"{value}: {problem}")
    with ctx.session() as session, session.begin():
        try:
            row = admin.create_list(session, address, name, description)
        except admin.AdminError as error:
            raise click.ClickException(str(error)) from None
        for email in facilitators:
            admin.add_member(session, row.id, normalize_address(email), role="facilitator")
    click.echo(f"created {address}")


@list_group.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_ls(ctx: Context, as_json: bool) -> None:
    """All lists, with their member counts."""
    from sqlalchemy import func, select

    from listserv.store.schema import MailingList, Member

    with ctx.session() as session:
        counts = dict(session.execute(select(Member.list_id, func.count()).group_by(Member.list_id)).all())
        rows = [list_row(r) | {"members": counts.get(r.id, 0)}
                for r in session.scalars(select(MailingList).order_by(MailingList.address))]  # fmt: skip
    if as_json:
        return echo_json(rows)
    for row in rows:
        click.echo(f"{row['address']}\t{row['members']} members\t{row['name']}")


@list_group.command("show")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_show(ctx: Context, address: str, as_json: bool) -> None:
    """One list's settings."""
    with ctx.session() as session:
        try:
            row = list_row(admin.get_list(session, ctx.address(address)))
        except admin.AdminError as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        return echo_json(row)
    for key, value in row.items():
        click.echo(f"{key}: {value}")


@list_group.command("set")
@click.argument("address")
@click.argument("key")
@click.argument("value")
@pass_context
def list_set(ctx: Context, address: str, key: str, value: str) -> None:
    """Change a setting: name, description, subject_prefix, reply_to (leave|list|explicit),
    reply_to_address, max_message_size, personalize (yes|no), archive_url."""
    with ctx.session() as session, session.begin():
        try:
            admin.set_list(session, ctx.address(address), key, value)
        except admin.AdminError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{key} = {value}")


# -- members -------------------------------------------------------------------------------------


@main.group()
def member() -> None:
    """Add, remove, list, import, export, invite and show members."""


def _list_id(ctx: Context, session: Session, address: str) -> int:
    try:
        return admin.get_list(session, ctx.address(address)).id
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None


def _valid(email: str) -> str:
    email = normalize_address(email)
    problem = address_problem(email)
    if problem:
        raise click.ClickException(f"{email}: {problem}")
    return email


@member.command("add")
@click.argument("list_address")
@click.argument("email")
@click.option("--name", default="")
@click.option("--role", type=click.Choice(admin.ROLES), default="member")
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default=None, help="How they receive posts.")
@click.option("--send-welcome", is_flag=True, help="Send the list's welcome mail (starts the orientation).")
@pass_context
def member_add(ctx: Context, list_address: str, email: str, name: str, role: str, delivery: str | None,
               send_welcome: bool) -> None:  # fmt: skip
    """Add EMAIL to a list (or change the role of a member). No confirmation is asked."""
    from listserv.membership import cli as membership

    email = _valid(email)
    with ctx.session() as session, session.begin():
        list_id = _list_id(ctx, session, list_address)
        new = not queries.is_member(session, list_id, email)
        admin.add_member(session, list_id, email, name, role)
        membership.after_add(ctx, session, list_id, email, delivery, send_welcome, new)
    click.echo(f"{email} is a {role} of {ctx.address(list_address)}")


@member.command("rm")
@click.argument("list_address")
@click.argument("email")
@pass_context
def member_rm(ctx: Context, list_address: str, email: str) -> None:
    """Remove EMAIL from a list."""
    from listserv.membership import cli as membership

    with ctx.session() as session, session.begin():
        list_id = _list_id(ctx, session, list_address)
        if not queries.remove_member(session, list_id, normalize_address(email)):
            raise click.ClickException(f"{email} is not a member")
        membership.note_removed(session, list_id, normalize_address(email))
    click.echo(f"removed {email}")


@member.command("set")
@click.argument("list_address")
@click.argument("email")
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default=None, help="How they receive posts.")
@pass_context
def member_set(ctx: Context, list_address: str, email: str, key: str | None, value: str | None,
               delivery: str | None) -> None:  # fmt: skip
    """Change a member setting: display_name, role, receive_own_posts (yes|no), delivery
    (each|summary|mime-digest|plain-digest|none), expires (YYYY-MM-DD|never), vacation_until (YYYY-MM-DD|off)."""
    from listserv.membership import cli as membership

    changes = ([(key, value)] if key is not None and value is not None else []) + (
        [("delivery", delivery)] if delivery else [])  # fmt: skip
    if not changes or (key is not None and value is None):
        raise click.UsageError("give KEY VALUE, or --delivery MODE")
    with ctx.session() as session, session.begin():
        list_id = _list_id(ctx, session, list_address)
        for name, new in changes:
            try:
                if name.replace("-", "_") in membership.MEMBERSHIP_KEYS:
                    membership.set_membership(session, list_id, normalize_address(email), name, new)
                else:
                    admin.set_member(session, list_id, normalize_address(email), name, new)
            except admin.AdminError as error:
                raise click.ClickException(str(error)) from None
    for name, new in changes:
        click.echo(f"{name} = {new}")


@member.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def member_ls(ctx: Context, list_address: str, as_json: bool) -> None:
    """The members of a list, oldest first (streamed: fine for large lists)."""
    fields = ("email", "display_name", "role", "receive_own_posts", "delivery", "created_at")
    with ctx.session() as session:
        rows = admin.iter_members(session, _list_id(ctx, session, list_address))
        if as_json:
            _stream_json({f: getattr(m, f) for f in fields} for m in rows)
            return
        for m in rows:
            click.echo(f"{m.email}\t{m.role}\t{m.display_name}")


def _stream_json(rows: Iterator[dict[str, object]]) -> None:
    click.echo("[")
    for index, row in enumerate(rows):
        click.echo(("," if index else "") + json.dumps(row, default=str))
    click.echo("]")


def read_member_rows(handle: IO[str]) -> Iterator[tuple[int, str, str, str | None]]:
    """(line number, email, name, problem) for each non-empty row of a CSV or address list."""
    for number, row in enumerate(csv.reader(handle), start=1):
        if not row or not row[0].strip() or row[0].strip().startswith("#"):
            continue
        email = normalize_address(row[0])
        name = row[1].strip() if len(row) > 1 else ""
        if number == 1 and email.lower() in ("email", "address"):
            continue  # a header row
        yield number, email, name, address_problem(email)


@member.command("import")
@click.argument("list_address")
@click.argument("file", type=click.File("r", encoding="utf-8-sig", errors="replace"))
@click.option("--send-welcome", is_flag=True, help="Send new members the list's welcome mail.")
@click.option("--confirm", is_flag=True, help="Add nobody: send each new address a confirmation to reply to.")
@pass_context
def member_import(ctx: Context, list_address: str, file: IO[str], send_welcome: bool, confirm: bool) -> None:
    """Import members from FILE: CSV `email,name` or one address per line ('-' for stdin).
    No mail is sent unless --send-welcome or --confirm is given."""
    added = bad = total = 0
    size = Path(file.name).stat().st_size if file.name not in ("<stdin>", "-") else 0
    with ctx.session() as session:
        list_id = _list_id(ctx, session, list_address)
    chunk: list[tuple[str, str]] = []
    with click.progressbar(length=size or 1, label="importing", file=sys.stderr) as bar:
        for number, email, name, problem in read_member_rows(file):
            if problem:
                bad += 1
                click.echo(f"line {number}: {email}: {problem}", err=True)
                continue
            total += 1
            chunk.append((email, name))
            if len(chunk) >= IMPORT_CHUNK:
                added += _import_chunk(ctx, list_id, chunk, send_welcome, confirm)
                bar.update(_position(file) - bar.pos)
        added += _import_chunk(ctx, list_id, chunk, send_welcome, confirm)
        bar.update((size or 1) - bar.pos)
    if confirm:
        click.echo(f"sent {added} confirmations ({total - added} already members or asked this hour, {bad} bad rows)")
        return
    click.echo(f"imported {added} new members ({total - added} already members, {bad} bad rows)")


def _position(handle: IO[str]) -> int:
    try:
        return handle.buffer.tell() if isinstance(handle, io.TextIOWrapper) else 0
    except (OSError, ValueError):
        return 0


def _import_chunk(ctx: Context, list_id: int, chunk: list[tuple[str, str]], send_welcome: bool = False,
                  confirm: bool = False) -> int:  # fmt: skip
    from listserv.membership import cli as membership

    added = membership.import_chunk(ctx, list_id, chunk, send_welcome, confirm)
    chunk.clear()
    return added


# -- operations ----------------------------------------------------------------------------------


@main.group()
def quarantine() -> None:
    """Messages whose processing kept failing."""


@quarantine.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def quarantine_ls(ctx: Context, as_json: bool) -> None:
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
@pass_context
def quarantine_retry(ctx: Context, inbound_id: int) -> None:
    """Put a quarantined message back in the queue (after fixing the cause)."""
    with ctx.session() as session, session.begin():
        try:
            admin.retry_quarantined(session, inbound_id)
        except admin.AdminError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"message {inbound_id} queued again")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """Counts of inbound messages, batches and deliveries by state."""
    with ctx.session() as session:
        counts = admin.queue_counts(session)
    if as_json:
        return echo_json([{"queue": k, "count": v} for k, v in sorted(counts.items())])
    for key, value in sorted(counts.items()):
        click.echo(f"{key}\t{value}")


# -- feature command groups ----------------------------------------------------------------------
# Each feature keeps its commands in its own package and is registered here, one line each.
from listserv.moderation.cli import held, sender  # noqa: E402  (moderation, docs/moderation.md)
from listserv.discussions.cli import archive, thread  # noqa: E402  (discussions, docs/threading.md)

main.add_command(held)
main.add_command(sender)
main.add_command(archive)
main.add_command(thread)
from listserv.membership.cli import member_export, member_invite, member_show  # noqa: E402  (docs/membership.md)

member.add_command(member_export)
member.add_command(member_invite)
member.add_command(member_show)
from listserv.digest.cli import digest, poll, prompt  # noqa: E402  (digests and facilitation, docs/digest.md)

main.add_command(digest)
main.add_command(prompt)
main.add_command(poll)
