"""`listserv serve --workers N`: N serving processes on this machine, sharing the database.

The parent binds the three listeners (LMTP, SMTP, HTTP) once and starts N children of
`listserv serve`, each inheriting the bound sockets: every child accepts connections on the
same sockets (the kernel hands each connection to one), and runs its own worker, senders and
jobs, claiming work through the database like any other node (store/nodes.py). So it works
on SQLite too, and a child's death loses no queued connection. The parent only watches: a
child that dies is reported and started again; SIGTERM (or SIGINT) to the parent stops every
child cleanly (SIGTERM, then SIGKILL after STOP_SECONDS).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from listserv.inbound.server import cannot_listen
from listserv.settings import HostPort, Settings

log = logging.getLogger(__name__)
STOP_SECONDS = 30
FIRST_RESTART_DELAY = 1.0  # then twice as long after each quick death, up to LONGEST_RESTART_DELAY
LONGEST_RESTART_DELAY = 30.0
HEALTHY_SECONDS = 60.0  # a child that ran this long starts again at once if it dies


@dataclass(frozen=True)
class Listeners:
    """Bound listening sockets' descriptors, in the order lmtp, smtp, http."""

    fds: tuple[int, int, int]

    def option(self) -> str:
        return ",".join(map(str, self.fds))

    @staticmethod
    def parse(value: str) -> "Listeners":
        parts = tuple(int(part) for part in value.split(","))
        if len(parts) != 3:
            raise ValueError("expected three descriptors: lmtp,smtp,http")
        return Listeners((parts[0], parts[1], parts[2]))

    def sockets(self) -> tuple[socket.socket, socket.socket, socket.socket]:
        lmtp, smtp, http = (socket.socket(fileno=fd) for fd in self.fds)
        return lmtp, smtp, http


def bind_listeners(settings: Settings) -> Listeners:
    """Bind lmtp_listen, smtp_listen and http_listen for the children; ServiceError if one cannot be."""
    bound = []
    for what, key, address in (("LMTP", "lmtp_listen", settings.lmtp_listen),
                               ("SMTP", "smtp_listen", settings.smtp_listen),
                               ("HTTP", "http_listen", settings.http_listen)):  # fmt: skip
        bound.append(_bind(what, key, address))
        log.info("listening %s on %s for the workers", what, address)
    return Listeners((bound[0].detach(), bound[1].detach(), bound[2].detach()))


def _bind(what: str, key: str, address: HostPort) -> socket.socket:
    try:
        family = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)[0][0]
        server = socket.create_server((address.host, address.port), family=family, backlog=1024)
    except OSError as error:
        raise cannot_listen(what, address, key, error) from None
    server.set_inheritable(True)
    return server


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the parent dies without stopping it (kill -9)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    delay: float = FIRST_RESTART_DELAY


class Supervisor:
    def __init__(self, workers: int, config: str | None, node_name: str, listeners: Listeners) -> None:
        self.workers, self.config, self.node_name, self.listeners = workers, config, node_name, listeners
        self.children: dict[int, Child] = {}
        self.stopping = False

    def command(self) -> list[str]:
        config = ["--config", self.config] if self.config else []
        return [sys.executable, "-m", "listserv", *config, "serve", "--listen-fds", self.listeners.option()]

    def spawn(self, index: int, delay: float = FIRST_RESTART_DELAY) -> None:
        env = dict(os.environ)
        if self.node_name:  # else each child is hostname:pid
            env["LISTSERV_NODE_NAME"] = f"{self.node_name}/{index}"
        process = subprocess.Popen(self.command(), env=env, pass_fds=self.listeners.fds, preexec_fn=_die_with_parent)
        self.children[index] = Child(index, process, time.monotonic(), delay)
        log.info("worker %d started (pid %d)", index, process.pid)

    def run(self) -> int:
        """Until SIGTERM or SIGINT: start the workers, restart any that dies. Returns the exit status."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for index in range(1, self.workers + 1):
            self.spawn(index)
        while not self.stopping:
            self._watch()
            time.sleep(0.2)
        return self._stop_children()

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _watch(self) -> None:
        for child in list(self.children.values()):
            code = child.process.poll()
            if code is None or self.stopping:
                continue
            ran = time.monotonic() - child.started
            healthy = ran >= HEALTHY_SECONDS
            delay = 0.0 if healthy else child.delay
            how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            log.error("worker %d (pid %d) died (%s) after %.0fs; starting it again in %gs",
                      child.index, child.process.pid, how, ran, delay)  # fmt: skip
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not self.stopping:
                time.sleep(0.1)
            if not self.stopping:
                self.spawn(child.index, FIRST_RESTART_DELAY if healthy else min(child.delay * 2, LONGEST_RESTART_DELAY))

    def _stop_children(self) -> int:
        log.info("stopping %d workers", len(self.children))
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children.values():
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d (pid %d) did not stop in %ds: killed", child.index, child.process.pid,
                            STOP_SECONDS)  # fmt: skip
                child.process.kill()
                child.process.wait()
        log.info("stopped")
        return 0
