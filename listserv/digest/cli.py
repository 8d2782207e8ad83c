"""`listserv digest ...`, `listserv prompt ...` and `listserv poll ...` (docs/digest.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from listserv.cli_context import CliContext, echo_json, pass_cli, text_time, text_value
from listserv.digest import gather
from listserv.digest.model import DIGEST_MODES
from listserv.digest.orders import read_every, read_options
from listserv.digest.polls import add_poll, options_of, tally
from listserv.digest.preview import build_preview
from listserv.digest.prompts import add_prompt
from listserv.digest.readable import readable_text
from listserv.digest.run import run_digests
from listserv.digest.schedule import parse_local
from listserv.digest.tables import (
    DigestIssue,
    DigestPoll,
    DigestPrompt,
    PollStatus,
    PromptStatus,
)
from listserv.errors import Invalid, NotFound
from listserv.store.schema import Member


def when_option(session: Session, list_id: int, value: str | None, now: datetime) -> datetime:
    config = gather.load_digest_settings(session, list_id)
    if value is None:
        return now
    try:
        return parse_local(value, config.schedule)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def facilitator_of(session: Session, list_id: int, given: str | None) -> str:
    query = select(Member.email).where(Member.list_id == list_id, Member.role == "facilitator").order_by(Member.id)
    facilitators = list(session.scalars(query))
    if given:
        if given.lower() not in facilitators:
            raise Invalid(f"{given} is not a facilitator of this list")
        return given.lower()
    if not facilitators:
        raise Invalid("the list has no facilitator to post it (listserv member add ... --role facilitator)")
    return facilitators[0]


# -- digest ------------------------------------------------------------------------------------


@click.group()
def digest() -> None:
    """Weekly summaries and digests: send what is due, preview, list issues."""


@digest.command("run")
@click.option("--list", "list_address", default=None, help="Only this list.")
@click.option("--now", "force", is_flag=True, help="Send the current period's issue now, even if not due.")
@click.option("--deliver", is_flag=True, help="Also hand the queued mail to the relay (without `listserv serve`).")
@pass_cli
def digest_run(ctx: CliContext, list_address: str | None, force: bool, deliver: bool) -> None:
    """Send every digest that is due (cron-friendly; `listserv serve` runs the same schedule)."""
    address = ctx.address(list_address) if list_address else None
    outcomes = run_digests(ctx.work, address, force)
    if address and not outcomes:
        raise NotFound(f"no list {address}")
    for o in outcomes:
        issue = f"vol {o.volume} no {o.number}" if o.number else f"issue {o.issue_id or '-'}"
        click.echo(f"{o.list_address}\t{o.action}\t{issue}\tposts={o.posts}\trecipients={o.recipients}")
    if deliver:
        ctx.deliver(ctx.work)


@digest.command("preview")
@click.argument("list_address")
@click.option("--member", "member", default=None, metavar="ADDRESS",
              help="Exactly what this member would get (their mode, their own copy if it differs).")  # fmt: skip
@click.option(
    "--mode", type=click.Choice(DIGEST_MODES), default=None, help="The delivery mode to show [default: summary]."
)
@click.option("--html", "as_html", is_flag=True, help="The summary's HTML part instead of its text.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the whole message (.eml) to this file instead.")  # fmt: skip
@pass_cli
def digest_preview(ctx: CliContext, list_address: str, member: str | None, mode: str | None, as_html: bool,
                   output: Path | None) -> None:  # fmt: skip
    """This period's issue as it stands, as readers would get it, without sending anything.

    The text goes to standard output; what it is, and which readers get a copy of their own
    (and why), to standard error."""
    with ctx.session() as session:
        list_id = ctx.list_row(session, list_address).id
    preview = build_preview(ctx.work, list_id, ctx.now(), mode, member)
    click.echo(f"preview: {preview.title}", err=True)
    for note in preview.notes:
        click.echo(f"note: {note}", err=True)
    if preview.raw is None:
        return
    if output is not None:
        output.write_bytes(preview.raw)
        click.echo(f"wrote {output}", err=True)
        return
    click.echo(readable_text(preview.raw, html=as_html), nl=False)


@digest.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def digest_ls(ctx: CliContext, list_address: str, as_json: bool) -> None:
    """The list's issues: period, status, number, posts and recipients."""
    with ctx.session() as session:
        row = ctx.list_row(session, list_address)
        issues = session.scalars(select(DigestIssue).where(DigestIssue.list_id == row.id)
                                 .order_by(DigestIssue.period_start)).all()  # fmt: skip
        rows = [dict(id=i.id, status=i.status, volume=i.volume, number=i.number, period_start=i.period_start,
                     period_end=i.period_end, posts=i.posts, recipients=i.recipients, note_state=i.note_state,
                     sent_at=i.sent_at) for i in issues]  # fmt: skip
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r['status']}\tvol {r['volume']} no {r['number']}\t{text_value(r['period_start'])} - "
                   f"{text_value(r['period_end'])}\tposts={r['posts']}\trecipients={r['recipients']}")  # fmt: skip


