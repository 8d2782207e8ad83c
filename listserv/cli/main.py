"""The `listserv` command: its root group, `init` and `serve`, and the one place errors become
a line and an exit code. Every other command lives in a leaf module named here and imported
only when it is used, so `listserv --help` and `--version` start at once."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from click.utils import make_default_short_help

from listserv import __version__
from listserv.errors import ConfigError, DatabaseError, ListservError

if TYPE_CHECKING:
    from listserv.cli_context import CliContext
    from listserv.work import Work

DATABASE_MODULES = ("sqlalchemy", "sqlite3", "psycopg")  # where a database failure comes from


@dataclass(frozen=True)
class LazyCommand:
    """A command known by "module:attribute", with the first paragraph of its help for the
    root's --help (tests/cli/test_cli.py checks both against the command itself)."""

    path: str
    summary: str
    prepare: Callable[[click.Command], None] | None = None

    def load(self) -> click.Command:
        module, _, attribute = self.path.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.path} is not a click command")
        if self.prepare is not None:
            self.prepare(command)
        return command


class LazyCommands(MutableMapping[str, click.Command]):
    """The root's commands by name: those defined in this module, and the lazy ones, each
    imported the first time it is looked up. Listing the names imports nothing."""

    def __init__(self, lazy: Mapping[str, LazyCommand]) -> None:
        self.lazy = dict(lazy)
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            self.loaded[name] = self.lazy[name].load()
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.loaded.pop(name, None)
        self.lazy.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self.loaded or name in self.lazy

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.loaded.keys() | self.lazy.keys()))

    def __len__(self) -> int:
        return len(self.loaded.keys() | self.lazy.keys())

    def short_help(self, name: str, limit: int) -> str:
        """What the root's --help says of NAME, without importing it."""
        if name in self.loaded:
            return self.loaded[name].get_short_help_str(limit)
        return make_default_short_help(self.lazy[name].summary, limit)


