"""A throwaway Dovecot (IMAP, IMAPS) on 127.0.0.1 for the IMAP intake tests.

Its own config, run, state, log and mail directories under one /tmp directory; /etc/dovecot is
never read. Written from ../shared/recipes/dovecot-imap.sh (what works as root without systemd:
`nobody` owns the mail, Dovecot's own base_dir and instance name, a master pid that may linger
as a zombie). Users are passwd-file entries with plain passwords. The TLS certificate is signed
by a private CA (support/tls.py), so clients verify it with imap_ca_file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support.postfix import free_port, make_instance_dir
from support.tls import Certificates, make_certificates

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
MAIL_USER = "nobody"

CONFIG = """\
instance_name = listserv-test-{port}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/log/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
{dh}
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


def is_available() -> bool:
    return os.path.exists(DOVECOT) and os.path.exists(DOVEADM) and os.geteuid() == 0


class Dovecot:
    """start(), then stop(); `deliver` puts a message in a user's folder as a new arrival would."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        if not is_available():
            pytest.skip("Dovecot is not installed (apt-get install dovecot-core dovecot-imapd) or not root")
        self.dir = make_instance_dir("listserv-dovecot-")
        self.users = users or {"list": "secret", "other": "secret"}
        self.port, self.imaps_port = free_port(), free_port()
        self.certificates: Certificates = make_certificates(self.dir)
        self.config = self.dir / "dovecot.conf"
        entry = pwd.getpwnam(MAIL_USER)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self._write_config()

    @property
    def ca_file(self) -> str:
        return str(self.certificates.ca)

    def _write_config(self) -> None:
        for sub in ("run", "state", "log", "mail"):
            (self.dir / sub).mkdir(exist_ok=True)
            (self.dir / sub).chmod(0o755)
        lines = []
        for user, password in self.users.items():
            home = self.dir / "mail" / user
            home.mkdir(exist_ok=True)
            os.chown(home, self.uid, self.gid)
            lines.append(f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n")
        users = self.dir / "users"
        users.write_text("".join(lines))
        users.chmod(0o640)
        shutil.chown(users, group="dovecot")
        dh = "ssl_dh = </usr/share/dovecot/dh.pem" if os.access("/usr/share/dovecot/dh.pem", os.R_OK) else ""
        self.config.write_text(CONFIG.format(dir=self.dir, port=self.port, imaps_port=self.imaps_port, dh=dh,
                                             cert=self.certificates.cert, key=self.certificates.key))  # fmt: skip

    def start(self, timeout: float = 10.0) -> Dovecot:
        errors = self.dir / "log" / "start.err"
        with errors.open("wb") as stderr:  # the daemon keeps what it inherits: never a pipe here
            code = subprocess.run([DOVECOT, "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=stderr, check=False).returncode  # fmt: skip
        if code != 0:
            raise RuntimeError(f"dovecot did not start: {errors.read_text()}{self.log()[-2000:]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._greets():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"no IMAP greeting on 127.0.0.1:{self.port}: {self.log()[-2000:]}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _master_pid(self) -> int | None:
        try:
            pid = int((self.dir / "run" / "master.pid").read_text().split()[0])
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        return None if state in ("Z", "X") else pid

    def stop(self) -> None:
        """SIGTERM to the master, then wait until it is gone and the ports are free."""
        pid = self._master_pid()
        if pid is not None:
            os.kill(pid, 15)
            deadline = time.monotonic() + 10
            while self._master_pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
        (self.dir / "run" / "master.pid").unlink(missing_ok=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._greets():
            time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        result = subprocess.run([DOVEADM, "-c", str(self.config), *args], input=input, capture_output=True,
                                check=False, timeout=60)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode(errors="replace")

    def deliver(self, raw: bytes, user: str = "list", folder: str = "INBOX") -> None:
        self.doveadm("save", "-u", user, "-m", folder, input=raw)

    def drop(self, raw: bytes, user: str = "list") -> None:
        """A new message written straight into the user's Maildir INBOX (works while Dovecot is down)."""
        maildir = self.dir / "mail" / user / "Maildir"
        name = f"{time.time_ns()}.P{os.getpid()}.test"
        if not (maildir / "new").is_dir():
            for path in (maildir, maildir / "tmp", maildir / "new", maildir / "cur"):
                path.mkdir(exist_ok=True)
                os.chown(path, self.uid, self.gid)
        (maildir / "tmp" / name).write_bytes(raw)
        os.chown(maildir / "tmp" / name, self.uid, self.gid)
        (maildir / "tmp" / name).rename(maildir / "new" / name)

    def uids(self, user: str = "list", folder: str = "INBOX", query: str = "all") -> list[int]:
        out = self.doveadm("search", "-u", user, "mailbox", folder, *query.split())
        return sorted(int(line.split()[1]) for line in out.splitlines() if line.strip())

    def count(self, user: str = "list", folder: str = "INBOX", query: str = "all") -> int:
        try:
            return len(self.uids(user, folder, query))
        except RuntimeError:  # no such folder
            return 0

    def flags(self, user: str = "list", folder: str = "INBOX") -> list[str]:
        out = self.doveadm("fetch", "-u", user, "flags", "mailbox", folder, "all")
        return [line.partition(":")[2].strip() for line in out.splitlines() if line.startswith("flags:")]

    def log(self) -> str:
        try:
            return (self.dir / "log" / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""
