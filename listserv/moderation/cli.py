"""`listserv held ...` (the hold queue and its audit log) and `listserv sender ...` (bans,
trusted posters): for operators and scripts."""

from __future__ import annotations

import getpass

import click
from sqlalchemy import select

from listserv.cli_context import CliContext, echo_json, pass_cli, text_time, text_value
from listserv.errors import Invalid, NotFound
from listserv.mail.parse import parse_bytes
from listserv.mail.text import excerpt, message_text
from listserv.moderation.act import act
from listserv.moderation.approve import ReplyCommand, Verb
from listserv.moderation.rules import ACTIONS
from listserv.moderation.tables import HeldPost, HeldStatus, ModerationLog, SenderRule
from listserv.store.schema import Inbound, MailingList

STATUSES = tuple(s.value for s in HeldStatus) + ("all",)


def held_row(held: HeldPost, address: str) -> dict[str, object]:
    return {
        "id": held.id, "list": address, "status": held.status, "sender": held.sender, "subject": held.subject,
        "rules": held.rules.split(), "reasons": held.reasons.splitlines(), "held_at": held.created_at,
        "expires_at": held.expires_at, "verb": held.verb, "handled_by": held.handled_by,
        "handled_at": held.handled_at, "note": held.note,
    }  # fmt: skip


@click.group()
def held() -> None:
    """Posts held for review: list, show, approve, reject, discard; the audit log."""


