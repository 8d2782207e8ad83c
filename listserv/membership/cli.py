"""`listserv member ...`: add, remove, list, change, import, export, invite and show members."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import IO

import click
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from listserv.cli_context import CliContext, pass_cli, stream_json, valid_address
from listserv.errors import Invalid, NotFound
from listserv.mail.addresses import address_problem, normalize_address
from listserv.membership import store, token_store
from listserv.membership.commands import DELIVERY_MODES
from listserv.membership.lifecycle import RequestOutcome, event, request_join, welcome
from listserv.membership.lifecycle import invite as send_invitation
from listserv.membership.mail import Scope, open_scope
from listserv.membership.policy import expiry_for
from listserv.store import admin, queries
from listserv.store.schema import Member

MEMBERSHIP_KEYS = ("delivery", "expires", "vacation_until")
EXPORT_FIELDS = ("email", "display_name", "role", "delivery", "created_at", "expires_at", "vacation_until")
IMPORT_CHUNK = 5000


def scope_for(ctx: CliContext, session: Session, list_id: int) -> Scope:
    return open_scope(ctx.work, session, list_id)


def list_id_of(ctx: CliContext, session: Session, address: str) -> int:
    return ctx.list_row(session, address).id


@click.group()
def member() -> None:
    """Add, remove, list, import, export, invite and show members."""


@member.command("add")
@click.argument("list_address")
@click.argument("email")
@click.option("--name", default="")
@click.option("--role", type=click.Choice(admin.ROLES), default="member")
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default=None, help="How they receive posts.")
@click.option("--send-welcome", is_flag=True, help="Send the list's welcome mail (starts the orientation).")
@pass_cli
def member_add(ctx: CliContext, list_address: str, email: str, name: str, role: str, delivery: str | None,
               send_welcome: bool) -> None:  # fmt: skip
    """Add EMAIL to a list (or change the role of a member). No confirmation is asked."""
    email = valid_address(email)
    with ctx.session() as session, session.begin():
        list_id = list_id_of(ctx, session, list_address)
        new = not queries.is_member(session, list_id, email)
        admin.add_member(session, list_id, email, ctx.now(), name, role)
        after_add(ctx, session, list_id, email, delivery, send_welcome, new)
    click.echo(f"{email} is a {role} of {ctx.address(list_address)}")


@member.command("rm")
@click.argument("list_address")
@click.argument("email")
@pass_cli
def member_rm(ctx: CliContext, list_address: str, email: str) -> None:
    """Remove EMAIL from a list."""
    with ctx.session() as session, session.begin():
        list_id = list_id_of(ctx, session, list_address)
        if not store.remove_member(session, list_id, normalize_address(email)):
            raise NotFound(f"{email} is not a member")
        note_removed(session, list_id, normalize_address(email), ctx.now())
    click.echo(f"removed {email}")


@member.command("set")
@click.argument("list_address")
@click.argument("email")
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default=None, help="How they receive posts.")
@pass_cli
def member_set(ctx: CliContext, list_address: str, email: str, key: str | None, value: str | None,
               delivery: str | None) -> None:  # fmt: skip
    """Change a member setting: display_name, role, receive_own_posts (yes|no), delivery
    (each|summary|mime-digest|plain-digest|none), expires (YYYY-MM-DD|never), vacation_until (YYYY-MM-DD|off)."""
    changes = ([(key, value)] if key is not None and value is not None else []) + (
        [("delivery", delivery)] if delivery else [])  # fmt: skip
    if not changes or (key is not None and value is None):
        raise click.UsageError("give KEY VALUE, or --delivery MODE")
    with ctx.session() as session, session.begin():
        list_id = list_id_of(ctx, session, list_address)
        for name, new in changes:
            if name.replace("-", "_") in MEMBERSHIP_KEYS:
                set_membership(session, list_id, normalize_address(email), name, new, ctx.now())
            else:
                admin.set_member(session, list_id, normalize_address(email), name, new, ctx.member_settings)
    for name, new in changes:
        click.echo(f"{name} = {new}")


@member.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def member_ls(ctx: CliContext, list_address: str, as_json: bool) -> None:
    """The members of a list, oldest first (streamed: fine for large lists)."""
    fields = ("email", "display_name", "role", "receive_own_posts", "delivery", "created_at")
    with ctx.session() as session:
        rows = admin.iter_members(session, list_id_of(ctx, session, list_address))
        if as_json:
            stream_json({f: getattr(m, f) for f in fields} for m in rows)
            return
        for m in rows:
            click.echo(f"{m.email}\t{m.role}\t{m.display_name}")


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
@pass_cli
def member_import(ctx: CliContext, list_address: str, file: IO[str], send_welcome: bool, confirm: bool) -> None:
    """Import members from FILE: CSV `email,name` or one address per line ('-' for stdin).
    No mail is sent unless --send-welcome or --confirm is given."""
    added = bad = total = 0
    size = Path(file.name).stat().st_size if file.name not in ("<stdin>", "-") else 0
    with ctx.session() as session:
        list_id = list_id_of(ctx, session, list_address)
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
                added += import_chunk(ctx, list_id, chunk, send_welcome, confirm)
                chunk.clear()
                bar.update(_position(file) - bar.pos)
        added += import_chunk(ctx, list_id, chunk, send_welcome, confirm)
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


# -- hooks for member add / import / set / rm -----------------------------------------------------


def after_add(ctx: CliContext, session: Session, list_id: int, email: str, delivery: str | None,
              send_welcome: bool, new: bool) -> bool:  # fmt: skip
    """A member added by an operator: delivery, expiry per the list, history, welcome if asked.
    Returns whether a welcome mail was queued."""
    scope = scope_for(ctx, session, list_id)
    member = store.find_member(session, list_id, email)
    if member is None:
        return False
    if delivery:
        member.delivery = delivery
    if not new:
        return False
    if member.role == "member":
        member.expires_at = expiry_for(scope.policy, scope.now)
    event(scope, email, "added", "by operator")
    return send_welcome and welcome(scope, email, member.display_name)


def import_chunk(ctx: CliContext, list_id: int, chunk: Sequence[tuple[str, str]], send_welcome: bool = False,
                 confirm: bool = False) -> int:  # fmt: skip
    """Import one chunk in one transaction; returns the members added (or, with confirm, the
    confirmations sent: nobody is added then, each new address is asked to reply first).
    New members get the list's membership length; with send_welcome, the welcome too."""
    rows = list(dict(chunk).items())
    with ctx.session() as session, session.begin():
        scope = scope_for(ctx, session, list_id)
        plain = not (send_welcome or confirm or scope.policy.membership_days)
        if plain:  # the bulk path: one INSERT, nothing per member
            return admin.insert_members(session, list_id, rows, scope.now)
        emails = [email for email, _ in rows]
        existing = set(session.scalars(select(Member.email).where(Member.list_id == list_id, Member.email.in_(emails))))
        fresh = [(email, name) for email, name in rows if email not in existing]
        if confirm:
            sent = [request_join(scope, email, name=name, by_operator=True) for email, name in fresh]
            return sum(outcome is RequestOutcome.CONFIRM_SENT for outcome in sent)
        added = admin.insert_members(session, list_id, fresh, scope.now)
        expires = expiry_for(scope.policy, scope.now)
        if expires is not None:
            session.execute(update(Member).where(Member.list_id == list_id, Member.email.in_([e for e, _ in fresh]))
                            .values(expires_at=expires))  # fmt: skip
        for email, name in fresh if send_welcome else []:
            event(scope, email, "added", "import")
            welcome(scope, email, name)
        return added


