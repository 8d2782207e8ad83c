"""`listserv resource`: a list's library on the command line (ls, add, tag, rm, export, anonymise)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import click

from listserv.cli_context import CliContext, echo_json, pass_cli, text_time
from listserv.library import store
from listserv.library.model import Library
from listserv.library.render import library_json, render_library_page, render_markdown
from listserv.mail.addresses import normalize_address
from listserv.store.schema import MailingList

OPERATOR = "operator"


def site_of(ctx: CliContext, lst: MailingList) -> str:
    """Where permalinks start: the web root (public_url), else the scheme and host of the list's
    archive_url ("" for bare paths)."""
    if ctx.work.settings.public_url:
        return ctx.work.settings.public_url.rstrip("/")
    parts = urlsplit(lst.archive_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@click.group()
def resource() -> None:
    """The resource library: what members share in posts, curated by mail (docs/library.md)."""


@resource.command("ls")
@click.argument("list_address")
@click.option("--tag", help="Only resources with this tag.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def ls(ctx: CliContext, list_address: str, tag: str | None, as_json: bool) -> None:
    """The library's resources, most recommended first."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        library, site = store.load_library(session, lst.id), site_of(ctx, lst)
    if tag:
        library = Library(library.list_address, library.list_name,
                          tuple(e for e in library.entries if tag.lower() in e.tags))  # fmt: skip
    if as_json:
        return echo_json(library_json(library, site))
    for e in library.entries:
        by = e.first.by if e.first else "-"
        flags = " outdated" if e.outdated else ""
        click.echo(f"{e.id}\t{e.kind}\t+{e.recommendations}\t{e.url or e.label}\t{','.join(e.tags) or '-'}\t"
                   f"{by}\t{text_time(e.created_at)}{flags}")  # fmt: skip


@resource.command("add")
@click.argument("list_address")
@click.argument("url")
@click.option("--by", "by", required=True, help="Who recommends it (an address).")
@click.option("--note", default="", help="What it is, in a sentence.")
@pass_cli
def add(ctx: CliContext, list_address: str, url: str, by: str, note: str) -> None:
    """Add a link, DOI or ISBN to the library."""
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        found, created = store.add_resource(session, lst.id, url, normalize_address(by), "", note, ctx.now())
        number = found.id
    click.echo(f"{'added' if created else 'already in the library, noted again'}: #{number}")


@resource.command("tag")
@click.argument("list_address")
@click.argument("ref")
@click.argument("tags", nargs=-1, required=True)
@pass_cli
def tag(ctx: CliContext, list_address: str, ref: str, tags: tuple[str, ...]) -> None:
    """Tag resource REF (its number or its link); -TAG takes a tag away."""
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        found = store.find_resource(session, lst.id, ref)
        now_tagged = store.tag_resource(session, found, tags, OPERATOR, ctx.now())
        number = found.id
    click.echo(f"#{number}: {' '.join(now_tagged) or '(no tags)'}")


@resource.command("rm")
@click.argument("list_address")
@click.argument("ref")
@pass_cli
def rm(ctx: CliContext, list_address: str, ref: str) -> None:
    """Take resource REF out of the library (its history stays)."""
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        found = store.find_resource(session, lst.id, ref)
        store.remove(session, found, OPERATOR, ctx.now())
        number = found.id
    click.echo(f"removed #{number}")


@resource.command("export")
@click.argument("list_address")
@click.option("--format", "form", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@pass_cli
def export(ctx: CliContext, list_address: str, form: str) -> None:
    """The whole library as Markdown, an HTML page or JSON, on standard output."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        library, site = store.load_library(session, lst.id), site_of(ctx, lst)
    if form == "json":
        click.echo(json.dumps(library_json(library, site), indent=2, ensure_ascii=False))
    elif form == "html":
        click.echo(render_library_page(library, ctx.work.templates, base_url=site), nl=False)
    else:
        click.echo(render_markdown(library, site), nl=False)


@resource.command("anonymise")
@click.argument("list_address")
@click.argument("address")
@pass_cli
def anonymise(ctx: CliContext, list_address: str, address: str) -> None:
    """Credit ADDRESS's shares and curation to "a former member"; the resources stay."""
    with ctx.session() as session, session.begin():
        lst = ctx.list_row(session, list_address)
        changed = store.anonymise(session, lst.id, normalize_address(address))
    click.echo(f"anonymised {changed} library entries of {normalize_address(address)}")
