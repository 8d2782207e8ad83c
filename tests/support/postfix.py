"""Throwaway Postfix instances on 127.0.0.1 for integration tests.

Two modes, each a separate instance with its own config, queue, data and log directory:

- ``front``: accepts mail for ``list_domains`` only and hands it over LMTP to the engine
  (``relay_transport = lmtp:inet:HOST:PORT``). Every other recipient gets
  ``554 5.7.1 Relay access denied``; not even loopback clients may relay.
- ``outbound``: the engine's smarthost. Accepts mail for any domain from loopback and
  delivers each recipient to ``DIR/maildirs/<domain>/<localpart>/new/`` (lower-cased path).
  ``*@reject.example.test`` gets 550 at RCPT, ``*@defer.example.test`` 450;
  ``*@bounce.example.test`` is accepted, then bounced: the DSN lands in the envelope
  sender's Maildir (e.g. a VERP address of the engine).

/etc/postfix and any system instance are never touched. Needs root (Postfix's master
binds, then drops to the ``postfix`` user) and a world-traversable instance directory.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

POSTFIX = "/usr/sbin/postfix"
Mode = Literal["front", "outbound"]

_handed_out: set[int] = set()

# Per-recipient Maildir writer, run by pipe(8) as `nobody` (virtual(8) refuses $1
# substitutions from regexp tables, and pipe(8) refuses to run as root).
_DELIVER_SCRIPT = """#!/bin/sh
# maildir-deliver BASE RECIPIENT < message -> BASE/<domain>/<localpart>/new/<unique>
umask 022; base=$1; rcpt=$2
dom=${rcpt##*@}; lp=${rcpt%@*}
[ "$dom" = "$rcpt" ] && dom=no-domain
for part in "$dom" "$lp"; do
    case "$part" in ""|.*|*/*) echo "test sink: refusing odd address <$rcpt>"; exit 65;; esac
done
d=$base/$dom/$lp
mkdir -p "$d/tmp" "$d/new" "$d/cur" || exit 75
f=$(date +%s.%N).P$$.sink
cat > "$d/tmp/$f" || exit 75
mv "$d/tmp/$f" "$d/new/$f" || exit 75
exit 0
"""

_TRANSPORT = "/@bounce\\.example\\.test$/  error:5.1.1 Mailbox unavailable (test sink)\n"
_RECIPIENT_ACCESS = """\
/@reject\\.example\\.test$/  550 5.1.1 Recipient address rejected (test sink: reject.example.test)
/@defer\\.example\\.test$/   450 4.2.1 Mailbox busy, try again later (test sink: defer.example.test)
"""

# The chroot column (5th) is "n" everywhere: a chroot would need copies of /etc/hosts etc.
_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
proxywrite unix - - n -     1 proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def is_available() -> bool:
    """True when Postfix is installed and we are root (both needed to run an instance)."""
    return os.path.exists(POSTFIX) and os.geteuid() == 0


def free_port(low: int = 20000, high: int = 32000) -> int:
    """A port on 127.0.0.1 that nothing listens on now (below Linux's ephemeral range)."""
    for _ in range(200):
        port = random.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{high}")


def make_instance_dir(prefix: str = "listserv-postfix-") -> Path:
    """A fresh directory under /tmp that the postfix and nobody users can enter."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _greeting(port: int) -> bytes | None:
    """The first bytes a listener on 127.0.0.1:port sends, or None if nothing listens."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            try:
                greeting = sock.recv(512)
                sock.sendall(b"QUIT\r\n")
            except OSError:  # silent or rude listener: still a listener
                return b""
            return greeting
    except OSError:
        return None


class Postfix:
    """One throwaway instance in ``directory``; ``start()``, then ``stop()`` when done."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        mode: Mode,
        port: int,
        *,
        list_domains: tuple[str, ...] = ("lists.example.test",),
        lmtp: tuple[str, int] = ("127.0.0.1", 8024),
        relayhost: str = "",
        verify_recipients: bool = False,
        mail_user: str = "nobody",
        message_size_limit: int = 52_428_800,
    ) -> None:
        self.dir = Path(directory).resolve()
        self.mode, self.port = mode, port
        self.list_domains, self.lmtp = list_domains, lmtp
        self.relayhost = relayhost  # front only: where its own DSNs go, e.g. "[127.0.0.1]:2526"
        self.verify_recipients = verify_recipients  # front only: reject_unverified_recipient
        self.mail_user, self.message_size_limit = mail_user, message_size_limit
        self.etc, self.spool = self.dir / "etc", self.dir / "spool"
        self.maildirs = self.dir / "maildirs"
        self.log_file = self.dir / "log" / "postfix.log"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Write the config and start; returns once the port answers with a 220 banner."""
        if self.is_running():
            raise RuntimeError(f"postfix-{self.mode} already running in {self.dir}")
        if _greeting(self.port) is not None:
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use")
        self._write_config()
        result = _run(POSTFIX, "-c", str(self.etc), "start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed: {result.stderr}\n{self.log()[-3000:]}")
        deadline = time.monotonic() + timeout
        while not (_greeting(self.port) or b"").startswith(b"220"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no SMTP banner on :{self.port}\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the instance (no-op when stopped); waits until the port is released."""
        if not self.is_running():
            return
        _run(POSTFIX, "-c", str(self.etc), "stop")
        deadline = time.monotonic() + 10
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.is_running():
            _run(POSTFIX, "-c", str(self.etc), "abort")
        deadline = time.monotonic() + 5
        while _greeting(self.port) is not None and time.monotonic() < deadline:
            time.sleep(0.1)

    def is_running(self) -> bool:
        if not (self.etc / "main.cf").exists():
            return False
        return _run(POSTFIX, "-c", str(self.etc), "status").returncode == 0

    def __enter__(self) -> Postfix:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queue, log, mail --------------------------------------------------------------
    def purge(self) -> None:
        """Drop every queued message (and, for outbound, every delivered message)."""
        if (self.spool / "hold").is_dir():
            _run("/usr/sbin/postsuper", "-c", str(self.etc), "-d", "ALL")
        if self.maildirs.is_dir():
            for child in self.maildirs.iterdir():
                shutil.rmtree(child)

    def flush(self) -> None:
        """Retry deferred mail now (postqueue -f)."""
        _run("/usr/sbin/postqueue", "-c", str(self.etc), "-f")

    def queue(self) -> str:
        """The queue listing (postqueue -p): "Mail queue is empty" or entries with reasons."""
        return _run("/usr/sbin/postqueue", "-c", str(self.etc), "-p").stdout

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def maildir_messages(self) -> dict[str, list[bytes]]:
        """Outbound: {"localpart@domain": [message bytes, oldest first]} (lower-cased)."""
        found: dict[str, list[bytes]] = {}
        for new in sorted(self.maildirs.glob("*/*/new")):
            files = sorted(f for f in new.iterdir() if f.is_file())
            if files:
                found[f"{new.parent.name}@{new.parent.parent.name}"] = [f.read_bytes() for f in files]
        return found

    def wait_for(self, count: int, timeout: float = 10.0) -> dict[str, list[bytes]]:
        """Outbound: poll until at least ``count`` messages have landed; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.maildir_messages()
            if sum(map(len, messages.values())) >= count:
                return messages
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{count} messages expected, got {messages.keys()}\n"
                    f"queue: {self.queue()}\nlog:\n{self.log()[-3000:]}"
                )
            time.sleep(0.05)

    # -- configuration -----------------------------------------------------------------
    def _write_config(self) -> None:
        for parent in [self.dir, *self.dir.parents]:
            if parent.exists() and not parent.stat().st_mode & 0o001:
                raise RuntimeError(f"{parent} is not world-traversable (chmod o+x)")
        data = self.dir / "data"
        for path in (self.dir, self.etc, self.spool, data, self.log_file.parent):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        shutil.chown(data, "postfix")  # data_directory must belong to postfix
        files = {"main.cf": self._main_cf(), "master.cf": _MASTER_CF.format(port=self.port)}
        if self.mode == "outbound":
            self.maildirs.mkdir(exist_ok=True)
            self.maildirs.chmod(0o755)
            shutil.chown(self.maildirs, self.mail_user)
            files["recipient_access"] = _RECIPIENT_ACCESS
            files["transport"] = _TRANSPORT
            files["maildir-deliver"] = _DELIVER_SCRIPT
            files["master.cf"] += (
                "mlsink unix - n n - - pipe\n"
                f"  flags=DORXhu user={self.mail_user} "
                f"argv={self.etc}/maildir-deliver {self.maildirs} ${{recipient}}\n"
            )
        # Postfix re-reads main.cf until its mtime is ~2 s old: back-date what we write.
        past = time.time() - 10
        for name, text in files.items():
            path = self.etc / name
            path.write_text(text)
            path.chmod(0o755 if name == "maildir-deliver" else 0o644)
            os.utime(path, (past, past))

    def _main_cf(self) -> str:
        lines = [
            "compatibility_level = 3.6",
            f"queue_directory = {self.spool}",
            f"data_directory = {self.dir / 'data'}",
            f"maillog_file = {self.log_file}",
            f"maillog_file_prefixes = {self.dir}",
            f"myhostname = {self.mode}.example.test",
            "mydomain = example.test",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            f"smtpd_banner = $myhostname ESMTP test-{self.mode}",
            "biff = no",
            "append_dot_mydomain = no",
            "alias_maps =",
            "alias_database =",
            "local_recipient_maps =",
            "mydestination =",
            "recipient_delimiter =",
            # loopback clients would otherwise get missing Message-ID/Date/From added
            "local_header_rewrite_clients =",
            "smtp_host_lookup = native",
            "lmtp_host_lookup = native",
            "smtp_dns_support_level = disabled",
            "lmtp_dns_support_level = disabled",
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 5s",
            f"message_size_limit = {self.message_size_limit}",
        ]
        if self.mode == "front":
            host, port = self.lmtp
            lines += [
                f"relay_domains = {' '.join(self.list_domains)}",
                f"relay_transport = lmtp:inet:{host}:{port}",
                "relay_recipient_maps =",
                "smtpd_relay_restrictions = reject_unauth_destination",
                f"relayhost = {self.relayhost}"
                if self.relayhost
                else "default_transport = error:5.7.1 test front does not send mail out",
            ]
            if self.verify_recipients:
                lines += [
                    "smtpd_recipient_restrictions = reject_unverified_recipient",
                    "unverified_recipient_reject_code = 550",
                    "address_verify_map =",
                    # re-probe cached answers after 1 s (lists come and go between tests);
                    # negative_cache = no would leave unknown lists at 450 "in progress"
                    "address_verify_negative_refresh_time = 1s",
                    "address_verify_positive_refresh_time = 1s",
                    "address_verify_poll_delay = 1s",
                ]
        else:
            lines += [
                "virtual_mailbox_domains = static:all",
                "virtual_mailbox_maps = static:ok",
                "virtual_transport = mlsink",
                "mlsink_destination_recipient_limit = 1",
                "smtpd_relay_restrictions = permit_mynetworks, reject",
                f"smtpd_recipient_restrictions = check_recipient_access regexp:{self.etc}/recipient_access",
                f"transport_maps = regexp:{self.etc}/transport",
                # else smtpd refuses bounce.example.test (error transport) at RCPT already
                "smtpd_reject_unlisted_recipient = no",
                "default_transport = error:5.7.1 test sink does not send mail out",
            ]
        return "\n".join(lines) + "\n"
