"""`listserv list ...`: create, show and change lists."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from listserv.cli_context import CliContext, echo_json, pass_cli, valid_address
from listserv.store import admin
from listserv.store.schema import MailingList, Member


@click.group(name="list")
def list_group() -> None:
    """Create, show and change lists."""


def list_row(ctx: CliContext, row: MailingList) -> dict[str, object]:
    names = ["address", "name", "description", *ctx.list_settings, "created_at"]
    return {name: getattr(row, name) for name in dict.fromkeys(names)}


@list_group.command("create")
@click.argument("address")
@click.option("--name", required=True)
@click.option("--description", default="")
@click.option("--facilitator", "facilitators", multiple=True, help="Repeat for several.")
@pass_cli
def list_create(ctx: CliContext, address: str, name: str, description: str, facilitators: tuple[str, ...]) -> None:
    """Create a list at ADDRESS."""
    address = valid_address(ctx.address(address))
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
    """All lists, with their member counts."""
    with ctx.session() as session:
        counts = dict(session.execute(select(Member.list_id, func.count()).group_by(Member.list_id)).all())
        rows = [list_row(ctx, r) | {"members": counts.get(r.id, 0)}
                for r in session.scalars(select(MailingList).order_by(MailingList.address))]  # fmt: skip
    if as_json:
        return echo_json(rows)
    for row in rows:
        click.echo(f"{row['address']}\t{row['members']} members\t{row['name']}")


@list_group.command("show")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_show(ctx: CliContext, address: str, as_json: bool) -> None:
    """One list's settings."""
    with ctx.session() as session:
        row = list_row(ctx, ctx.list_row(session, address))
    if as_json:
        return echo_json(row)
    for key, value in row.items():
        click.echo(f"{key}: {value}")


@list_group.command("set")
@click.argument("address")
@click.argument("key")
@click.argument("value")
@pass_cli
def list_set(ctx: CliContext, address: str, key: str, value: str) -> None:
    """Change a setting: name, description, subject_prefix, reply_to (leave|list|explicit),
    reply_to_address, max_message_size, personalize (yes|no), archive_url."""
    with ctx.session() as session, session.begin():
        admin.set_list(session, ctx.address(address), key, value, ctx.list_settings)
    click.echo(f"{key} = {value}")
