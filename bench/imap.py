"""bench: IMAP intake from a real Dovecot on loopback.

    python3 -m bench.imap                                   # 10,000 messages, 20 IDLE arrivals, SQLite
    python3 -m bench.imap --messages 2000 --arrivals 10
    python3 -m bench.imap --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

1. A throwaway Dovecot (tests/support/dovecot.py: its own config, ports below 32768) and a fresh
   database (a SQLite file, or a new PostgreSQL schema dropped at the end) with one list.
2. `--messages` posts of ~3.5 KB written into the mailbox's Maildir, then indexed by Dovecot
   (`doveadm mailbox status`), so the timing starts from a mailbox as a server holds it.
3. Baseline, same run: imapclient alone fetches every message (UID SEARCH, batched
   BODY.PEEK[]) and keeps nothing: the ceiling of the server, the TLS and the client library.
4. Drain: what `listserv imap poll` does (MailboxIntake: connect, drain, log out), timed from
   connect to the last \\Seen, with this process's CPU time per message. Counted only if the
   database then holds exactly `--messages` inbound rows and Dovecot reports no unseen message.
   Peak RSS of this process is reported.
5. IDLE latency: a MailboxRunner (as in `listserv serve`) waits in IDLE; `--arrivals` times a
   message is APPENDed from a second connection, and we measure from the APPEND's OK to the
   end of the commit that stored it (the runner's on_stored callback).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from imapclient import IMAPClient  # type: ignore[import-untyped]
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from listserv.clock import system_clock
from listserv.features import LIST_SETTINGS
from listserv.inbound.imap.intake import MailboxIntake
from listserv.inbound.imap.rules import Mailbox
from listserv.inbound.imap.runner import MailboxRunner
from listserv.inbound.imap.state import load_mailboxes
from listserv.settings import RelaySetting, Settings
from listserv.store import admin, db
from listserv.store.schema import Inbound

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test Dovecot, shared
from support.dovecot import Dovecot  # noqa: E402

LIST = "bench@lists.bench.test"
BODY = ("Hello all, here is how we run our retrospectives these days.\n" * 55)[:3300]


def post(n: int) -> bytes:
    return (f"From: m{n % 50}@members.bench.test\r\nTo: {LIST}\r\nSubject: post {n}\r\n"
            f"Message-ID: <bench-{n}-{uuid.uuid4().hex[:8]}@members.bench.test>\r\n"
            f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n{BODY}").replace("\n", "\r\n").replace("\r\r", "\r").encode()  # fmt: skip


def database(url: str | None, folder: Path) -> tuple[str, Callable[[], None]]:
    if not url:
        return f"sqlite:///{folder}/bench.db", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(db.normalize_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin_engine.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return f"{db.normalize_url(url)}?options=-csearch_path%3D{schema}", drop


def client_of(dovecot: Dovecot) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.starttls(ssl.create_default_context(cafile=dovecot.ca_file))
    client.login("list", "secret")
    return client


def baseline(dovecot: Dovecot) -> tuple[float, int]:
    client = client_of(dovecot)
    started = time.monotonic()
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    assert len(uids) >= 1, "the mailbox is empty"
    for i in range(0, len(uids), 200):
        fetched = client.fetch(uids[i : i + 200], ["BODY.PEEK[]"])
        assert len(fetched) == len(uids[i : i + 200])
    elapsed = time.monotonic() - started
    client.logout()
    return elapsed, len(uids)


def count_inbound(sessions: Callable[[], Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Inbound)) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--arrivals", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    url, drop = database(args.database_url, folder)
    dovecot = Dovecot().start()
    engine = db.open_engine(url)
    try:
        db.upgrade(engine)
        sessions = db.sessions(engine)
        password = folder / "password"
        password.write_text("secret\n")
        password.chmod(0o600)
        settings = Settings(database_url=url, domain="lists.bench.test", relay=RelaySetting("maildir", path=str(folder)),
                            secret_file=str(folder / "secret"))  # fmt: skip
        with sessions() as session, session.begin():
            admin.create_list(session, LIST, "Bench", "", system_clock())
            for key, value in {"imap_host": "127.0.0.1", "imap_port": str(dovecot.port), "imap_tls": "starttls",
                               "imap_ca_file": dovecot.ca_file, "imap_user": "list",
                               "imap_password_file": str(password)}.items():  # fmt: skip
                admin.set_list(session, LIST, key, value, LIST_SETTINGS)
        started = time.monotonic()
        for n in range(args.messages):
            dovecot.drop(post(n))
        dovecot.doveadm("mailbox", "status", "-u", "list", "messages", "INBOX")
        print(f"mailbox filled: {args.messages} messages in {time.monotonic() - started:.1f} s")
        base, found = baseline(dovecot)
        if found != args.messages:
            raise SystemExit(f"the mailbox holds {found} messages, not {args.messages}")
        print(f"baseline (imapclient fetch only): {base:.2f} s, {found / base:,.0f} msg/s")
        with sessions() as session:
            (mailbox,) = load_mailboxes(session, LIST)
        intake = MailboxIntake(mailbox, sessions, settings, system_clock, os.environ)
        load = os.getloadavg()[0]
        started, cpu = time.monotonic(), time.process_time()
        intake.connect()
        summary = intake.drain()
        intake.close()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        stored, unseen = count_inbound(sessions), dovecot.count(query="unseen")
        if stored != args.messages or unseen or summary.taken != args.messages:
            raise SystemExit(f"drain did not check out: stored {stored}, unseen {unseen}, {summary}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"drain: {args.messages} messages in {elapsed:.2f} s, {args.messages / elapsed:,.0f} msg/s "
              f"(load {load:.1f}); CPU {cpu * 1000 / args.messages:.2f} ms/msg; peak RSS {rss:.0f} MiB")  # fmt: skip
        idle_latency(dovecot, mailbox, sessions, settings, args.arrivals)
    finally:
        engine.dispose()
        dovecot.close()
        drop()
        shutil.rmtree(folder, ignore_errors=True)


def idle_latency(dovecot: Dovecot, mailbox: Mailbox, sessions: Callable[[], Session], settings: Settings,
                 arrivals: int) -> None:  # fmt: skip
    stored = threading.Event()
    stored_at: list[float] = []

    def on_stored() -> None:
        stored_at.append(time.monotonic())
        stored.set()

    runner = MailboxRunner(MailboxIntake(mailbox, sessions, settings, system_clock, os.environ, on_stored)).start()
    sender = client_of(dovecot)
    latencies = []
    try:
        time.sleep(1.0)  # connected, drained (nothing waits), in IDLE
        for n in range(arrivals):
            stored.clear()
            sender.append("INBOX", post(10_000_000 + n))
            sent = time.monotonic()
            if not stored.wait(10):
                raise SystemExit(f"arrival {n} not taken within 10 s")
            latencies.append(stored_at[-1] - sent)
            time.sleep(0.2)
    finally:
        sender.logout()
        runner.stop()
        runner.join()
    print(f"IDLE latency over {arrivals} arrivals: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
