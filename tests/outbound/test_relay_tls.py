"""TLS and AUTH to the outbound relay, against a real aiosmtpd relay with a throwaway private CA.

End to end through the engine: a post goes out over smtps:// and smtp+starttls:// with AUTH;
a wrong CA, a wrong password or a relay without STARTTLS leaves every delivery deferred with
a readable reason in the ledger, and the password nowhere. Then the client alone (LOGIN,
host name checking, pipelining over TLS) and the settings that describe a TLS relay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from listserv.errors import ConfigError
from listserv.outbound.relay import SMTPRelay, client_tls_context, open_relays, read_password
from listserv.outbound.smtp_client import Security, SMTPConnection, SMTPError, Transaction
from listserv.settings import RelaySetting, Settings, load_settings
from listserv.store.schema import Delivery, DeliveryStatus
from support.engine import RunningEngine
from support.mail import lmtp_send, make_post
from support.sink import Sink
from support.tls import PASSWORD, USER, Certificates, TLSRelay, make_certificates

MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org"]
BODY = b"Subject: hi\r\n\r\nover TLS\r\n.a line starting with a dot\r\n"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls") / "relay")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Another private CA: it did not sign the relay's certificate."""
    return make_certificates(tmp_path_factory.mktemp("tls") / "other")


def password_file(tmp_path: Path, password: str = PASSWORD, name: str = "relay.password") -> str:
    path = tmp_path / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return str(path)


def tls_settings(
    settings: Settings, tmp_path: Path, port: int, tls: str, ca: Path, password: str = PASSWORD
) -> Settings:
    relay = RelaySetting("smtp", host="127.0.0.1", port=port, tls=tls)
    return dataclasses.replace(settings, relay=relay, relay_user=USER, relay_ca_file=str(ca),
                               relay_password_file=password_file(tmp_path, password))  # fmt: skip


@pytest.fixture
def relays() -> Iterator[list[TLSRelay]]:
    """Relays to stop when the test ends, after the engines (whose connections they still hold)."""
    started: list[TLSRelay] = []
    yield started
    for relay in started:
        relay.stop()


@pytest.fixture
def run_engine(relays: list[TLSRelay]) -> Iterator[list[RunningEngine]]:
    started: list[RunningEngine] = []
    yield started
    for engine in started:
        engine.stop()


def post_to_team(engine: RunningEngine) -> None:
    replies = lmtp_send(engine.lmtp, "alice@example.com", ["team@lists.example.test"], make_post())
    assert replies["team@lists.example.test"].startswith("250")


def wait_for_ledger(engine: RunningEngine, status: str, count: int, timeout: float = 20.0) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.work.sessions() as session:
            rows = list(session.scalars(select(Delivery).where(Delivery.status == status)))
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"expected {count} deliveries {status}")


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_a_post_goes_out_over_tls_with_auth(settings, make_list, clock, relays, run_engine, certificates, tmp_path,
                                            tls):  # fmt: skip
    relays.append(relay := TLSRelay(certificates, tls).start())
    make_list("team", members=MEMBERS)
    engine = RunningEngine(tls_settings(settings, tmp_path, relay.port, tls, certificates.ca), clock).start()
    run_engine.append(engine)
    post_to_team(engine)
    assert sorted(rcpt for rcpt, _ in relay.wait_for(2)) == ["bob@example.com", "carol@example.org"]
    assert relay.logins and set(relay.logins) == {USER}  # MAIL is refused before AUTH
    assert all(row.last_reply.startswith("250") for row in wait_for_ledger(engine, DeliveryStatus.SENT, 2))


def deferred_reasons(engine: RunningEngine) -> set[str]:
    return {row.last_reply for row in wait_for_ledger(engine, DeliveryStatus.DEFERRED, 2)}


@pytest.mark.parametrize(
    ("tls", "case", "reason"),
    [
        ("starttls", "wrong CA", "certificate verify failed: unable to get local issuer certificate"),
        ("implicit", "wrong CA", "certificate verify failed: unable to get local issuer certificate"),
        ("starttls", "wrong password", f"refused AUTH PLAIN for {USER}: 535 5.7.8 Authentication credentials invalid"),
    ],
)
def test_a_tls_or_auth_failure_defers_with_a_readable_reason(settings, make_list, clock, relays, run_engine,
                                                             certificates, other_ca, tmp_path, caplog, tls, case,
                                                             reason):  # fmt: skip
    caplog.set_level(logging.WARNING, logger="listserv")
    relays.append(relay := TLSRelay(certificates, tls).start())
    make_list("team", members=MEMBERS)
    ca = other_ca.ca if case == "wrong CA" else certificates.ca
    password = "not the password" if case == "wrong password" else PASSWORD
    engine = RunningEngine(tls_settings(settings, tmp_path, relay.port, tls, ca, password), clock).start()
    run_engine.append(engine)
    post_to_team(engine)
    (last_reply,) = deferred_reasons(engine)
    assert last_reply.startswith("451 4.4.2 ") and reason in last_reply, last_reply
    assert relay.messages == []
    lines = [r for r in caplog.records if r.name == "listserv.outbound.send" and reason in r.getMessage()]
    assert lines and all(r.exc_info is None for r in lines)  # one line per attempt, no traceback
    assert not any(password in r.getMessage() for r in caplog.records)


