"""STARTTLS on the SMTP listener, with certificates from a throwaway CA and a real client (smtplib).

LMTP stays plain (a local MTA hands mail over); neither listener offers AUTH; with
smtp_require_tls, MAIL before STARTTLS gets 530 5.7.0. Certificate files that cannot be
used stop `listserv serve` at start with one line, not a traceback.
"""

from __future__ import annotations

import dataclasses
import smtplib
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from listserv.settings import Settings
from support.engine import RunningEngine
from support.mail import make_post
from support.startup import serve_expecting_failure
from support.tls import Certificates, make_certificates, openssl

MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org"]
TEAM = "team@lists.example.test"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls") / "listener")


@pytest.fixture
def tls_engine(settings: Settings, clock, certificates: Certificates) -> Iterator[Callable[..., RunningEngine]]:
    """tls_engine(**settings) -> the engine, its SMTP listener with the test certificate."""
    started: list[RunningEngine] = []

    def start(**changes: object) -> RunningEngine:
        changed = dataclasses.replace(settings, tls_cert_file=str(certificates.cert),
                                      tls_key_file=str(certificates.key), **changes)  # fmt: skip
        started.append(RunningEngine(changed, clock).start())
        return started[-1]

    yield start
    for engine in started:
        engine.stop()


def trusting(certificates: Certificates) -> ssl.SSLContext:
    """A client that trusts the test CA, and checks the host name as any client would."""
    return ssl.create_default_context(cafile=str(certificates.ca))


def test_the_smtp_listener_offers_starttls_and_a_post_arrives_through_it(tls_engine, certificates, make_list, sink):
    make_list("team", members=MEMBERS)
    engine = tls_engine()
    with smtplib.SMTP(*engine.smtp, timeout=10) as client:
        client.ehlo("mx.example.test")
        assert client.has_extn("starttls") and not client.has_extn("auth")
        assert client.starttls(context=trusting(certificates))[0] == 220
        client.ehlo("mx.example.test")
        assert not client.has_extn("starttls") and not client.has_extn("auth")  # we take no logins
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert client.sendmail("alice@example.com", [TEAM], make_post()) == {}
    assert sorted(rcpt for rcpt, _ in sink.wait_for(2)) == ["bob@example.com", "carol@example.org"]
    with smtplib.LMTP(*engine.lmtp, timeout=10) as lmtp:
        lmtp.ehlo("mx.example.test")
        assert not lmtp.has_extn("starttls")  # LMTP stays plain, for the local MTA


def test_smtp_require_tls_refuses_mail_before_starttls(tls_engine, certificates, make_list, sink):
    make_list("team", members=MEMBERS)
    engine = tls_engine(smtp_require_tls=True)
    with smtplib.SMTP(*engine.smtp, timeout=10) as client:
        client.ehlo("mx.example.test")
        assert client.mail("alice@example.com") == (530, b"5.7.0 Must issue a STARTTLS command first")
        client.starttls(context=trusting(certificates))
        client.ehlo("mx.example.test")
        assert client.sendmail("alice@example.com", [TEAM], make_post()) == {}
    sink.wait_for(2)


@pytest.fixture(scope="module")
def unusable(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> dict[str, Path]:
    """Files an operator might point listserv at by mistake."""
    folder = tmp_path_factory.mktemp("unusable")
    other = make_certificates(folder / "other")
    openssl(folder, "pkey", "-in", str(certificates.key), "-aes256", "-passout", "pass:secret", "-out", "encrypted.key")
    return {"missing": folder / "missing.pem", "other key": other.key, "encrypted key": folder / "encrypted.key"}


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("missing", "key", "Error: cannot read tls_cert_file {missing}: No such file or directory"),
        ("cert", "other key", "Error: tls_cert_file {cert} and tls_key_file {other key} are not a PEM certificate "
                              "and its private key ([X509: KEY_VALUES_MISMATCH] key values mismatch)"),
        ("cert", "encrypted key", "Error: tls_key_file is encrypted; listserv needs it without a passphrase "
                                  "(readable by listserv only)"),
        ("cert", "", "Error: tls_cert_file and tls_key_file go together: set both (STARTTLS on smtp_listen) or neither"),
    ],
)  # fmt: skip
def test_certificate_files_that_cannot_be_used_stop_serve_with_one_line(settings, certificates, unusable, tmp_path,
                                                                       cert, key, message):  # fmt: skip
    files = {"cert": str(certificates.cert), "key": str(certificates.key), "": ""}
    files.update({name: str(path) for name, path in unusable.items()})
    ended = serve_expecting_failure(settings, tmp_path, tls_cert_file=files[cert], tls_key_file=files[key])
    assert ended.code == 1 and "Traceback" not in ended.stderr, ended.stderr
    assert ended.errors == [message.format_map(files)] == ended.stderr.splitlines()[-1:]
    assert ended.seconds < 20
