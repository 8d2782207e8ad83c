"""A real DNS server on loopback for tests: dnsmasq serving the TXT records a test gives it.

dnsmasq answers only for the names it was given (no upstream, no /etc/hosts); any other name
is NXDOMAIN. Records are fixed when it starts; `serve(records)`
restarts it on the same port with new ones. Needs Debian's dnsmasq-base (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import dns.message
import dns.query

from support.postfix import free_port

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
MISSING = "dnsmasq is not installed: apt-get install -y dnsmasq-base (.ci/run does)"
Records = Mapping[str, str | Sequence[str]]  # name -> one TXT record (or several)


def free_dns_port() -> int:
    """A port free for both UDP and TCP (dnsmasq binds both), below the ephemeral range, so no
    client connection can take it between this check and dnsmasq's bind."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP")


def txt_line(name: str, text: str) -> str:
    """One TXT record as dnsmasq's config wants it: quoted strings of at most 255 octets, comma-separated."""
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return f"txt-record={name}," + ",".join(
        '"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks
    )


class DnsServer:
    def __init__(self, records: Records | None = None) -> None:
        if not Path(DNSMASQ).exists():
            raise RuntimeError(MISSING)
        self.conf = Path(tempfile.mkdtemp(prefix="listserv-dns-")) / "dnsmasq.conf"
        self.log = self.conf.with_name("dnsmasq.log")
        self.port = free_dns_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.records: dict[str, list[str]] = {}
        self.serve(records or {})

    @property
    def address(self) -> str:
        """What the dns_resolver setting takes."""
        return f"127.0.0.1:{self.port}"

    def serve(self, records: Records) -> DnsServer:
        """(Re)start with these records, replacing the earlier ones."""
        self.stop()
        self.records = {name: [value] if isinstance(value, str) else list(value) for name, value in records.items()}
        lines = [txt_line(name, text) for name, texts in self.records.items() for text in texts]
        self.conf.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [DNSMASQ, "--keep-in-foreground", f"--conf-file={self.conf}", "--no-resolv", "--no-hosts",
                 "--no-poll", "--pid-file=", "--user=root", "--listen-address=127.0.0.1", "--bind-interfaces",
                 f"--port={self.port}", "--local-ttl=300", "--local=/#/"],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        self._wait_ready()
        return self

    def add(self, records: Records) -> DnsServer:
        return self.serve({**self.records, **records})

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        query = dns.message.make_query("ready.invalid.", "TXT")
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {self.log.read_text(errors='replace')}")
            try:
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.2)
                return
            except (dns.exception.Timeout, OSError):
                time.sleep(0.02)
        raise RuntimeError("dnsmasq did not answer within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.conf.parent, ignore_errors=True)
