"""`listserv serve` as a real subprocess, for tests that kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from listserv.settings import Settings
from support.mail import lmtp_send, make_post
from support.postfix import free_port
from support.sink import Sink


def serve_env(settings: Settings, lmtp_port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERV_")}
    env.update(
        LISTSERV_DATABASE_URL=settings.database_url,
        LISTSERV_LMTP_LISTEN=f"127.0.0.1:{lmtp_port}",
        LISTSERV_SMTP_LISTEN=f"127.0.0.1:{smtp_port}",
        LISTSERV_HTTP_LISTEN="127.0.0.1:0",
        LISTSERV_SECRET_FILE=settings.secret_file,
        LISTSERV_RELAY=str(settings.relay),
        LISTSERV_DOMAIN=settings.domain,
        LISTSERV_BATCH_SIZE=str(settings.batch_size),
        LISTSERV_CONNECTIONS=str(settings.connections),
        LISTSERV_POLL_SECONDS=str(settings.poll_seconds),
        LISTSERV_RETRY_SECONDS=str(settings.retry_seconds),
        LISTSERV_LEASE_SECONDS=str(settings.lease_seconds),
        LISTSERV_PUBLIC_URL=settings.public_url,
        LISTSERV_DKIM_KEY_DIR=settings.dkim_key_dir,
        LISTSERV_DKIM_SELECTOR=settings.dkim_selector,
        LISTSERV_DNS_RESOLVER=settings.dns_resolver,
    )
    return env


class ServeProcess:
    def __init__(self, settings: Settings, log: Path, env: dict[str, str] | None = None) -> None:
        self.settings, self.log, self.env = settings, log, env or {}
        self.lmtp_port, self.smtp_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def lmtp(self) -> tuple[str, int]:
        return ("127.0.0.1", self.lmtp_port)

    def start(self) -> "ServeProcess":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "listserv", "serve"],
                env=serve_env(self.settings, self.lmtp_port, self.smtp_port) | self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60  # a loaded machine imports slowly
        while time.monotonic() < deadline:
            try:
                socket.create_connection(self.lmtp, timeout=1).close()
                return self
            except OSError:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                time.sleep(0.05)
        raise AssertionError("listserv serve did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def kill_during_fanout(settings: Settings, sink: Sink, address: str, members: list[str], log: Path,
                       data_delay: float, killed_after: int) -> list[tuple[str, bytes]]:  # fmt: skip
    """A post from members[0] to a list of `members` through `listserv serve`; kill -9 once the slow
    sink has `killed_after` deliveries, restart, and wait until every other member has a copy.
    Returns every delivery the sink saw (duplicates included)."""
    sink.handler.data_delay = data_delay
    server = ServeProcess(settings, log).start()
    try:
        reply = lmtp_send(server.lmtp, members[0], [address], make_post(members[0], to=address))
        assert reply[address].startswith("250")
        sink.wait_for(killed_after, timeout=30)
        server.kill()
        assert len(sink.deliveries()) < len(members) - 1, "the kill came too late to test anything"
        sink.handler.data_delay = 0
        server.start()
        deadline = time.monotonic() + 90
        while len({rcpt for rcpt, _ in sink.deliveries()}) < len(members) - 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        server.stop()
    return sink.deliveries()
