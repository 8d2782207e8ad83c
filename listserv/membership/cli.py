"""`listserv member export|invite|show`, and the membership side of member add/import/set."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import click
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from listserv.mail.addresses import address_problem, normalize_address
from listserv.membership import store
from listserv.membership.commands import DELIVERY_MODES
from listserv.membership.lifecycle import Outcome, event, request_join, welcome
from listserv.membership.lifecycle import invite as send_invitation
from listserv.membership.mail import Scope, open_scope
from listserv.membership.policy import expiry_for
from listserv.render import Templates
from listserv.store import admin
from listserv.store.schema import Member, utcnow
from listserv.membership.tables import MembershipToken

if TYPE_CHECKING:
    from listserv.cli.main import Context

MEMBERSHIP_KEYS = ("delivery", "expires", "vacation_until")
EXPORT_FIELDS = ("email", "display_name", "role", "delivery", "created_at", "expires_at", "vacation_until")


def scope_for(ctx: Context, session: Session, list_id: int) -> Scope:
    return open_scope(session, ctx.settings, Templates(ctx.settings.templates_dir), list_id)


def list_id_of(ctx: Context, session: Session, address: str) -> int:
    try:
        return admin.get_list(session, ctx.address(address)).id
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None


# -- hooks for member add / import / set / rm -----------------------------------------------------


def after_add(ctx: Context, session: Session, list_id: int, email: str, delivery: str | None,
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


def import_chunk(ctx: Context, list_id: int, chunk: Sequence[tuple[str, str]], send_welcome: bool = False,
                 confirm: bool = False) -> int:  # fmt: skip
    """Import one chunk in one transaction; returns the members added (or, with confirm, the
    confirmations sent: nobody is added then, each new address is asked to reply first).
    New members get the list's membership length; with send_welcome, the welcome too."""
    rows = list(dict(chunk).items())
    with ctx.session() as session, session.begin():
        scope = scope_for(ctx, session, list_id)
        plain = not (send_welcome or confirm or scope.policy.membership_days)
        if plain:  # the bulk path: one INSERT, nothing per member
            return admin.insert_members(session, list_id, rows)
        emails = [email for email, _ in rows]
        existing = set(session.scalars(select(Member.email).where(Member.list_id == list_id, Member.email.in_(emails))))
        fresh = [(email, name) for email, name in rows if email not in existing]
        if confirm:
            sent = [request_join(scope, email, name=name, by_operator=True) for email, name in fresh]
            return sum(outcome is Outcome.CONFIRM_SENT for outcome in sent)
        added = admin.insert_members(session, list_id, fresh)
        expires = expiry_for(scope.policy, scope.now)
        if expires is not None:
            session.execute(update(Member).where(Member.list_id == list_id, Member.email.in_([e for e, _ in fresh]))
                            .values(expires_at=expires))  # fmt: skip
        for email, name in fresh if send_welcome else []:
            event(scope, email, "added", "import")
            welcome(scope, email, name)
        return added


def set_membership(session: Session, list_id: int, email: str, key: str, value: str) -> None:
    """member set: delivery (a mode), expires (YYYY-MM-DD or never), vacation_until (YYYY-MM-DD or off)."""
    member = store.find_member(session, list_id, email)
    if member is None:
        raise admin.AdminError(f"{email} is not a member")
    key = key.replace("-", "_")
    if key == "delivery":
        if value not in DELIVERY_MODES:
            raise admin.AdminError(f"delivery must be one of: {', '.join(DELIVERY_MODES)}")
        member.delivery = value
    elif key == "expires":
        member.expires_at = None if value in ("never", "none", "") else parse_day(value, "expires")
    elif key == "vacation_until":
        member.vacation_until = None if value in ("off", "none", "") else parse_day(value, "vacation_until")
    else:
        raise admin.AdminError(f"unknown membership setting {key}")
    if key == "expires":
        store.forget_steps(session, list_id, email, "renew:")  # reminders for the new date
    store.add_event(session, list_id, email, key.replace("_", "-"), f"{value} (operator)", utcnow())


def parse_day(value: str, key: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time())
    except ValueError:
        raise admin.AdminError(f"{key} must be a date as YYYY-MM-DD") from None


def note_removed(session: Session, list_id: int, email: str) -> None:
    store.forget_steps(session, list_id, email)
    store.add_event(session, list_id, email, "removed", "by operator", utcnow())


# -- new commands ---------------------------------------------------------------------------------


@click.command("export")
@click.argument("list_address")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.pass_obj
def member_export(ctx: Context, list_address: str, fmt: str) -> None:
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


@click.command("invite")
@click.argument("list_address")
@click.argument("email")
@click.option("--name", default="")
@click.option("--delivery", type=click.Choice(DELIVERY_MODES), default="each", show_default=True)
@click.option("--note", default="", help="A line of your own for the invitation.")
@click.pass_obj
def member_invite(ctx: Context, list_address: str, email: str, name: str, delivery: str, note: str) -> None:
    """Invite EMAIL: they become a member by replying to the invitation (`listserv serve` sends it)."""
    email = normalize_address(email)
    problem = address_problem(email)
    if problem:
        raise click.ClickException(f"{email}: {problem}")
    with ctx.session() as session, session.begin():
        scope = scope_for(ctx, session, list_id_of(ctx, session, list_address))
        outcome = send_invitation(scope, email, name=name, delivery=delivery, invited_by="operator", note=note)
    messages = {
        Outcome.INVITED: f"invitation to {email} queued",
        Outcome.ALREADY_MEMBER: f"{email} is already a member",
        Outcome.PENDING: f"{email} was invited less than an hour ago; the invitation is still valid",
        Outcome.RATE_LIMITED: f"{email} got too many confirmations this hour; try again later",
    }  # fmt: skip
    if outcome is not Outcome.INVITED:
        raise click.ClickException(messages.get(outcome, outcome.value))
    click.echo(messages[outcome])


@click.command("show")
@click.argument("list_address")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def member_show(ctx: Context, list_address: str, email: str, as_json: bool) -> None:
    """One member (or former member) and their history: joined, confirmed, guidelines, delivery, expiry."""
    email = normalize_address(email)
    with ctx.session() as session:
        list_id = list_id_of(ctx, session, list_address)
        report = member_report(session, list_id, email)
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


def member_report(session: Session, list_id: int, email: str) -> dict[str, object]:
    member = store.find_member(session, list_id, email)
    events = store.history(session, list_id, email)

    def last(name: str) -> object:
        found = [e for e in events if e.event == name]
        return f"{found[-1].at:%Y-%m-%d %H:%M} {found[-1].detail}".strip() if found else None

    position = store.waitlist_position(session, list_id, email)
    status = "member" if member else (f"wait-list position {position}" if position else "not a member")
    tokens = session.scalars(select(MembershipToken).where(MembershipToken.list_id == list_id,
                                                           MembershipToken.email == email,
                                                           MembershipToken.used_at.is_(None),
                                                           MembershipToken.expires_at > utcnow()))  # fmt: skip
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
        "waiting_for_reply": [{"kind": t.kind, "sent": f"{t.created_at:%Y-%m-%d %H:%M}",
                               "expires": f"{t.expires_at:%Y-%m-%d %H:%M}"} for t in tokens],
    }  # fmt: skip