class ListservGroup(click.Group):
    """The root group: its commands are loaded on demand (LazyCommands), and it translates our
    errors, once, into one line on stderr and an exit code."""

    def __init__(self, name: str | None = None, lazy: Mapping[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        self.lazy_commands = LazyCommands(lazy or {})
        super().__init__(name, commands=self.lazy_commands, **kwargs)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but from the summaries: `listserv --help` imports no command module."""
        names = [name for name in self.list_commands(ctx) if not self._hidden(name)]
        if names:
            limit = formatter.width - 6 - max(len(name) for name in names)
            with formatter.section("Commands"):
                formatter.write_dl([(name, self.lazy_commands.short_help(name, limit)) for name in names])

    def _hidden(self, name: str) -> bool:
        loaded = self.lazy_commands.loaded.get(name)
        return loaded is not None and loaded.hidden

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ListservError as error:
            raise CommandFailed(str(error), error.exit_code) from None
        except OSError as error:
            if error.filename is None:  # a socket, a pipe: not something a path fixes
                raise
            raise CommandFailed(f"{error.filename}: {error.strerror or error}: check that it exists and that this "
                                "user may read and write it", 1) from None  # fmt: skip
        except Exception as error:
            failure = database_failure(ctx, error)
            if failure is None:
                raise
            raise CommandFailed(str(failure), failure.exit_code) from None


def database_failure(ctx: click.Context, error: Exception) -> DatabaseError | None:
    """ERROR as one line naming the database, if the database failed (store/db.py decides)."""
    if type(error).__module__.partition(".")[0] not in DATABASE_MODULES:
        return None
    from listserv.cli_context import CliContext
    from listserv.store import db

    url = ctx.obj.database_url() if isinstance(ctx.obj, CliContext) else ""
    return db.database_failure(error, url)


class CommandFailed(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def member_keys(member: click.Command) -> None:
    """`member set --help` names every key: hand it the whole registry."""
    from listserv import features
    from listserv.membership.cli import MemberSetCommand, member_set

    if isinstance(member_set, MemberSetCommand):
        member_set.registry = features.MEMBER_SETTINGS


def archive_commands(archive: click.Command) -> None:
    """`archive build` lives with the web archive (listserv/archive/cli.py); `search`, `export` and
    `reindex` with its search (listserv/archive/search_cli.py)."""
    from listserv.archive.cli import archive_build
    from listserv.archive.search_cli import COMMANDS as SEARCH_COMMANDS

    if isinstance(archive, click.Group):
        for command in (archive_build, *SEARCH_COMMANDS):
            archive.add_command(command)


COMMANDS = {
    "archive": LazyCommand("listserv.discussions.cli:archive", "Import, search and export a community's mail history; build its web archive as static files.",
                           prepare=archive_commands),
    "bounce": LazyCommand("listserv.bounces.cli:bounce",
                          "Bounce scores and states: who is paused or was removed for bouncing, and why."),
    "digest": LazyCommand("listserv.digest.cli:digest",
                          "Weekly summaries and digests: send what is due, preview, list issues."),
    "dkim": LazyCommand("listserv.dkim.cli:dkim_group",
                        "DKIM keys of the list domains: make one, check what DNS publishes."),
    "engagement": LazyCommand("listserv.engagement.cli:engagement",
                              "Each member's stage in Salmon's five (1 access ... 5 development), why, and since when."),
    "held": LazyCommand("listserv.moderation.cli:held",
                        "Posts held for review: list, show, approve, reject, discard; the audit log."),
    "imap": LazyCommand("listserv.inbound.imap.cli:imap_group",
                        "Lists that take their mail from an IMAP mailbox: poll once (cron), test the settings."),
    "inject": LazyCommand("listserv.cli.queue:inject",
                          "Run one message from standard input through the pipeline, as an MTA's pipe does."),
    "list": LazyCommand("listserv.cli.lists:list_group", "Create, show and change lists."),
    "member": LazyCommand("listserv.membership.cli:member",
                          "Add, remove, list, import, export, invite and show members.", prepare=member_keys),
    "poll": LazyCommand("listserv.digest.cli:poll",
                        "Polls by reply: members vote by mail; results go to the facilitators and the digest."),
    "prompt": LazyCommand("listserv.digest.cli:prompt",
                          "Discussion prompts and announcements, posted at their time from a facilitator."),
    "quarantine": LazyCommand("listserv.cli.queue:quarantine", "Messages whose processing kept failing."),
    "resource": LazyCommand("listserv.library.cli:resource",
                            "The resource library: what members share in posts, curated by mail (docs/library.md)."),
    "sender": LazyCommand("listserv.moderation.cli:sender",
                          "Per-list actions for senders: bans by address or pattern, held or trusted posters."),
    "status": LazyCommand("listserv.cli.queue:status", "Counts of inbound messages, batches and deliveries by state."),
    "thread": LazyCommand("listserv.discussions.cli:thread", "Show a list's discussions; merge and split them."),
}  # fmt: skip


@click.group(cls=ListservGroup, lazy=COMMANDS)
@click.version_option(__version__, prog_name="listserv")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="TOML file (or LISTSERV_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """listserv: an email-first engine for communities of practice."""
    from listserv import features
    from listserv.cli_context import CliContext

    if not isinstance(ctx.obj, CliContext):  # tests hand in one with their own clock
        ctx.obj = CliContext(config)
    ctx.obj.config = config if config is not None else ctx.obj.config
    ctx.obj.deliver = deliver
    ctx.obj.list_settings, ctx.obj.member_settings = features.LIST_SETTINGS, features.MEMBER_SETTINGS
    ctx.call_on_close(ctx.obj.close)


def deliver(work: Work) -> None:
    """Process what is queued and hand the mail to the relay, without `listserv serve`."""
    import asyncio

    from listserv.service import drain

    asyncio.run(drain(work))


@main.command()
@click.pass_obj
def init(ctx: CliContext) -> None:
    """Create or upgrade the database schema (idempotent), and the secret_file if it is missing."""
    from listserv.secret import ensure_secret
    from listserv.store import db

    ctx.creating = True  # the one command that may create the SQLite file and migrate
    db.upgrade(ctx.engine)
    click.echo(f"database ready: {ctx.engine.url.render_as_string()}")
    secret = ctx.settings.secret_file
    try:
        created = ensure_secret(secret)
    except OSError as error:
        raise ConfigError(f"cannot create secret_file {secret} ({error.strerror}): make its folder writable "
                          "for this user, or set secret_file") from None  # fmt: skip
    if created:
        click.echo(f"secret created: {secret} (keep it; every node needs the same file)")


@main.command()
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Serving processes sharing the listeners and the database (docs/scaling.md).")  # fmt: skip
@click.option("--listen-fds", hidden=True, default=None, help="Bound lmtp,smtp,http sockets (from --workers).")
@click.pass_obj
def serve(ctx: CliContext, workers: int, listen_fds: str | None) -> None:
    """Run the LMTP and SMTP listeners, the worker and outbound delivery.

    With --workers N, N such processes share the listeners (bound once, here) and the database;
    one that dies is started again, and SIGTERM stops them all (docs/scaling.md)."""
    import asyncio

    from listserv import service, supervise
    from listserv.store import db

    db.check_durability(ctx.engine)  # ctx.engine has checked the file and the schema
    if workers > 1:
        listeners = supervise.bind_listeners(ctx.settings)
        ctx.engine.dispose()  # the children open their own connections
        raise SystemExit(supervise.Supervisor(workers, ctx.config, ctx.settings.node_name, listeners).run())
    inherited = supervise.Listeners.parse(listen_fds).sockets() if listen_fds else ()
    asyncio.run(service.serve_until_stopped(ctx.work, ctx.engine, inherited))


def run() -> None:
    """The console script: `listserv ...`."""
    main(prog_name="listserv")


if __name__ == "__main__":  # pragma: no cover
    run()