# -- prompts ----------------------------------------------------------------------------------


@click.group()
def prompt() -> None:
    """Discussion prompts and announcements, posted at their time from a facilitator."""


@prompt.command("add")
@click.argument("list_address")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--at", "at", default=None, help="When to post it, in the list's time zone (default: now).")
@click.option("--every", default="", help="Repeat: day, week, fortnight or month.")
@click.option("--subject", default=None, help="The post's subject (default: the file's first line).")
@click.option("--kind", type=click.Choice(("prompt", "announcement")), default="prompt", show_default=True)
@click.option("--from", "author", default=None, help="The facilitator it comes from (default: the first one).")
@pass_cli
def prompt_add(ctx: CliContext, list_address: str, file: click.utils.LazyFile, at: str | None, every: str,
               subject: str | None, kind: str, author: str | None) -> None:  # fmt: skip
    """Schedule a prompt: FILE holds its text ('-' for standard input)."""
    text = file.read()
    if subject is None:
        first, _, text = text.lstrip("\n").partition("\n")
        subject = first.removeprefix("Subject:").strip()
    repeat = read_every(every)
    if repeat is None:
        raise click.BadParameter("expected day, week, fortnight or month", param_hint="--every")
    if not subject:
        raise Invalid("the prompt needs a subject (--subject, or the file's first line)")
    with ctx.session() as session, session.begin():
        row = ctx.list_row(session, list_address)
        when = when_option(session, row.id, at, ctx.now())
        sender = facilitator_of(session, row.id, author)
        item = add_prompt(session, row.id, sender, subject, text.strip("\n"), when, ctx.now(), repeat, kind)
        click.echo(f"prompt {item.id} scheduled for {text_time(when)}"
                   + (f", then {repeat}" if repeat else ""))  # fmt: skip


@prompt.command("ls")
@click.argument("list_address")
@click.option("--all", "show_all", is_flag=True, help="Also those posted or removed.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def prompt_ls(ctx: CliContext, list_address: str, show_all: bool, as_json: bool) -> None:
    """Scheduled prompts and announcements (and polls)."""
    with ctx.session() as session:
        row = ctx.list_row(session, list_address)
        query = select(DigestPrompt).where(DigestPrompt.list_id == row.id).order_by(DigestPrompt.next_at)
        if not show_all:
            query = query.where(DigestPrompt.status.in_((PromptStatus.SCHEDULED, PromptStatus.CONFIRMING)))
        rows = [dict(id=p.id, kind=p.kind, status=p.status, subject=p.subject, author=p.author, every=p.every,
                     next_at=p.next_at, posted=p.posted)
                for p in session.scalars(query)]  # fmt: skip
        polls = select(DigestPoll).where(DigestPoll.list_id == row.id).order_by(DigestPoll.opens_at)
        if not show_all:
            polls = polls.where(DigestPoll.status.in_((PollStatus.SCHEDULED, PollStatus.CONFIRMING, PollStatus.OPEN)))
        rows += [dict(id=p.id, kind="poll", status=p.status, subject=p.question, author=p.author, every="",
                      next_at=p.opens_at, posted=int(p.status != PollStatus.SCHEDULED))
                 for p in session.scalars(polls)]  # fmt: skip
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['kind']} {r['id']}\t{r['status']}\t{text_value(r['next_at'] or '-')}\t{r['every'] or '-'}\t"
                   f"{r['subject']}")  # fmt: skip


