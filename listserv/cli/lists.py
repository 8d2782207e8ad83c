"""`listserv list ...`: create, show and change lists; close, reopen and remove them."""

from __future__ import annotations

from typing import cast

import click
from sqlalchemy import Table, func, select

from listserv import features
from listserv.cli_context import CliContext, counted, echo_json, pass_cli, text_value, valid_address
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.dkim.readiness import readiness
from listserv.errors import Invalid
from listserv.mail.message import ListStatus
from listserv.migrations.tables import Base  # every table, so that `list rm` sees each capability's
from listserv.store import admin
from listserv.store.schema import MailingList, Member, Post

ARCHIVE = tuple(cast(Table, t.__table__) for t in (Post, Discussion, ThreadContainer))  # what `list rm` keeps
SET_HELP = "\n\n".join(
    ["Change one setting of a list: KEY and its new VALUE, for these keys (`list show` has their values)."]
    + [f"- {line}" for line in admin.describe(features.LIST_SETTINGS)]
)


@click.group(name="list")
def list_group() -> None:
    """Create, show and change lists.

    Close a list to new posts and members, reopen it, or remove it (keeping its archive or not)."""


def list_row(ctx: CliContext, row: MailingList) -> dict[str, object]:
    names = ["address", "name", "description", "status", *ctx.list_settings, "created_at"]
    return {name: getattr(row, name) for name in dict.fromkeys(names)}


@list_group.command("create")
@click.argument("address")
@click.option("--name", required=True)
@click.option("--description", default="")
@click.option("--facilitator", "facilitators", multiple=True, help="Repeat for several.")
@pass_cli
def list_create(ctx: CliContext, address: str, name: str, description: str, facilitators: tuple[str, ...]) -> None:
    """Create a list at ADDRESS (or NAME, at the default domain)."""
    address = ctx.address(address)
    emails = [valid_address(email) for email in facilitators]
    with ctx.session() as session, session.begin():
        row = admin.create_list(session, address, name, description, ctx.now())
        for email in emails:
            admin.add_member(session, row.id, email, ctx.now(), role="facilitator")
    click.echo(f"created {address}")


@list_group.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_ls(ctx: CliContext, as_json: bool) -> None:
    """All lists, with their status and member counts."""
    with ctx.session() as session:
        counts = dict(session.execute(select(Member.list_id, func.count()).group_by(Member.list_id)).all())
        rows = [list_row(ctx, r) | {"members": counts.get(r.id, 0)}
                for r in session.scalars(select(MailingList).order_by(MailingList.address))]  # fmt: skip
    if as_json:
        return echo_json(rows)
    for row in rows:
        click.echo(f"{row['address']}\t{row['status']}\t{counted(int(str(row['members'])), 'member')}\t{row['name']}")


@list_group.command("show")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_show(ctx: CliContext, address: str, as_json: bool) -> None:
    """One list's status and settings."""
    with ctx.session() as session:
        row = list_row(ctx, ctx.list_row(session, address))
    one_click = row.get("one_click_unsubscribe")
    state = readiness(
        ctx.settings, str(row["address"]).rpartition("@")[2], one_click if isinstance(one_click, bool) else None
    )
    row |= {"signing": state.signing, "unsubscribe": state.unsubscribe}
    if as_json:
        return echo_json(row)
    for key, value in row.items():
        click.echo(f"{key}: {text_value(value, admin.shown)}")


@list_group.command("set", help=SET_HELP)
@click.argument("address")
@click.argument("key")
@click.argument("value")
@pass_cli
def list_set(ctx: CliContext, address: str, key: str, value: str) -> None:
    with ctx.session() as session, session.begin():
        admin.set_list(session, ctx.address(address), key, value, ctx.list_settings, ctx.settings)
    click.echo(f"{key} = {value}")


@list_group.command("close")
@click.argument("address")
@pass_cli
def list_close(ctx: CliContext, address: str) -> None:
    """Close a list: it refuses new posts and joins (550 5.7.1); members may still leave, and its
    archive and settings stay. `list reopen` opens it again."""
    with ctx.session() as session, session.begin():
        row = admin.set_status(session, ctx.address(address), ListStatus.CLOSED)
    click.echo(f"closed {row.address}: no new posts or members; members may leave")


@list_group.command("reopen")
@click.argument("address")
@pass_cli
def list_reopen(ctx: CliContext, address: str) -> None:
    """Open a closed list again."""
    with ctx.session() as session, session.begin():
        row = admin.set_status(session, ctx.address(address), ListStatus.OPEN)
    click.echo(f"reopened {row.address}")


@list_group.command("rm")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Really remove it (without: say what would be removed).")
@click.option("--purge", is_flag=True, help="Remove its archive too: posts, discussions and raw mail.")
@pass_cli
def list_rm(ctx: CliContext, address: str, yes: bool, purge: bool) -> None:
    """Remove a list, keeping its archive unless --purge; without --yes, only say what would go.

    Removed: its members, pending and service mail, tokens, the delivery ledger and every capability's
    rows; mail to any of its addresses is then refused as to no list at all. Kept: its posts,
    discussions and their raw mail, still readable (`thread ls`, `thread show`). --purge removes
    those too, and the list with them, which frees its address."""
    tables = admin.list_tables(Base.metadata)
    with ctx.session() as session, session.begin():
        row = ctx.list_row(session, address)
        if row.status == ListStatus.REMOVED and not purge:
            raise Invalid(f"list {row.address} is removed already; --purge removes its archive too")
        plan = admin.plan_removal(session, row.id, tables, ARCHIVE, purge)
        if not yes:
            raise Invalid(f"not removed: add --yes to {what(row.address, plan, purge)}")
        if purge:
            admin.purge_list(session, row)
        else:
            admin.remove_list(session, row, tables, ARCHIVE)
    removed, kept = table_counts(plan.removes), table_counts(plan.keeps)
    click.echo(f"{'purged' if purge else 'removed'} {row.address}" + (f": {removed}" if removed else "")
               + (f"; kept its archive: {kept}" if kept else ""))  # fmt: skip


def what(address: str, plan: admin.Removal, purge: bool) -> str:
    """What `list rm` would do, in words."""
    removes = table_counts(plan.removes) or "no rows"
    if purge:
        return f"remove {address} and everything of it: {removes}"
    if not plan.keeps:
        return f"remove {address}: {removes} (it has no archive to keep)"
    return f"remove {address}: {removes}; and keep its archive: {table_counts(plan.keeps)} (--purge removes it too)"


def table_counts(counts: dict[str, int]) -> str:
    """'members: 12, tokens: 3, ...': rows by table, members first, then the other tables by name."""
    return ", ".join(f"{name}: {counts[name]}" for name in sorted(counts, key=lambda name: (name != "members", name)))
