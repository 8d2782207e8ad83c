"""`listserv archive search`, `archive export` and `archive reindex` (added to the `archive` group)."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click

from listserv.archive.export import export_mbox
from listserv.archive.search import SearchHit
from listserv.archive.search_index import catch_up, reindex
from listserv.archive.search_store import search_posts
from listserv.cli_context import CliContext, counted, echo_json, json_time, pass_cli, text_time


def _hit_json(hit: SearchHit) -> dict[str, object]:
    return {"post_id": hit.post_id, "message_id": hit.message_id, "discussion_id": hit.discussion_id,
            "subject": hit.subject, "author": hit.author_name, "address": hit.author_address,
            "date": json_time(hit.date),
            "snippet": [{"text": p.text, "highlighted": p.highlighted} for p in hit.snippet]}  # fmt: skip


@click.command("search")
@click.argument("list_address")
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Hits to show.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Hits to skip (the next page).")
@click.option("--json", "as_json", is_flag=True, help="JSON: the total and each hit with its snippet.")
@pass_cli
def archive_search(ctx: CliContext, list_address: str, query: str, limit: int, offset: int, as_json: bool) -> None:
    """Full-text search of a list's archive: words, "a phrase", -word to leave out, a OR b.
    Posts not indexed yet (an import, the last minute's posts) are indexed first."""
    with ctx.session() as session:
        list_id = ctx.list_row(session, list_address).id
    catch_up(ctx.work, list_id)
    with ctx.session() as session:
        page = search_posts(session, list_id, query, limit=limit, offset=offset)
    if as_json:
        echo_json({"query": query, "total": page.total, "more": page.capped, "offset": page.offset,
                   "hits": [_hit_json(hit) for hit in page.hits]})  # fmt: skip
        return
    if not page.hits:
        click.echo(f"no posts match {query!r}" if page.total == 0 else f"no more hits ({page.total} in all)")
        return
    many = f"more than {page.total:,} posts" if page.capped else counted(page.total, "post")
    click.echo(f"{many} match; {offset + 1}-{offset + len(page.hits)}:")
    for hit in page.hits:
        snippet = "".join(f"[{p.text}]" if p.highlighted else p.text for p in hit.snippet)
        click.echo(f"#{hit.discussion_id}\t{text_time(hit.date, '')}\t{hit.author_name or hit.author_address}\t"
                   f"{hit.subject}  <{hit.message_id}>\n\t{snippet}")  # fmt: skip


@click.command("export")
@click.argument("list_address")
@click.option("--mbox", "path", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
              help="The file to write (- for standard output).")  # fmt: skip
@pass_cli
def archive_export(ctx: CliContext, list_address: str, path: str) -> None:
    """Write a list's archived posts, oldest first, as an mboxrd file that `archive import` reads back."""
    with ctx.session() as session:
        list_id = ctx.list_row(session, list_address).id
        if path == "-":
            count = export_mbox(session, list_id, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            try:
                handle: BinaryIO = open(path, "wb")
            except OSError as error:
                raise click.ClickException(f"{path}: cannot write: {error.strerror}") from error
            with handle:
                count = export_mbox(session, list_id, handle)
    click.echo(f"exported {counted(count, 'post')}", err=True)


@click.command("reindex")
@click.argument("list_address")
@pass_cli
def archive_reindex(ctx: CliContext, list_address: str) -> None:
    """Rebuild a list's search index from its stored posts."""
    with ctx.session() as session:
        list_id = ctx.list_row(session, list_address).id
    click.echo(f"indexed {counted(reindex(ctx.work, list_id), 'post')}")


COMMANDS = (archive_search, archive_export, archive_reindex)