@prompt.command("rm")
@click.argument("prompt_id", type=int)
@pass_cli
def prompt_rm(ctx: CliContext, prompt_id: int) -> None:
    """Remove a scheduled prompt (what was posted stays posted)."""
    with ctx.session() as session, session.begin():
        item = session.get(DigestPrompt, prompt_id)
        if item is None or item.status == PromptStatus.REMOVED:
            raise NotFound(f"no prompt {prompt_id}")
        item.status = PromptStatus.REMOVED
    click.echo(f"prompt {prompt_id} removed")


# -- polls ------------------------------------------------------------------------------------


@click.group()
def poll() -> None:
    """Polls by reply: members vote by mail; results go to the facilitators and the digest."""


@poll.command("add")
@click.argument("list_address")
@click.argument("question")
@click.option("--option", "options", multiple=True, help="One choice (give two or more).")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              help="Text to post with the question; lines '1. ...' in it are choices too.")  # fmt: skip
@click.option("--at", "at", default=None, help="When to post it, in the list's time zone (default: now).")
@click.option("--closes", required=True, help="When voting ends, in the list's time zone.")
@click.option("--from", "author", default=None, help="The facilitator it comes from (default: the first one).")
@pass_cli
def poll_add(ctx: CliContext, list_address: str, question: str, options: tuple[str, ...], file: click.utils.LazyFile | None,
             at: str | None, closes: str, author: str | None) -> None:  # fmt: skip
    """Schedule a poll: QUESTION with --option choices, posted at --at, closing at --closes."""
    body, more = read_options(file.read()) if file is not None else ("", ())
    choices = tuple(options) + more
    if len(choices) < 2:
        raise Invalid("a poll needs at least two --option choices")
    with ctx.session() as session, session.begin():
        row = ctx.list_row(session, list_address)
        opens = when_option(session, row.id, at, ctx.now())
        ends = when_option(session, row.id, closes, ctx.now())
        if ends <= opens:
            raise Invalid("--closes must be after the poll opens")
        item = add_poll(
            session, row.id, facilitator_of(session, row.id, author), question, body, choices, opens, ends, ctx.now()
        )
    click.echo(f"poll {item.id} scheduled")


@poll.command("results")
@click.argument("poll_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def poll_results(ctx: CliContext, poll_id: int, as_json: bool) -> None:
    """Votes so far (or final) for each choice."""
    with ctx.session() as session:
        item = session.get(DigestPoll, poll_id)
        if item is None:
            raise NotFound(f"no poll {poll_id}")
        counts = tally(session, poll_id)
        rows = [dict(option=n, text=t, votes=counts.get(n, 0)) for n, t in enumerate(options_of(item), start=1)]
        status, question = item.status, item.question
    if as_json:
        click.echo(json.dumps(dict(id=poll_id, status=status, question=question, results=rows), indent=2))
        return
    click.echo(f"{question} ({status})")
    for r in rows:
        click.echo(f"  {r['option']}. {r['text']}: {r['votes']}")


@poll.command("rm")
@click.argument("poll_id", type=int)
@pass_cli
def poll_rm(ctx: CliContext, poll_id: int) -> None:
    """Remove a poll that has not closed (its votes are kept, no results are sent)."""
    with ctx.session() as session, session.begin():
        item = session.get(DigestPoll, poll_id)
        if item is None or item.status in (PollStatus.REMOVED, PollStatus.CLOSED):
            raise NotFound(f"no open or scheduled poll {poll_id}")
        item.status = PollStatus.REMOVED
    click.echo(f"poll {poll_id} removed")
