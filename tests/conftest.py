"""Fixtures: a real database (SQLite file; PostgreSQL too when LISTSERV_TEST_PG_URL is set),
a real SMTP sink as the relay, and the real engine on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from listserv.cli.main import main
from listserv.cli_context import CliContext
from listserv.features import LIST_SETTINGS
from listserv.mail.addresses import normalize_address
from listserv.render import Templates
from listserv.secret import ensure_secret
from listserv.settings import HostPort, RelaySetting, Settings
from listserv.store import admin, db
from listserv.work import Work
from support.browser import browser  # noqa: F401  (the `browser` fixture, for page tests)
from support.clock import TestClock
from support.dnsmasq import DnsServer
from support.engine import RunningEngine
from support.sink import Sink

PG_URL = os.environ.get("LISTSERV_TEST_PG_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
DOMAIN = "lists.example.test"


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/listserv.db"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(db.normalize_url(PG_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{db.normalize_url(PG_URL)}?options=-csearch_path%3D{schema}"
    with admin_engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def migrated_url(database_url: str) -> str:
    engine = db.open_engine(database_url)
    db.upgrade(engine)
    engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def quiet_dns() -> Iterator[DnsServer]:
    """A DNS server that knows no name: every test's resolver unless it starts its own (`dns_server`),
    so no test asks the machine's DNS (where example.com publishes DMARC p=reject)."""
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """dnsmasq on loopback, serving the TXT records a test gives it (`serve`, `add`)."""
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    running = Sink().start()
    yield running
    running.stop()


@pytest.fixture
def settings(migrated_url: str, sink: Sink, tmp_path: Path, quiet_dns: DnsServer) -> Settings:
    ensure_secret(str(tmp_path / "listserv.secret"))  # as `listserv init` does
    return Settings(
        database_url=migrated_url,
        lmtp_listen=HostPort("127.0.0.1", 0),
        smtp_listen=HostPort("127.0.0.1", 0),
        http_listen=HostPort("127.0.0.1", 0),  # the one-click unsubscribe endpoint
        secret_file=str(tmp_path / "listserv.secret"),
        dkim_key_dir=str(tmp_path / "dkim"),
        dns_resolver=quiet_dns.address,
        relay=RelaySetting("smtp", host="127.0.0.1", port=sink.port),
        domain=DOMAIN,
        poll_seconds=0.2,
        retry_seconds=1,
        connections=2,
    )


@pytest.fixture
def clock() -> TestClock:
    """The clock of everything under test (see support/clock.py)."""
    return TestClock()


@pytest.fixture
def work(settings: Settings, clock: TestClock) -> Iterator[Work]:
    """The work context jobs and handlers take: the test database, settings, templates, clock."""
    sql = db.open_engine(settings.database_url)
    yield Work(db.sessions(sql), settings, Templates(settings.templates_dir), clock)
    sql.dispose()


@pytest.fixture
def engine(settings: Settings, clock: TestClock) -> Iterator[RunningEngine]:
    running = RunningEngine(settings, clock).start()
    yield running
    running.stop()


ListMaker = Callable[..., str]


@pytest.fixture
def make_list(settings: Settings, clock: TestClock) -> Iterator[ListMaker]:
    """make_list("team", members=[...], facilitators=[...], **settings) -> the list address."""
    sql = db.open_engine(settings.database_url)
    sessions = db.sessions(sql)

    def make(
        name: str = "team",
        members: tuple[str, ...] | list[str] = (),
        facilitators: tuple[str, ...] = (),
        **changes: str,
    ) -> str:
        address = f"{name}@{DOMAIN}"
        with sessions() as session, session.begin():
            row = admin.create_list(session, address, name.title(), "A test community", clock())
            for email in members:
                admin.add_member(session, row.id, normalize_address(email), clock())
            for email in facilitators:
                admin.add_member(session, row.id, normalize_address(email), clock(), role="facilitator")
            for key, value in changes.items():
                admin.set_list(session, address, key, value, LIST_SETTINGS)
        return address

    yield make
    sql.dispose()


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: TestClock,
        quiet_dns: DnsServer) -> Callable[..., str]:  # fmt: skip
    """cli("list", "ls", input=..., code=0) -> output: the real `listserv` command on a fresh database."""
    monkeypatch.setenv("LISTSERV_DATABASE_URL", database_url)
    monkeypatch.setenv("LISTSERV_DOMAIN", "lists.example.test")
    monkeypatch.setenv("LISTSERV_RELAY", f"maildir:{tmp_path}/outbox")
    monkeypatch.setenv("LISTSERV_SECRET_FILE", str(tmp_path / "listserv.secret"))
    monkeypatch.setenv("LISTSERV_DKIM_KEY_DIR", str(tmp_path / "dkim"))
    monkeypatch.setenv("LISTSERV_DNS_RESOLVER", quiet_dns.address)
    runner = CliRunner()

    def run(*args: str, input: bytes | str | None = None, code: int = 0) -> str:
        result = runner.invoke(main, list(args), input=input, obj=CliContext(None, clock=clock))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    run("init")
    return run
