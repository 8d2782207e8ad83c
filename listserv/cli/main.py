"""The `listserv` command: its root group, `init` and `serve`, and the one place errors become
a line and an exit code. Every other command lives in a leaf module registered here."""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import OperationalError

from listserv import __version__, features
from listserv.cli import lists, queue
from listserv.cli_context import CliContext, pass_cli
from listserv.digest.cli import digest, poll, prompt
from listserv.discussions.cli import archive, thread
from listserv.errors import ListservError
from listserv.membership.cli import member
from listserv.moderation.cli import held, sender
from listserv.store import db
from listserv.work import Work


class ListservGroup(click.Group):
    """Translates our errors, once, into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ListservError as error:
            raise CommandFailed(str(error), error.exit_code) from None
        except OperationalError as error:
            failure = db.explain(error)
            raise CommandFailed(str(failure), failure.exit_code) from None


class CommandFailed(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.group(cls=ListservGroup)
@click.version_option(__version__, prog_name="listserv")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="TOML file (or LISTSERV_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """listserv: an email-first engine for communities of practice."""
    if not isinstance(ctx.obj, CliContext):  # tests hand in one with their own clock
        ctx.obj = CliContext(config)
    ctx.obj.config = config if config is not None else ctx.obj.config
    ctx.obj.deliver = deliver
    ctx.obj.list_settings, ctx.obj.member_settings = features.LIST_SETTINGS, features.MEMBER_SETTINGS
    ctx.call_on_close(ctx.obj.close)


def deliver(work: Work) -> None:
    """Process what is queued and hand the mail to the relay, without `listserv serve`."""
    from listserv.service import drain

    asyncio.run(drain(work))


@main.command()
@pass_cli
def init(ctx: CliContext) -> None:
    """Create or upgrade the database schema (idempotent), and the secret_file if it is missing."""
    from listserv.secret import ensure_secret

    db.upgrade(ctx.engine)
    click.echo(f"database ready: {ctx.engine.url.render_as_string()}")
    if ensure_secret(ctx.settings.secret_file):
        click.echo(f"secret created: {ctx.settings.secret_file} (keep it; every node needs the same file)")


@main.command()
@pass_cli
def serve(ctx: CliContext) -> None:
    """Run the LMTP and SMTP listeners, the worker and outbound delivery."""
    from listserv import service

    db.check_durability(ctx.engine)
    db.require_current_schema(ctx.engine)
    asyncio.run(service.serve_until_stopped(ctx.work, ctx.engine))


for command in (lists.list_group, member, queue.inject, queue.quarantine, queue.status, held, sender, archive,
                thread, digest, prompt, poll):  # fmt: skip
    main.add_command(command)


def run() -> None:
    """The console script: `listserv ...`."""
    main(prog_name="listserv")


if __name__ == "__main__":  # pragma: no cover
    run()