def set_membership(session: Session, list_id: int, email: str, key: str, value: str, now: datetime) -> None:
    """member set: delivery (a mode), expires (YYYY-MM-DD or never), vacation_until (YYYY-MM-DD or off)."""
    member = store.find_member(session, list_id, email)
    if member is None:
        raise NotFound(f"{email} is not a member")
    key = key.replace("-", "_")
    if key == "delivery":
        if value not in DELIVERY_MODES:
            raise Invalid(f"delivery must be one of: {', '.join(DELIVERY_MODES)}")
        member.delivery = value
    elif key == "expires":
        member.expires_at = None if value in ("never", "none", "") else parse_date_setting(value, "expires")
    elif key == "vacation_until":
        member.vacation_until = None if value in ("off", "none", "") else parse_date_setting(value, "vacation_until")
    else:
        raise Invalid(f"unknown membership setting {key}")
    if key == "expires":
        store.forget_steps(session, list_id, email, "renew:")  # reminders for the new date
    store.add_event(session, list_id, email, key.replace("_", "-"), f"{value} (operator)", now)


def parse_date_setting(value: str, key: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time())
    except ValueError:
        raise Invalid(f"{key} must be a date as YYYY-MM-DD") from None


def note_removed(session: Session, list_id: int, email: str, now: datetime) -> None:
    store.forget_steps(session, list_id, email)
    store.add_event(session, list_id, email, "removed", "by operator", now)