def test_a_relay_without_starttls_gets_nothing(settings, make_list, clock, run_engine, certificates, sink: Sink,
                                               tmp_path):  # fmt: skip
    make_list("team", members=MEMBERS)
    engine = RunningEngine(tls_settings(settings, tmp_path, sink.port, "starttls", certificates.ca), clock).start()
    run_engine.append(engine)
    post_to_team(engine)
    assert deferred_reasons(engine) == {
        f"451 4.4.2 127.0.0.1:{sink.port} does not offer STARTTLS; not sending without TLS"
    }
    assert sink.messages == []


def connection(port: int, tls: str, ca: Path, hostname: str = "127.0.0.1") -> SMTPConnection:
    security = Security(tls, client_tls_context(str(ca)), USER, PASSWORD)
    return SMTPConnection(hostname, port, timeout=5, helo="client.test", security=security)


async def send_three(client: SMTPConnection) -> list[dict[str, int]]:
    try:
        transactions = [Transaction(f"list-bounces+{n}@lists.test", (f"m{n}@example.com",), BODY) for n in range(3)]
        return [{rcpt: reply.code for rcpt, reply in result.items()} for result in await client.send_many(transactions)]
    finally:
        await client.close()


def test_auth_login_when_the_relay_offers_no_plain_and_pipelining_over_tls(certificates):
    relay = TLSRelay(certificates, "implicit", mechanisms=["LOGIN"]).start()
    try:
        client = connection(relay.port, "implicit", certificates.ca)
        assert asyncio.run(send_three(client)) == [{f"m{n}@example.com": 250} for n in range(3)]
        assert client.auth_mechanisms == {"LOGIN"}
        assert [m.rcpts for m in relay.messages] == [[f"m{n}@example.com"] for n in range(3)]
        assert relay.messages[0].data.endswith(b"over TLS\r\n.a line starting with a dot\r\n")
    finally:
        relay.stop()


def test_the_host_name_is_checked(tmp_path):
    elsewhere = make_certificates(tmp_path / "elsewhere", names=["relay.example.test"], addresses=[])
    relay = TLSRelay(elsewhere, "starttls").start()
    try:
        with pytest.raises(SMTPError) as failed:
            asyncio.run(send_three(connection(relay.port, "starttls", elsewhere.ca)))
        assert "certificate verify failed: IP address mismatch" in str(failed.value)
        assert relay.messages == []
    finally:
        relay.stop()


def test_the_plain_relay_is_unchanged(sink: Sink):
    assert asyncio.run(send_three(SMTPRelay("127.0.0.1", sink.port).connection)) == [
        {f"m{n}@example.com": 250} for n in range(3)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("smtps://mail.example.org", RelaySetting("smtp", host="mail.example.org", port=465, tls="implicit")),
        ("smtp+starttls://mail.example.org", RelaySetting("smtp", host="mail.example.org", port=587, tls="starttls")),
        (
            "smtp+starttls://mail.example.org:2587",
            RelaySetting("smtp", host="mail.example.org", port=2587, tls="starttls"),
        ),
        ("smtp://mail.example.org", RelaySetting("smtp", host="mail.example.org", port=25)),
    ],
)
def test_tls_relays_are_read_and_print_back(value, expected):
    relay = load_settings(None, {"LISTSERV_RELAY": value}).relay
    assert relay == expected
    assert load_settings(None, {"LISTSERV_RELAY": str(relay)}).relay == relay


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"LISTSERV_RELAY": "smtps://listserv:hunter2@mail.example.org"}, ["relay_user", "relay_password_file"]),
        ({"LISTSERV_RELAY": "smtp://mail.example.org", "LISTSERV_RELAY_USER": "u", "LISTSERV_RELAY_PASSWORD_FILE": "p"},
         ["only sent over TLS", "smtps://"]),
        ({"LISTSERV_RELAY": "smtps://mail.example.org", "LISTSERV_RELAY_USER": "u"}, ["relay_password_file"]),
        ({"LISTSERV_RELAY": "smtps://mail.example.org", "LISTSERV_RELAY_PASSWORD_FILE": "p"}, ["relay_user"]),
        ({"LISTSERV_RELAY": "smtp://mail.example.org", "LISTSERV_RELAY_CA_FILE": "ca.pem"}, ["relay_ca_file"]),
    ],
)  # fmt: skip
def test_relay_settings_that_do_not_fit_together_stop_at_start(environ, words):
    with pytest.raises(ConfigError) as error:
        load_settings(None, environ)
    assert all(word in str(error.value) for word in words)
    assert "hunter2" not in str(error.value)


def test_relay_files_that_cannot_be_used_stop_at_start(tmp_path, certificates):
    base = Settings(relay=RelaySetting("smtp", host="mail.example.org", port=465, tls="implicit"), relay_user=USER)
    cases = [
        (dict(relay_password_file=str(tmp_path / "missing")), "cannot read relay_password_file"),
        (dict(relay_password_file=password_file(tmp_path, "", "empty")), "is empty"),
        (dict(relay_password_file=password_file(tmp_path), relay_ca_file=str(tmp_path / "nope.pem")),
         "cannot read relay_ca_file"),
        (dict(relay_password_file=password_file(tmp_path), relay_ca_file=str(certificates.key)), "no PEM CA certificate"),
    ]  # fmt: skip
    for changes, words in cases:
        with pytest.raises(ConfigError) as error:
            open_relays(dataclasses.replace(base, **changes), 2)
        assert words in str(error.value)
    assert read_password(password_file(tmp_path, "pa ss")) == "pa ss"  # the first line, spaces kept
    relays = open_relays(dataclasses.replace(base, relay_password_file=password_file(tmp_path)), 2)
    assert len(relays) == 2 and PASSWORD not in repr(relays[0].connection.security)  # type: ignore[attr-defined]
