"""`listserv member ...`: add, remove, list, change, import, export, invite and show members."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import IO

import click
from sqlalchemy.orm import Session

from listserv.cli_context import CliContext, counted, pass_cli, stream_json, valid_address
from listserv.errors import Invalid, NotFound
from listserv.mail.addresses import address_problem, normalize_address
from listserv.membership import store, token_store, transfer
from listserv.membership.commands import DELIVERY_MODES
from listserv.membership.lifecycle import RequestOutcome, event, request_join, welcome
from listserv.membership.lifecycle import invite as send_invitation
from listserv.membership.mail import Scope, open_scope
from listserv.membership.policy import expiry_for
from listserv.membership.transfer import MemberRow
from listserv.store import admin, queries
from listserv.store.schema import Member

MEMBERSHIP_KEYS: dict[str, admin.ListSetting] = {  # `member set` keys membership handles itself (set_membership)
    "delivery": admin.ListSetting(str, DELIVERY_MODES, help="how they receive posts (also: --delivery MODE)"),
    "expires": admin.ListSetting(date, ("never",), help="the membership ends that day (no mail from then on)"),
    "vacation_until": admin.ListSetting(date, ("off",), help="no posts before that day"),
}
IMPORT_CHUNK = 5000  # members per transaction
READ_SIZE = 1 << 16  # characters read from the file at a time


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


def accepted_values(setting: admin.ListSetting) -> str:
    """What a setting takes, as `member set --help` shows it: yes|no, a whole number, its choices, ..."""
    choices = "|".join(choice or '""' for choice in setting.choices)
    if setting.kind is bool:
        return "yes|no"
    if setting.kind is int:
        return "a whole number"
    if setting.kind is date:
        return "|".join(["YYYY-MM-DD"] + ([choices] if choices else []))
    return choices or "text"


def describe_keys(registry: admin.Registry) -> str:
    """One paragraph a key: its name, what it takes, what it does."""
    return "\n\n".join(f"- `{key}` ({accepted_values(setting)}): {setting.help}" for key, setting in registry.items())


class MemberSetCommand(click.Command):
    """`member set`, whose help names every key of the registry with its type and values. cli/main.py
    hands it the registry (features.MEMBER_SETTINGS); membership's own keys (MEMBERSHIP_KEYS) follow."""

    registry: admin.Registry = admin.CORE_MEMBER_SETTINGS

    @property
    def help(self) -> str:
        return f"{self._intro}\n\nKeys:\n\n{describe_keys(dict(self.registry) | MEMBERSHIP_KEYS)}"

    @help.setter
    def help(self, text: str | None) -> None:
        self._intro = text or ""


@member.command("set", cls=MemberSetCommand)
@click.argument("list_address")
@click.argument("email")
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default=None, help="How they receive posts.")
@pass_cli
def member_set(ctx: CliContext, list_address: str, email: str, key: str | None, value: str | None,
               delivery: str | None) -> None:  # fmt: skip
    """Change a member's settings: KEY VALUE, or --delivery MODE."""
    changes = ([(key, value)] if key is not None and value is not None else []) + (
        [("delivery", delivery)] if delivery else [])  # fmt: skip
    if not changes or (key is not None and value is None):
        raise click.UsageError("give KEY VALUE, or --delivery MODE")
    known = dict(ctx.member_settings) | MEMBERSHIP_KEYS
    for name, _ in changes:
        if name.replace("-", "_") not in known:
            raise Invalid(f"unknown member setting {name}; known: {', '.join(known)}")
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


