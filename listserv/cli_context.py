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
from datetime import UTC, datetime

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

# Their INFO lines say nothing an operator needs (aiosmtpd logs as "mail.log" and "mail.debug").
QUIET_LOGGERS = ("alembic", "mail.log", "mail.debug")


@dataclass
class CliContext:
    config: str | None
    clock: Clock = system_clock
    deliver: Callable[[Work], None] = lambda work: None  # process and send what is queued (service.drain)
    list_settings: admin.Registry = field(default_factory=dict)
    member_settings: admin.Registry = field(default_factory=dict)
    creating: bool = False  # `listserv init`: the SQLite file may be created, the schema may be behind
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
        """The database, checked before use: DatabaseError if there is none yet (but for `init`),
        it cannot be written, or its schema is not the newest (run `listserv init`)."""
        if self._engine is None:
            url = self.settings.database_url
            db.check_file(url, create=self.creating)
            self._engine = db.open_engine(url)
            if not self.creating:
                db.require_current_schema(self._engine)
        return self._engine

    def database_url(self) -> str:
        """The configured database_url once settings are loaded, else "" (for error messages)."""
        return self._settings.database_url if self._settings is not None else ""

    @property
    def work(self) -> Work:
        if self._work is None:
            templates = Templates(self.settings.templates_dir, self.settings.public_url)
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


def text_time(moment: datetime | None, missing: str = "-") -> str:
    """A moment in the text output of every command: '2026-03-18 10:00 UTC' (MISSING for none).
    Stored moments are naive UTC; an aware one is converted."""
    if moment is None:
        return missing
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def json_time(moment: datetime) -> str:
    """A moment in JSON output: ISO 8601 in UTC with a Z, microseconds only when there are any
    ('2026-03-18T10:00:00Z'), as `member export` writes and `member import` reads."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds") + "Z"


def text_value(value: object, other: Callable[[object], str] = str) -> str:
    """A value in text output (`KEY: VALUE` lines): moments as text_time, the rest by OTHER."""
    return text_time(value) if isinstance(value, datetime) else other(value)


def json_value(value: object) -> object:
    """json.dumps's default: moments as json_time, anything else it cannot write as str."""
    return json_time(value) if isinstance(value, datetime) else str(value)


def counted(count: int, noun: str, nouns: str = "") -> str:
    """'1 post', '2 posts', '1 person', '3 people'."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def echo_json(rows: object) -> None:
    click.echo(json.dumps(rows, indent=2, default=json_value))


def stream_json(rows: Iterable[dict[str, object]]) -> None:
    """A JSON array written one row at a time (a million members need not fit in memory)."""
    click.echo("[")
    for index, row in enumerate(rows):
        click.echo(("," if index else "") + json.dumps(row, default=json_value))
    click.echo("]")


def valid_address(email: str) -> str:
    """A member address, normalised, or Invalid saying what is wrong with it."""
    email = normalize_address(email)
    problem = address_problem(email)
    if problem:
        raise Invalid(f"{email}: {problem}")
    return email
