"""A private PostgreSQL cluster for tests that stop and start the server (never the shared one).

Debian's initdb and pg_ctl, run as the `postgres` user (the server refuses root) through
runuser; the data directory is a fresh temporary folder, the port a free one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.postfix import free_port

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/usr/lib/postgresql/15/bin"))


def available() -> str:
    """Why a private cluster cannot run here ("" if it can)."""
    if not (BIN / "initdb").exists():
        return f"no {BIN}/initdb (apt-get install postgresql)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    return "" if shutil.which("runuser") else "no runuser"


class PgCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="listserv-pg-"))
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.data, self.log = self.dir / "data", self.dir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                                timeout=120)  # fmt: skip
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"{args[0]} failed: {result.stdout}{result.stderr}{log}")

    def init(self) -> "PgCluster":
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self.start()

    def start(self) -> "PgCluster":
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """fast: every session is cut off at once (as a restart does); immediate: as a crash."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)