@held.command("ls")
@click.argument("list_address")
@click.option("--status", type=click.Choice(STATUSES), default="held", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def held_ls(ctx: CliContext, list_address: str, status: str, as_json: bool) -> None:
    """Held posts of a list, oldest first."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        query = select(HeldPost).where(HeldPost.list_id == lst.id).order_by(HeldPost.id)
        if status != "all":
            query = query.where(HeldPost.status == status)
        found = list(session.scalars(query))
    if as_json:
        return echo_json([held_row(h, lst.address) for h in found])
    for h in found:
        click.echo(f"{h.id}\t{h.status}\t{text_time(h.created_at)}\t{h.sender}\t{h.subject}\t{h.rules}")


@held.command("show")
@click.argument("held_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def held_show(ctx: CliContext, held_id: int, as_json: bool) -> None:
    """One held post: why it was held, its state, the beginning of its text."""
    with ctx.session() as session:
        found = session.get(HeldPost, held_id)
        if found is None:
            raise NotFound(f"no held post {held_id}")
        address = session.get_one(MailingList, found.list_id).address
        text = excerpt(message_text(parse_bytes(session.get_one(Inbound, found.inbound_id).raw)), 60, 6000)
        row = held_row(found, address) | {"text": text}
    if as_json:
        return echo_json(row)
    for key, value in row.items():
        if key != "text":
            click.echo(f"{key}: {' '.join(value) if isinstance(value, list) else text_value(value)}")
    click.echo("\n" + text)


def _act(ctx: CliContext, held_id: int, command: ReplyCommand, by: str | None) -> None:
    actor = f"cli:{by or getpass.getuser()}"
    with ctx.session() as session, session.begin():
        if session.get(HeldPost, held_id) is None:
            raise NotFound(f"no held post {held_id}")
        outcome = act(ctx.work, session, held_id, command, actor, ctx.now())
    held_post = outcome.held
    if not outcome.applied:
        raise Invalid(
            f"held post {held_id} was already handled: {held_post.verb or held_post.status} "
            f"by {held_post.handled_by} at {text_time(held_post.handled_at)}"
        )
    click.echo(f"{command.verb.value} {held_id}" + (f": {outcome.detail}" if outcome.detail else ""))


BY = click.option("--by", default=None, help="Name recorded in the audit log (default: your user name).")


@held.command("approve")
@click.argument("held_id", type=int)
@click.option("--always", is_flag=True, help="Also trust the sender from now on (approve always).")
@BY
@pass_cli
def held_approve(ctx: CliContext, held_id: int, always: bool, by: str | None) -> None:
    """Distribute a held post as if it had been accepted."""
    _act(ctx, held_id, ReplyCommand(Verb.APPROVE_ALWAYS if always else Verb.APPROVE), by)


@held.command("reject")
@click.argument("held_id", type=int)
@click.option("--reason", required=True, help="Told to the sender.")
@BY
@pass_cli
def held_reject(ctx: CliContext, held_id: int, reason: str, by: str | None) -> None:
    """Do not distribute; the sender gets a polite notice with the reason."""
    _act(ctx, held_id, ReplyCommand(Verb.REJECT, reason=reason), by)


@held.command("discard")
@click.argument("held_id", type=int)
@BY
@pass_cli
def held_discard(ctx: CliContext, held_id: int, by: str | None) -> None:
    """Drop a held post silently (spam)."""
    _act(ctx, held_id, ReplyCommand(Verb.DISCARD), by)


@held.command("log")
@click.argument("list_address")
@click.option("--limit", type=int, default=100, show_default=True, help="Newest entries to show.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def held_log(ctx: CliContext, list_address: str, limit: int, as_json: bool) -> None:
    """The audit log: every hold, decision and refused attempt (who, when, verb, rules)."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        query = select(ModerationLog).where(ModerationLog.list_id == lst.id)
        entries = list(session.scalars(query.order_by(ModerationLog.id.desc()).limit(limit)))
    entries.reverse()
    if as_json:
        return echo_json([{"at": e.at, "held_id": e.held_id, "actor": e.actor, "verb": e.verb,
                            "rules": e.rules.split(), "detail": e.detail} for e in entries])  # fmt: skip
    for e in entries:
        click.echo(f"{text_time(e.at)}\t{e.held_id or '-'}\t{e.actor}\t{e.verb}\t{e.rules or '-'}\t{e.detail}")


# -- sender rules --------------------------------------------------------------------------------


@click.group()
def sender() -> None:
    """Per-list actions for senders: bans by address or pattern, held or trusted posters."""


@sender.command("set")
@click.argument("list_address")
@click.argument("pattern")
@click.argument("action", type=click.Choice(tuple(ACTIONS)))
@click.option("--reason", default="", help="Told to the sender when the action is reject.")
@pass_cli
def sender_set(ctx: CliContext, list_address: str, pattern: str, action: str, reason: str) -> None:
    """Set the action for senders matching PATTERN: an address, a glob (*@spam.example) or a
    regular expression starting with ^. accept lets a non-member post without review."""
    pattern = pattern.strip().lower()
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        row = session.scalar(select(SenderRule).where(SenderRule.list_id == lst.id, SenderRule.pattern == pattern))
        if row is None:
            session.add(SenderRule(list_id=lst.id, pattern=pattern, action=action, reason=reason,
                                   created_by=f"cli:{getpass.getuser()}", created_at=ctx.now()))  # fmt: skip
        else:
            row.action, row.reason = action, reason
    click.echo(f"{pattern}: {action}")


@sender.command("ban")
@click.argument("list_address")
@click.argument("pattern")
@click.option("--reject", "reject_", is_flag=True, help="Tell the sender (default: discard silently).")
@click.option("--reason", default="")
@click.pass_context
def sender_ban(ctx: click.Context, list_address: str, pattern: str, reject_: bool, reason: str) -> None:
    """Ban senders matching PATTERN from posting (same as `sender set ... discard`)."""
    ctx.invoke(sender_set, list_address=list_address, pattern=pattern, action="reject" if reject_ else "discard",
               reason=reason)  # fmt: skip


@sender.command("rm")
@click.argument("list_address")
@click.argument("pattern")
@pass_cli
def sender_rm(ctx: CliContext, list_address: str, pattern: str) -> None:
    """Remove the rule for PATTERN."""
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        row = session.scalar(select(SenderRule).where(SenderRule.list_id == lst.id,
                                                      SenderRule.pattern == pattern.strip().lower()))  # fmt: skip
        if row is None:
            raise NotFound(f"no rule for {pattern}")
        session.delete(row)
    click.echo(f"removed {pattern}")


@sender.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def sender_ls(ctx: CliContext, list_address: str, as_json: bool) -> None:
    """The list's sender rules."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        query = select(SenderRule).where(SenderRule.list_id == lst.id).order_by(SenderRule.id)
        rows = [{"pattern": r.pattern, "action": r.action, "reason": r.reason, "created_by": r.created_by,
                 "created_at": r.created_at} for r in session.scalars(query)]  # fmt: skip
    if as_json:
        return echo_json(rows)
    for row in rows:
        click.echo(f"{row['pattern']}\t{row['action']}\t{row['reason']}")
