"""A listener that cannot bind stops `listserv serve` with one line: which listener, where, why, what to do.

The real command as a subprocess against a port another program holds; the real Service in
process, to see it release what it had opened; and the wording for the other reasons.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from listserv.errors import ServiceError
from listserv.inbound.server import cannot_listen
from listserv.service import Service
from listserv.settings import HostPort
from listserv.store import db
from listserv.work import Work
from support.postfix import free_port
from support.startup import serve_expecting_failure


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def sql(work: Work) -> Iterator[Engine]:
    engine = db.open_engine(work.settings.database_url)
    yield engine
    engine.dispose()


def service_with(work: Work, sql: Engine, **listen: HostPort) -> Service:
    return Service(dataclasses.replace(work, settings=dataclasses.replace(work.settings, **listen)), sql)


@pytest.mark.parametrize("listener", ["LMTP", "SMTP", "HTTP"])
def test_serve_with_a_port_in_use_prints_one_line_and_exits(settings, occupied, tmp_path, listener):
    key = f"{listener.lower()}_listen"
    ended = serve_expecting_failure(settings, tmp_path, **{key: f"127.0.0.1:{occupied}"})
    assert ended.code == 1 and "Traceback" not in ended.stderr, ended.stderr
    line = f"Error: cannot listen for {listener} on 127.0.0.1:{occupied}: address already in use; "
    line += f"stop the other program or set {key}"
    assert ended.errors == [line] == ended.stderr.splitlines()[-1:]
    assert ended.seconds < 20


def can_bind(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_a_listener_that_cannot_start_releases_what_was_opened(work, sql, occupied):
    """LMTP is up when SMTP fails: the failure closes it again, and the HTTP listener never opens."""
    lmtp, http = free_port(), free_port()
    service = service_with(work, sql, lmtp_listen=HostPort("127.0.0.1", lmtp),
                           smtp_listen=HostPort("127.0.0.1", occupied), http_listen=HostPort("127.0.0.1", http))  # fmt: skip

    async def start() -> None:
        with pytest.raises(ServiceError, match=f"cannot listen for SMTP on 127.0.0.1:{occupied}: address already"):
            await service.start()

    asyncio.run(start())
    assert service.servers and all(not server.is_serving() for server in service.servers)
    assert can_bind(lmtp) and can_bind(http) and service.web.server is None


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.EACCES, "error while attempting to bind on address ('0.0.0.0', 25): permission denied"),
         "cannot listen for SMTP on 0.0.0.0:25: permission denied; ports below 1024 need root or "
         "CAP_NET_BIND_SERVICE; set smtp_listen"),
        (OSError(errno.EADDRNOTAVAIL, "error while attempting to bind on address ('192.0.2.1', 25): cannot assign"),
         "cannot listen for SMTP on 0.0.0.0:25: not an address of this machine; set smtp_listen to one of its addresses"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
         "cannot listen for SMTP on 0.0.0.0:25: unknown host (Name or service not known); set smtp_listen to an "
         "address of this machine"),
        (OSError(errno.EMFILE, "error while attempting to bind on address ('0.0.0.0', 25): too many open files"),
         "cannot listen for SMTP on 0.0.0.0:25: too many open files; check smtp_listen"),
    ],
)  # fmt: skip
def test_each_reason_says_what_to_do(error, words):
    assert str(cannot_listen("SMTP", HostPort("0.0.0.0", 25), "smtp_listen", error)) == words


def test_an_address_of_another_machine_stops_the_service(work, sql):
    service = service_with(work, sql, lmtp_listen=HostPort("192.0.2.1", free_port()))

    async def start() -> None:
        with pytest.raises(
            ServiceError, match="cannot listen for LMTP on 192.0.2.1:.*: not an address of this machine"
        ):
            await service.start()

    asyncio.run(start())


def test_serve_without_its_secret_file_stops_with_one_line_and_makes_none(settings, tmp_path):
    """A new secret would break every link and reply address in mail already sent: only init makes one."""
    secret = tmp_path / "elsewhere.secret"
    ended = serve_expecting_failure(settings, tmp_path, secret_file=str(secret))
    assert ended.code == 1 and ended.seconds < 20 and "Traceback" not in ended.stderr
    assert ended.errors == [f"Error: no secret_file {secret}: run `listserv init` to create one, or restore it "
                            "from your backup (links and reply addresses in mail already sent need the same "
                            "secret)"]  # fmt: skip
    assert not secret.exists()