@member.command("import")
@click.argument("list_address")
@click.argument("file", type=click.File("r", encoding="utf-8-sig", errors="replace"))
@click.option(
    "--role",
    type=click.Choice(admin.ROLES),
    default=None,
    help="The role of members whose row gives none (facilitator: Mailman's --role owner output).",
)
@click.option(
    "--delivery",
    type=click.Choice(DELIVERY_MODES),
    default=None,
    help="The delivery of members whose row gives none (mime-digest: Mailman's --digest mime output).",
)
@click.option("--send-welcome", is_flag=True, help="Send new members the list's welcome mail.")
@click.option("--confirm", is_flag=True, help="Add nobody: send each new address a confirmation to reply to.")
@pass_cli
def member_import(ctx: CliContext, list_address: str, file: IO[str], role: str | None, delivery: str | None,
                  send_welcome: bool, confirm: bool) -> None:  # fmt: skip
    """Import members from FILE ('-' for stdin): what `member export` wrote (CSV or JSON), Mailman's
    `members` or `list_members` output (`Name <address>`), CSV `email,name`, or one address per line.

    Members already on the list are updated with what the file gives; bad rows are reported with
    their line number and skipped. No mail is sent unless --send-welcome or --confirm is given."""
    defaults = {name: value for name, value in (("role", role), ("delivery", delivery)) if value}
    with ctx.session() as session:
        list_id = list_id_of(ctx, session, list_address)
    reads = transfer.read_members(iter(partial(file.read, READ_SIZE), ""), member_vocabulary(ctx))
    size = Path(file.name).stat().st_size if file.name not in ("<stdin>", "-") else 0
    added = updated = bad = total = 0
    chunk: list[MemberRow] = []
    with click.progressbar(
        length=size or 1, label="importing", file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:  # no stray label in logs and pipes
        for read in reads:
            if read.row is None:
                bad += 1
                click.echo(f"line {read.line}: {read.text}: {read.problem}", err=True)
                continue
            total += 1
            chunk.append(transfer.with_defaults(read.row, defaults))
            if len(chunk) >= IMPORT_CHUNK:
                added, updated = tally((added, updated), import_chunk(ctx, list_id, chunk, send_welcome, confirm))
                chunk.clear()
                bar.update(_position(file) - bar.pos)
        added, updated = tally((added, updated), import_chunk(ctx, list_id, chunk, send_welcome, confirm))
        bar.update((size or 1) - bar.pos)
    others, bad_rows = total - added, counted(bad, "bad row")
    if confirm:
        click.echo(f"sent {counted(added, 'confirmation')} ({others} already members or asked this hour, {bad_rows})")
        return
    already = counted(others, "already a member", "already members")
    click.echo(f"imported {counted(added, 'new member')} ({already}, {bad_rows}); "
               f"updated {counted(updated, 'existing member')}")  # fmt: skip


def tally(counts: tuple[int, int], more: tuple[int, int]) -> tuple[int, int]:
    return counts[0] + more[0], counts[1] + more[1]


def member_vocabulary(ctx: CliContext) -> transfer.Vocabulary:
    """The values an imported field may take, from the settings registry (role, moderation, delivery)."""
    registry = dict(ctx.member_settings) | MEMBERSHIP_KEYS
    return {key: setting.choices for key, setting in registry.items() if setting.kind is str and setting.choices}


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


def import_chunk(ctx: CliContext, list_id: int, rows: Sequence[MemberRow], send_welcome: bool = False,
                 confirm: bool = False) -> tuple[int, int]:  # fmt: skip
    """Import one chunk in one transaction: (members added, existing members changed). With confirm,
    nobody is added or changed: each new address is asked to reply first, and the first number is
    the confirmations sent. New members get the list's membership length unless the row gives an
    expiry; with send_welcome, the welcome too. The last row for an address wins."""
    latest = {row.email: row for row in rows}
    with ctx.session() as session, session.begin():
        scope = scope_for(ctx, session, list_id)
        existing = store.members_by_email(session, list_id, list(latest))
        fresh = [row for email, row in latest.items() if email not in existing]
        if confirm:
            sent = [request_join(scope, row.email, name=row.display_name, delivery=row.delivery, by_operator=True)
                    for row in fresh]  # fmt: skip
            return sum(outcome is RequestOutcome.CONFIRM_SENT for outcome in sent), 0
        changed = [
            row for row in latest.values() if row.email in existing and update_member(scope, existing[row.email], row)
        ]
        expires = expiry_for(scope.policy, scope.now)
        added = store.insert_members(session, [new_member(list_id, row, expires, scope.now) for row in fresh])
        for row in fresh if send_welcome else []:
            event(scope, row.email, "added", "import")
            welcome(scope, row.email, row.display_name)
        return added, len(changed)


def new_member(list_id: int, row: MemberRow, expires: datetime | None, now: datetime) -> dict[str, object]:
    """The columns of a member imported from ROW: what it gives, else the defaults (joined now, the
    list's membership length for a plain member)."""
    values = {name: row.value(name) for name in transfer.FIELDS} | {"list_id": list_id}
    values["created_at"] = row.created_at or now
    if "expires_at" not in row.given and row.role == "member":
        values["expires_at"] = expires
    return values


def update_member(scope: Scope, member: Member, row: MemberRow) -> bool:
    """Set what ROW gives on an existing member; recorded in their history. Returns whether anything changed."""
    changed = [name for name in transfer.FIELDS
               if name in row.given and name != "email" and getattr(member, name) != row.value(name)]  # fmt: skip
    for name in changed:
        setattr(member, name, row.value(name))  # a given created_at is never None (blank is not given)
    if "expires_at" in changed:
        store.forget_steps(scope.session, member.list_id, member.email, "renew:")  # reminders for the new date
    if changed:
        event(scope, member.email, "updated", f"import: {', '.join(changed)}")
    return bool(changed)


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
    """Write every member of a list, with every field, to standard output: CSV with a header row, or a
    JSON array. `member import` reads either back, restoring each member exactly."""
    with ctx.session() as session:
        rows = (member_row(m) for m in admin.iter_members(session, list_id_of(ctx, session, list_address)))
        if fmt == "json":
            stream_json(transfer.json_object(row) for row in rows)
            return
        click.echo(transfer.csv_header(), nl=False)
        for row in rows:
            click.echo(transfer.csv_line(row), nl=False)


def member_row(m: Member) -> MemberRow:
    return MemberRow(
        email=m.email, display_name=m.display_name, role=m.role, delivery=m.delivery, created_at=m.created_at,
        expires_at=m.expires_at, vacation_until=m.vacation_until, receive_own_posts=m.receive_own_posts,
        moderation=m.moderation, posts_approved=m.posts_approved, profiled=m.profiled,
        given=frozenset(transfer.FIELDS),
    )  # fmt: skip


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