@member.command("export")
@click.argument("list_address")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@pass_cli
def member_export(ctx: CliContext, list_address: str, fmt: str) -> None:
    """Write a list's members to standard output (CSV with a header row, which `member import` reads back)."""
    with ctx.session() as session:
        rows = admin.iter_members(session, list_id_of(ctx, session, list_address))
        if fmt == "json":
            click.echo("[")
            for index, m in enumerate(rows):
                click.echo(("," if index else "") + json.dumps({f: getattr(m, f) for f in EXPORT_FIELDS}, default=str))
            click.echo("]")
            return
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(EXPORT_FIELDS)
        for m in rows:
            writer.writerow(["" if getattr(m, f) is None else getattr(m, f) for f in EXPORT_FIELDS])


@member.command("invite")
@click.argument("list_address")
@click.argument("email")
@click.option("--name", default="")
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default="each", show_default=True)
@click.option("--note", default="", help="A line of your own for the invitation.")
@pass_cli
def member_invite(ctx: CliContext, list_address: str, email: str, name: str, delivery: str, note: str) -> None:
    """Invite EMAIL: they become a member by replying to the invitation (`listserv serve` sends it)."""
    email = normalize_address(email)
    problem = address_problem(email)
    if problem:
        raise Invalid(f"{email}: {problem}")
    with ctx.session() as session, session.begin():
        scope = scope_for(ctx, session, list_id_of(ctx, session, list_address))
        outcome = send_invitation(scope, email, name=name, delivery=delivery, invited_by="operator", note=note)
    messages = {
        RequestOutcome.INVITED: f"invitation to {email} queued",
        RequestOutcome.ALREADY_MEMBER: f"{email} is already a member",
        RequestOutcome.PENDING: f"{email} was invited less than an hour ago; the invitation is still valid",
        RequestOutcome.RATE_LIMITED: f"{email} got too many confirmations this hour; try again later",
    }  # fmt: skip
    if outcome is not RequestOutcome.INVITED:
        raise Invalid(messages.get(outcome, outcome.value))
    click.echo(messages[outcome])


@member.command("show")
@click.argument("list_address")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def member_show(ctx: CliContext, list_address: str, email: str, as_json: bool) -> None:
    """One member (or former member) and their history: joined, confirmed, guidelines, delivery, expiry."""
    email = normalize_address(email)
    with ctx.session() as session:
        list_id = list_id_of(ctx, session, list_address)
        report = member_report(session, list_id, email, ctx.now())
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for key, value in report.items():
        if isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo("  " + "  ".join(str(v) for v in item.values()))
        else:
            click.echo(f"{key}: {'-' if value is None else value}")


def member_report(session: Session, list_id: int, email: str, now: datetime) -> dict[str, object]:
    member = store.find_member(session, list_id, email)
    events = store.history(session, list_id, email)

    def last(name: str) -> object:
        found = [e for e in events if e.event == name]
        return f"{found[-1].at:%Y-%m-%d %H:%M} {found[-1].detail}".strip() if found else None

    position = store.waitlist_position(session, list_id, email)
    status = "member" if member else (f"wait-list position {position}" if position else "not a member")
    tokens = token_store.waiting_replies(session, list_id, email, now)
    return {
        "email": email, "status": status,
        "role": member.role if member else None, "display_name": member.display_name if member else None,
        "delivery": member.delivery if member else None,
        "joined": member.created_at if member else last("joined"),
        "confirmed": last("confirmed") or last("accepted-invitation"),
        "accepted_guidelines": last("accepted-guidelines"),
        "expires": member.expires_at if member else None,
        "vacation_until": member.vacation_until if member else None,
        "history": [{"at": f"{e.at:%Y-%m-%d %H:%M}", "event": e.event, "detail": e.detail} for e in events],
        "steps": [{"at": f"{s.at:%Y-%m-%d %H:%M}", "step": s.step, "status": s.status}
                  for s in store.steps_of(session, list_id, email)],
        "waiting_for_reply": [{"kind": t.purpose, "sent": f"{t.created_at:%Y-%m-%d %H:%M}",
                               "expires": f"{t.expires_at:%Y-%m-%d %H:%M}"} for t in tokens],
    }  # fmt: skip
