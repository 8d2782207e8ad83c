"""`listserv archive ...` and `listserv thread ...`: import a list's history, show and repair its discussions."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from listserv.cli_context import CliContext, counted, json_time, pass_cli, text_time
from listserv.discussions.admin import (
    Entry,
    Summary,
    find_discussion,
    merge,
    show,
    split,
    summaries,
    thread_orders,
)
from listserv.discussions.importer import import_archive
from listserv.discussions.rethread import rethread
from listserv.discussions.sources import find_sources, read_sources
from listserv.discussions.store import repair_threads
from listserv.mail.message import ListInfo
from listserv.store import queries


def _list(ctx: CliContext, address: str) -> ListInfo:
    with ctx.session() as session:
        return queries.list_info(ctx.list_row(session, address))


def _iso(when: datetime | None) -> str | None:
    return json_time(when) if when else None


def _day(when: datetime | None) -> str:
    return text_time(when, "(no date)")


# -- archive -------------------------------------------------------------------------------------


@click.group()
def archive() -> None:
    """Import, search and export a community's mail history; build its web archive as static files."""


@archive.command("import")
@click.argument("list_address")
@click.argument("paths", nargs=-1, required=True)
@pass_cli
def archive_import(ctx: CliContext, list_address: str, paths: tuple[str, ...]) -> None:
    """Store and thread an archive without sending anything: mbox files (pipermail,
    HyperKitty, Google Takeout; .gz too) or Maildir folders. Safe to run again."""
    lst = _list(ctx, list_address)
    sources = find_sources(paths)

    def warn(text: str) -> None:
        click.echo(f"\n{text}", err=True)

    total = sum(source.size for source in sources) or 1
    with click.progressbar(
        length=total, label="importing", file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:  # no stray label in logs and pipes
        report = import_archive(ctx.work.sessions, lst, read_sources(sources, warn), ctx.now(), warn=warn,
                                progress=lambda done: bar.update(min(done, total) - bar.pos))  # fmt: skip
        bar.update(total - bar.pos)
    rate = report.read / report.seconds if report.seconds else 0.0
    click.echo(f"read {report.read} messages in {report.seconds:.1f} s ({rate:,.0f}/s): {report.imported} imported, "
               f"{report.already} already stored, {report.duplicates} duplicate Message-IDs, "
               f"{report.malformed} malformed (kept, not threaded); {lst.address} has {report.discussions} "
               "discussions")  # fmt: skip


# -- thread --------------------------------------------------------------------------------------


@click.group()
def thread() -> None:
    """Show a list's discussions; merge and split them."""


def _summary_json(summary: Summary) -> dict[str, object]:
    return {"id": summary.id, "key": summary.key, "subject": summary.subject, "started_by": summary.started_by,
            "post_count": summary.post_count, "participants": summary.participants,
            "first_activity": _iso(summary.first_activity), "last_activity": _iso(summary.last_activity)}  # fmt: skip


@thread.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, with each discussion's Message-IDs.")
@pass_cli
def thread_ls(ctx: CliContext, list_address: str, as_json: bool) -> None:
    """The discussions of a list, the most recently active first."""
    lst = _list(ctx, list_address)
    with ctx.session() as session:
        if as_json:
            click.echo("[")
            for index, (summary, ids) in enumerate(thread_orders(session, lst.id)):
                row = _summary_json(summary) | {"message_ids": ids}
                click.echo(("," if index else "") + json.dumps(row))
            click.echo("]")
            return
        for summary in summaries(session, lst.id):
            click.echo(f"{summary.id}\t{counted(summary.post_count, 'post')}\t{counted(summary.participants, 'person', 'people')}\t"
                       f"{_day(summary.first_activity)} .. {_day(summary.last_activity)}\t{summary.started_by}\t"
                       f"{summary.subject}")  # fmt: skip


def _entry_json(entry: Entry) -> dict[str, object]:
    line = entry.line
    return {"message_id": line.message_id, "parent": line.parent_id, "depth": line.depth,
            "placeholder": line.is_placeholder, "author": entry.author or None, "date": _iso(entry.date),
            "subject": entry.subject if not line.is_placeholder else None, "method": entry.method or None}  # fmt: skip


@thread.command("show")
@click.argument("list_address")
@click.argument("discussion")
@click.option("--json", "as_json", is_flag=True, help="JSON: the discussion and its messages with parent links.")
@pass_cli
def thread_show(ctx: CliContext, list_address: str, discussion: str, as_json: bool) -> None:
    """One discussion as an indented tree. DISCUSSION is its number or any of its Message-IDs."""
    lst = _list(ctx, list_address)
    with ctx.session() as session:
        summary, entries = show(session, find_discussion(session, lst.id, discussion))
    if as_json:
        click.echo(json.dumps(_summary_json(summary) | {"messages": [_entry_json(e) for e in entries]}, indent=2))
        return
    click.echo(f"#{summary.id} {summary.subject}")
    click.echo(f"{counted(summary.post_count, 'post')}, {counted(summary.participants, 'person', 'people')}, "
               f"{_day(summary.first_activity)} .. {_day(summary.last_activity)}")  # fmt: skip
    for entry in entries:
        indent = "  " * entry.line.depth
        if entry.line.is_placeholder:
            click.echo(f"{indent}(not received) <{entry.line.message_id}>")
        else:
            click.echo(f"{indent}{entry.author}, {_day(entry.date)}: {entry.subject}  <{entry.line.message_id}>")


@thread.command("merge")
@click.argument("list_address")
@click.argument("source")
@click.argument("target")
@pass_cli
def thread_merge(ctx: CliContext, list_address: str, source: str, target: str) -> None:
    """Merge discussion SOURCE into TARGET (numbers or Message-IDs); SOURCE's first
    posts become replies to TARGET's first post."""
    lst = _list(ctx, list_address)
    with ctx.session() as session, session.begin():
        into = find_discussion(session, lst.id, target)
        moved = merge(session, lst.id, find_discussion(session, lst.id, source), into, lst.subject_prefix)
        click.echo(
            f"moved {counted(moved, 'post')} into #{into.id} ({counted(into.post_count, 'post')}): {into.subject}"
        )


@thread.command("split")
@click.argument("list_address")
@click.argument("message_id")
@pass_cli
def thread_split(ctx: CliContext, list_address: str, message_id: str) -> None:
    """Make the post MESSAGE_ID and the replies below it a discussion of their own."""
    lst = _list(ctx, list_address)
    with ctx.session() as session, session.begin():
        old, new = split(session, lst.id, message_id, lst.subject_prefix, ctx.now())
        click.echo(f"#{new.id} ({counted(new.post_count, 'post')}): {new.subject}\n"
                   f"#{old.id} keeps {counted(old.post_count, 'post')}: {old.subject}")  # fmt: skip


@thread.command("repair")
@click.argument("list_address")
@click.option(
    "--rethread", "again", is_flag=True, help="Thread every post again with today's rules (after an upgrade)."
)
@pass_cli
def thread_repair(ctx: CliContext, list_address: str, again: bool) -> None:
    """Thread the list's distributed and imported posts that are not threaded yet (after a
    logged threading failure). With --rethread, thread every post again from its raw mail:
    a discussion whose posts are unchanged keeps its number; discussions a moderator merged
    or split are kept as they are. Safe to run any time."""
    lst = _list(ctx, list_address)
    if again:
        result = rethread(ctx.work.sessions, lst, ctx.now())
        click.echo(
            f"re-threaded {counted(result.posts, 'post')}: {counted(result.kept, 'discussion')} unchanged "
            f"(same numbers), {result.new} new, {result.removed} replaced, {result.moderated} moderated and kept"
        )
        return
    done = repair_threads(ctx.work.sessions, lst, ctx.now())
    click.echo(f"threaded {counted(done, 'post')}")
