"""What every `listserv` command is given (click's obj), and the helpers commands share.

Command modules (cli/*.py and each capability's cli.py) import this module, never the root
group: the root (cli/main.py) makes the context and hands it what lives above the commands
(delivering queued mail, the settings registry), so imports point one way only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from listserv.clock import Clock, system_clock
from listserv.errors import Invalid
from listserv.mail.addresses import address_problem, normalize_address
from listserv.render import Templates
from listserv.settings import Settings, load_settings
from listserv.store import admin, db
from listserv.store.schema import MailingList
from listserv.work import Work

QUIET_LOGGERS = ("alembic", "aiosmtpd")  # their INFO lines say nothing an operator needs


@dataclass
class CliContext:
    config: str | None
    clock: Clock = system_clock
    deliver: Callable[[Work], None] = lambda work: None  # process and send what is queued (service.drain)
    list_settings: admin.Registry = field(default_factory=dict)
    member_settings: admin.Registry = field(default_factory=dict)
    _settings: Settings | None = None
    _engine: Engine | None = None
    _work: Work | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, os.environ)
            logging.basicConfig(level=self._settings.log_level.upper(),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.open_engine(self.settings.database_url)
        return self._engine

    @property
    def work(self) -> Work:
        if self._work is None:
            templates = Templates(self.settings.templates_dir)
            self._work = Work(db.sessions(self.engine), self.settings, templates, self.clock)
        return self._work

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def address(self, value: str) -> str:
        """A list address; a bare name gets the default domain."""
        return normalize_address(value if "@" in value else f"{value}@{self.settings.domain}")

    def list_row(self, session: Session, address: str) -> MailingList:
        """The list at ADDRESS (or a bare name), or NotFound."""
        return admin.get_list(session, self.address(address))


pass_cli = click.make_pass_decorator(CliContext)


def echo_json(rows: object) -> None:
    click.echo(json.dumps(rows, indent=2, default=str))


def stream_json(rows: Iterable[dict[str, object]]) -> None:
    """A JSON array written one row at a time (a million members need not fit in memory)."""
    click.echo("[")
    for index, row in enumerate(rows):
        click.echo(("," if index else "") + json.dumps(row, default=str))
    click.echo("]")


def valid_address(email: str) -> str:
    """A member address, normalised, or Invalid saying what is wrong with it."""
    email = normalize_address(email)
    problem = address_problem(email)
    if problem:
        raise Invalid(f"{email}: {problem}")
    return email
