"""`listserv archive build`: joined to the `archive` group (discussions/cli.py) by the root (cli/main.py)."""

from __future__ import annotations

import os
import sys

import click

from listserv.archive.build import build_static
from listserv.cli_context import CliContext, pass_cli
from listserv.store import queries


@click.command("build")
@click.argument("list_address")
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--jobs", type=click.IntRange(1, 64), default=min(4, os.cpu_count() or 1), show_default="CPUs, at most 4",
              help="processes that write pages")  # fmt: skip
@pass_cli
def archive_build(ctx: CliContext, list_address: str, outdir: str, jobs: int) -> None:
    """Write the list's web archive as static files (relative links) into OUTDIR, for any web
    server: the discussions, each discussion threaded, each post at its permalink, and the
    attachments. Whoever can read OUTDIR can read the archive, whatever archive_access says."""
    with ctx.session() as session:
        lst = queries.list_info(ctx.list_row(session, list_address))
    hidden = not sys.stderr.isatty()
    with click.progressbar(length=1, label="building", file=sys.stderr, hidden=hidden) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        report = build_static(ctx.work, lst, outdir, jobs, progress)
    click.echo(f"wrote {report.files} files to {outdir} in {report.seconds:.1f} s: {report.discussions} discussions, "
               f"{report.posts} posts, {report.attachments} attachments")  # fmt: skip
