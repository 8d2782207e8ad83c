"""Throwaway certificates (made with the `openssl` command) and a real aiosmtpd relay with TLS and AUTH.

make_certificates(folder) writes a private CA and a server certificate it signed, for
`localhost` and 127.0.0.1 by default, valid for two days from now: what an operator with a
private CA would have. TLSRelay is the support Sink (a real aiosmtpd server in its own
thread) speaking TLS from the first byte ("implicit", like port 465) or offering STARTTLS
("starttls", like 587), and requiring AUTH before MAIL.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from support.sink import Sink, SinkHandler

USER, PASSWORD = "listserv", "correct horse battery staple"
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate (PEM): what relay_ca_file names
    cert: Path  # the server's certificate, signed by the CA
    key: Path  # the server's private key (PEM, not encrypted)


def openssl(folder: Path, *args: str) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def make_certificates(
    folder: Path, names: Sequence[str] = ("localhost",), addresses: Sequence[str] = ("127.0.0.1",)
) -> Certificates:
    """A CA and a server certificate for `names` and `addresses` (subjectAltName), in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl(folder, "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=listserv test CA")  # fmt: skip
    openssl(folder, "req", "-new", *EC_KEY, "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={names[0]}")  # fmt: skip
    san = ",".join([f"DNS:{name}" for name in names] + [f"IP:{address}" for address in addresses])
    (folder / "server.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    openssl(folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.pem")  # fmt: skip
    return Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")


def server_context(certificates: Certificates) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert, certificates.key)
    return context


@dataclass
class AuthSinkHandler(SinkHandler):
    """The sink's handler, refusing MAIL until the client has logged in; records who did."""

    logins: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        with self.lock:
            self.logins.append(session.auth_data.login.decode())
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"


class TLSRelay(Sink):
    """A relay that wants TLS and AUTH. `mechanisms` are the AUTH mechanisms it offers."""

    def __init__(self, certificates: Certificates, tls: str, mechanisms: Sequence[str] = ("LOGIN", "PLAIN"),
                 password: str = PASSWORD) -> None:  # fmt: skip
        super().__init__()
        self.handler = AuthSinkHandler()
        self.certificates, self.tls, self.password = certificates, tls, password
        self.excluded = [name for name in ("LOGIN", "PLAIN") if name not in mechanisms]

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      data: object) -> AuthResult:  # fmt: skip
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == self.password.encode()
        return AuthResult(success=ok, handled=False, auth_data=data)

    def _protocol(self, context: ssl.SSLContext) -> SMTP:
        starttls = self.tls == "starttls"
        return SMTP(self.handler, hostname="relay.example.test", tls_context=context if starttls else None,
                    require_starttls=starttls, auth_require_tls=starttls, authenticator=self._authenticate,
                    auth_exclude_mechanism=self.excluded)  # fmt: skip

    def start(self) -> "TLSRelay":
        context = server_context(self.certificates)
        loop = asyncio.new_event_loop()
        wrapped = context if self.tls == "implicit" else None
        server = loop.run_until_complete(
            loop.create_server(lambda: self._protocol(context), "127.0.0.1", self.port, ssl=wrapped)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._loop, self._server = loop, server
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def logins(self) -> list[str]:
        with self.handler.lock:
            assert isinstance(self.handler, AuthSinkHandler)
            return list(self.handler.logins)
