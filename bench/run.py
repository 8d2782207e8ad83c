"""Measure the real engine end to end: import, intake, time to first delivery, fan-out rate, RSS.

    python3 -m bench.run                       # N = 100, 1000, 10000, 100000; SQLite in a temp dir
    python3 -m bench.run --members 10000 --repeat 3
    python3 -m bench.run --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For each N: a fresh database (`listserv init`), one list, N members imported with
`listserv member import` (timed), then `listserv serve` and bench/sink.py as separate
processes on loopback. One ~3.5 KB post goes in over LMTP from a member; we note when its
250 arrives and ask the sink when the first and the N-1th recipient were accepted. Shapes:
shared (personalize=no: up to batch_size recipients per transaction), personalised
(personalize=yes: one transaction per member, VERP envelope sender) and signed (a DKIM key
for the list domain and public_url set: one-click unsubscribe per member, each copy signed;
reported beside the machine's `openssl speed -multi CORES rsa2048` signing rate, measured in
the same run just before). Intake: M posts over
several LMTP connections to a list with one member, timed to the last 250.

Numbers are only reported when they check out: the sink saw exactly N-1 distinct recipients
and no duplicate, every personalised transaction carried its recipient's VERP address, and
the engine's own ledger (`listserv status`) shows every delivery sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

DOMAIN = "lists.bench.test"
MEMBER_DOMAIN = "members.bench.test"
LIST = f"bench@{DOMAIN}"
INTAKE_LIST = f"intake@{DOMAIN}"
POSTER = f"m0@{MEMBER_DOMAIN}"
TICKS = os.sysconf("SC_CLK_TCK")
SHAPES = ["shared", "personalised", "signed"]
ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A step failed or a count did not check out; the message says which."""


# -- processes and ports -------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port below the ephemeral range (32768+), so no client socket takes it."""
    for _ in range(200):
        port = random.randint(20000, 32767)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchError("no free port below 32768")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def cpu_seconds(pid: int) -> float:
    """The CPU time of a process and its children (`serve --workers`), utime + stime."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = " ".join(task.read_text() for task in Path(f"/proc/{pid}/task").glob("*/children")).split()
    except FileNotFoundError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS + sum(cpu_seconds(int(child)) for child in children)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class SinkClient:
    """The sink's status side channel (bench/sink.py)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.stream = self.sock.makefile("rwb")

    def ask(self, command: str) -> bytes:
        self.stream.write(command.encode() + b"\n")
        self.stream.flush()
        return self.stream.readline()

    def stats(self) -> dict[str, float]:
        return dict(json.loads(self.ask("stats")))

    def reset(self) -> None:
        if self.ask("reset").strip() != b"ok":
            raise BenchError("sink did not reset")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


# -- the database and the CLI --------------------------------------------------------------------


@contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A SQLite file in workdir, or a fresh schema in the given PostgreSQL (dropped afterwards)."""
    if not url:
        yield f"sqlite:///{workdir}/listserv.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass
class Engine:
    """Settings for one `listserv serve`, passed as LISTSERV_* variables."""

    database_url: str
    lmtp_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    sink_port: int = 0
    connections: int = 4
    batch_size: int = 100
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="listserv-bench-engine-"))

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERV_")}
        env.update(
            LISTSERV_DATABASE_URL=self.database_url,
            LISTSERV_LMTP_LISTEN=f"127.0.0.1:{self.lmtp_port}",
            LISTSERV_SMTP_LISTEN=f"127.0.0.1:{self.smtp_port}",
            LISTSERV_RELAY=f"smtp://127.0.0.1:{self.sink_port}",
            LISTSERV_DOMAIN=DOMAIN,
            LISTSERV_LOG_LEVEL="WARNING",
            LISTSERV_CONNECTIONS=str(self.connections),
            LISTSERV_BATCH_SIZE=str(self.batch_size),
            LISTSERV_HTTP_LISTEN="127.0.0.1:0",
            LISTSERV_SECRET_FILE=os.path.join(self.workdir, "listserv.secret"),
            LISTSERV_DKIM_KEY_DIR=os.path.join(self.workdir, "dkim"),  # a key only for the signed shape
            LISTSERV_PUBLIC_URL="https://lists.bench.test/",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        )
        return env

    def cli(self, *args: str, stdin: bytes | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "listserv", *args], env=self.environ(), input=stdin, capture_output=True, timeout=600
        )
        if result.returncode != 0:
            raise BenchError(f"listserv {' '.join(args)}: {result.stderr.decode(errors='replace')[-2000:]}")
        return result.stdout.decode()

    def ledger(self) -> dict[str, int]:
        return {row["queue"]: row["count"] for row in json.loads(self.cli("status", "--json")) if "queue" in row}


@contextmanager
def running(engine: Engine, workdir: Path, profile: Path | None = None,
            workers: int = 1) -> Iterator[tuple[subprocess.Popen[bytes], int, SinkClient]]:  # fmt: skip
    """The sink and `listserv serve` (with --workers when workers > 1) as separate processes; both
    stopped on the way out.

    With profile, py-spy samples the engine the whole time (only threads holding the GIL: where
    the engine's CPU goes) and writes collapsed stacks there.
    """
    status_port = free_port()
    engine.sink_port = free_port()
    sink = serve = client = spy = None
    with open(workdir / "sink.log", "wb") as sink_log, open(workdir / "serve.log", "wb") as serve_log:
        try:
            sink = subprocess.Popen([sys.executable, "-m", "bench.sink", "--port", str(engine.sink_port),
                                     "--status-port", str(status_port)], cwd=ROOT, stdout=sink_log,
                                    stderr=subprocess.STDOUT)  # fmt: skip
            wait_for_port(status_port, sink)
            client = SinkClient(status_port)
            several = ["--workers", str(workers)] if workers > 1 else []
            serve = subprocess.Popen([sys.executable, "-m", "listserv", "serve", *several], env=engine.environ(),
                                     stdout=serve_log, stderr=subprocess.STDOUT)  # fmt: skip
            wait_for_port(engine.lmtp_port, serve)
            if profile is not None:
                spy = subprocess.Popen(["py-spy", "record", "--pid", str(serve.pid), "--format", "raw", "--rate",
                                        "250", "--nonblocking", "--gil", "--output", str(profile)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                time.sleep(1)  # attached
            yield serve, sink.pid, client
        finally:
            if client is not None:
                client.close()
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            stop(serve, timeout=40 if workers > 1 else 15)
            stop(sink)
    errors = [line for line in (workdir / "serve.log").read_text(errors="replace").splitlines()
              if " ERROR " in line or "Traceback" in line]  # fmt: skip
    if errors:
        print(f"  engine logged {len(errors)} error line(s), first: {errors[0][:200]}", file=sys.stderr)


# -- one post ------------------------------------------------------------------------------------

PROSE = (
    "We tried the new retrospective format again this week, and I think it helped the quieter\n"
    "people speak up. Two things stood out: the timebox kept us honest, and writing first, then\n"
    "talking, meant fewer interruptions. What did not work: the board got crowded and we spent\n"
    "too long grouping sticky notes. Has anyone found a good way to keep that part short?\n"
)


def make_post(sender: str, to: str, tag: str, size: int = 3500) -> bytes:
    headers = (
        f"From: Member Zero <{sender}>\r\nTo: {to}\r\nSubject: Retrospectives, round {tag}\r\n"
        f"Message-ID: <{tag}.{uuid.uuid4().hex}@{MEMBER_DOMAIN}>\r\n"
        "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    body = "Hi all,\n\n" + PROSE * ((size - len(headers)) // len(PROSE) + 1)
    raw = (headers + body.replace("\n", "\r\n")).encode()
    return raw[: raw.rfind(b"\r\n", 0, size) + 2]


def post_once(port: int, to: str, raw: bytes) -> float:
    """Send over LMTP; the time.monotonic() at which the 250 arrived."""
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
        refused = lmtp.sendmail(POSTER, [to], raw)
        done = time.monotonic()
    if refused:
        raise BenchError(f"post refused: {refused}")
    return done


@dataclass
class Fanout:
    members: int
    shape: str
    first_ms: float  # 250 at the poster -> first message accepted by the sink
    total_s: float  # 250 -> last of N-1 recipients accepted
    rate: float  # (N-1) / total_s
    steady_rate: float  # (N-1) / (last - first)
    engine_cpu_s: float
    sink_cpu_s: float
    transactions: int
    load1: float = 0.0  # the machine's 1-minute load average before the run: others' work shows here


def wait_for_deliveries(sink: SinkClient, expected: int, stall: float = 60.0) -> dict[str, float]:
    progress, moved = -1, time.monotonic()
    while True:
        stats = sink.stats()
        if stats["rcpts"] >= expected:
            return stats
        if stats["rcpts"] != progress:
            progress, moved = int(stats["rcpts"]), time.monotonic()
        elif time.monotonic() - moved > stall:
            raise BenchError(f"stalled at {progress} of {expected} deliveries for {stall:.0f} s")
        time.sleep(0.005 if expected <= 1000 else 0.02)


def fanout_once(engine: Engine, serve: subprocess.Popen[bytes], sink: SinkClient, sink_pid: int,
                members: int, shape: str, tag: str) -> Fanout:  # fmt: skip
    expected = members - 1
    sink.reset()
    load1 = os.getloadavg()[0]
    raw = make_post(POSTER, LIST, tag)
    cpu = cpu_seconds(serve.pid), cpu_seconds(sink_pid)
    acked = post_once(engine.lmtp_port, LIST, raw)
    stats = wait_for_deliveries(sink, expected)
    cpu = cpu_seconds(serve.pid) - cpu[0], cpu_seconds(sink_pid) - cpu[1]
    check_sink(stats, expected, shape)
    total = stats["last"] - acked
    steady = stats["last"] - stats["first"]
    return Fanout(members, shape, (stats["first"] - acked) * 1000, total, expected / total,
                  expected / steady if steady > 0 else float("inf"), cpu[0], cpu[1],
                  int(stats["messages"]), load1)  # fmt: skip


def check_sink(stats: dict[str, float], expected: int, shape: str) -> None:
    problems = []
    if stats["rcpts"] != expected or stats["unique"] != expected:
        problems.append(f"{stats['rcpts']} deliveries to {stats['unique']} recipients, expected {expected}")
    if stats["duplicates"]:
        problems.append(f"{stats['duplicates']} duplicate deliveries")
    if shape != "shared" and stats["verp"] != expected:
        problems.append(f"only {stats['verp']} of {expected} transactions had the recipient's VERP sender")
    if shape != "shared" and stats["messages"] != expected:
        problems.append(f"{stats['messages']} transactions for {expected} recipients")
    if (shape == "signed") != bool(stats["signed"]) or (shape == "signed" and stats["signed"] != expected):
        problems.append(f"{stats['signed']} of {stats['messages']} messages signed in the {shape} shape")
    if problems:
        raise BenchError("sink counts do not check out: " + "; ".join(problems))


def check_ledger(engine: Engine, sent: int, timeout: float = 30.0) -> None:
    """The engine's own ledger agrees with the sink: every delivery sent, none pending."""
    deadline = time.monotonic() + timeout
    while True:
        ledger = engine.ledger()
        waiting = sum(
            v
            for k, v in ledger.items()
            if k in ("delivery-pending", "delivery-deferred", "batch-sending", "batch-pending", "inbound-received")
        )
        if ledger.get("delivery-sent", 0) == sent and not waiting and not ledger.get("delivery-failed"):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"ledger has {ledger}, expected delivery-sent={sent} and nothing waiting")
        time.sleep(0.5)


# -- the runs ------------------------------------------------------------------------------------


def write_members(path: Path, count: int) -> None:
    with open(path, "w") as handle:
        handle.write("email,name\n")
        handle.writelines(f"m{i}@{MEMBER_DOMAIN},Member {i}\n" for i in range(count))


def openssl_sign_rate(seconds: int = 3) -> float:
    """RSA-2048 signatures per second over all cores, as OpenSSL itself manages them."""
    done = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "-multi", str(os.cpu_count() or 1),
                           "rsa2048"], capture_output=True, text=True, timeout=120)  # fmt: skip
    line = next((line for line in done.stdout.splitlines() if line.startswith("rsa 2048 bits")), "")
    if not line:
        raise BenchError(f"openssl speed printed no rsa 2048 line: {done.stderr[-500:]}")
    return float(line.split()[5])


def raw_smtp_rate(sink: SinkClient, sink_port: int, recipients: int, per_transaction: int, connections: int,
                  workdir: Path) -> float:  # fmt: skip
    """Raw loopback SMTP at the shared shape, for scale: Postfix's smtp-source (no database, no
    Python) sends the same ~3.5 KB post into the same sink, `per_transaction` recipients a
    transaction over `connections` sessions kept open (-d). Recipients/s from start to the last."""
    post = workdir / "raw-post.eml"
    post.write_bytes(make_post(POSTER, LIST, "raw").replace(b"\r\n", b"\n"))  # -F appends the CRLFs
    messages = max(1, recipients // per_transaction)
    sink.reset()
    started = time.monotonic()
    done = subprocess.run(["smtp-source", "-d", "-N", "-s", str(connections), "-m", str(messages), "-r",
                           str(per_transaction), "-F", str(post), "-f", f"bench-bounces@{DOMAIN}", "-t",
                           f"member@{MEMBER_DOMAIN}", "-M", "bench.test", f"127.0.0.1:{sink_port}"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    stats = sink.stats()
    if done.returncode != 0 or stats["rcpts"] != messages * per_transaction:
        raise BenchError(f"smtp-source: exit {done.returncode}, {stats['rcpts']} of {messages * per_transaction} "
                         f"recipients at the sink: {done.stderr[-500:]}")  # fmt: skip
    return stats["rcpts"] / (stats["last"] - started)


@dataclass
class SizeResult:
    members: int
    import_s: float
    openssl_sign_per_s: float = 0.0
    peak_rss_mib: float = 0.0
    runs: list[Fanout] = field(default_factory=list)
    raw_rates: list[float] = field(default_factory=list)  # smtp-source, shared shape, same sink and run


def bench_size(args: argparse.Namespace, members: int, shapes: list[str]) -> SizeResult:
    with tempfile.TemporaryDirectory(prefix="listserv-bench-") as tmp, \
            fresh_database(args.database_url, Path(tmp)) as url:  # fmt: skip
        workdir = Path(tmp)
        engine = Engine(url, connections=args.connections, batch_size=args.batch_size)
        engine.cli("init")
        engine.cli("list", "create", LIST, "--name", "Bench")
        write_members(workdir / "members.csv", members)
        started = time.monotonic()
        engine.cli("member", "import", LIST, str(workdir / "members.csv"))
        result = SizeResult(members, time.monotonic() - started)
        print(f"N={members}: {members} members imported in {result.import_s:.2f} s", flush=True)
        sent = 0
        profile = args.profile / f"serve-{members}.txt" if args.profile else None
        with running(engine, workdir, profile) as (serve, sink_pid, sink):
            engine.cli("list", "set", LIST, "one_click_unsubscribe", "no")
            for shape in shapes:
                engine.cli("list", "set", LIST, "personalize", "yes" if shape == "personalised" else "no")
                if shape == "signed":
                    result.openssl_sign_per_s = openssl_sign_rate()
                    print(f"  openssl speed -multi {os.cpu_count()} rsa2048: {result.openssl_sign_per_s:,.0f} signs/s",
                          flush=True)  # fmt: skip
                    engine.cli("dkim", "keygen", DOMAIN)
                    engine.cli("list", "set", LIST, "one_click_unsubscribe", "yes")
                for attempt in range(args.repeat):
                    run = fanout_once(engine, serve, sink, sink_pid, members, shape, f"{shape}-{attempt}")
                    sent += members - 1
                    result.runs.append(run)
                    print(f"  {shape:12} first {run.first_ms:7.1f} ms  {run.rate:9,.0f} deliveries/s  "
                          f"total {run.total_s:6.2f} s  engine cpu {run.engine_cpu_s:5.2f} s  "
                          f"sink cpu {run.sink_cpu_s:5.2f} s  load {run.load1:.2f}", flush=True)  # fmt: skip
                    check_ledger(engine, sent)
                    if args.raw and shape == "shared":
                        result.raw_rates.append(raw_smtp_rate(sink, engine.sink_port, members - 1, args.batch_size,
                                                              args.connections, workdir))  # fmt: skip
                        print(f"  raw SMTP     smtp-source {result.raw_rates[-1]:9,.0f} recipients/s "
                              f"({100 * run.rate / result.raw_rates[-1]:.0f} % of it)", flush=True)  # fmt: skip
            result.peak_rss_mib = peak_rss_mib(serve.pid)
        print(f"  engine peak RSS {result.peak_rss_mib:.1f} MiB; ledger checked: {sent} sent", flush=True)
        return result


@dataclass
class Intake:
    posts: int
    connections: int
    posts_per_s: float  # durable: the last 250 / elapsed
    distributed_s: float  # until the sink had every post


def make_intake_list(engine: Engine, readers: int = 1) -> None:
    """The intake list: the poster and `readers` other members."""
    engine.cli("list", "create", INTAKE_LIST, "--name", "Intake")
    others = "".join(f"reader{index or ''}@{MEMBER_DOMAIN}\n" for index in range(readers))
    engine.cli("member", "import", INTAKE_LIST, "-", stdin=f"{POSTER}\n{others}".encode())


def bench_intake(args: argparse.Namespace) -> Intake:
    with tempfile.TemporaryDirectory(prefix="listserv-bench-") as tmp, \
            fresh_database(args.database_url, Path(tmp)) as url:  # fmt: skip
        engine = Engine(url, connections=args.connections, batch_size=args.batch_size)
        engine.cli("init")
        make_intake_list(engine)
        posts = [make_post(POSTER, INTAKE_LIST, f"intake-{i}") for i in range(args.posts)]
        profile = args.profile / "serve-intake.txt" if args.profile else None
        with running(engine, Path(tmp), profile) as (_, _, sink):
            started = time.monotonic()
            send_concurrently(engine.lmtp_port, posts, args.intake_connections)
            durable = time.monotonic() - started
            stats = wait_for_deliveries(sink, args.posts)
            if stats["messages"] != args.posts:
                raise BenchError(f"sink got {stats['messages']} messages for {args.posts} posts")
            check_ledger(engine, args.posts)
        return Intake(args.posts, args.intake_connections, args.posts / durable, stats["last"] - started)


def send_concurrently(port: int, posts: list[bytes], connections: int) -> None:
    errors: list[BaseException] = []

    def worker(mine: list[bytes]) -> None:
        try:
            with smtplib.LMTP("127.0.0.1", port, timeout=60) as lmtp:
                for raw in mine:
                    if lmtp.sendmail(POSTER, [INTAKE_LIST], raw):
                        raise BenchError("post refused")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(posts[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    if errors:
        raise BenchError(f"intake failed: {errors[0]!r}")


# -- output --------------------------------------------------------------------------------------


def median_runs(runs: list[Fanout]) -> Fanout:
    """The run with the median rate (a real run, not a mix of several)."""
    ordered = sorted(runs, key=lambda r: r.rate)
    return ordered[(len(ordered) - 1) // 2]


def table(results: list[SizeResult], intakes: list[Intake]) -> str:
    lines = [
        "| members | shape | import | first delivery | deliveries/s (250 -> last) | steady/s | total | "
        "engine CPU | sink CPU | peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for shape in dict.fromkeys(r.shape for r in result.runs):
            runs = [r for r in result.runs if r.shape == shape]
            run = median_runs(runs)
            spread = f" ({min(r.rate for r in runs):,.0f}-{max(r.rate for r in runs):,.0f})" if len(runs) > 1 else ""
            lines.append(
                f"| {result.members:,} | {shape} | {result.import_s:.2f} s | "
                f"{statistics.median(r.first_ms for r in runs):.0f} ms | {run.rate:,.0f}{spread} | "
                f"{_rate(run.steady_rate)} | {run.total_s:.2f} s | {run.engine_cpu_s:.2f} s | "
                f"{run.sink_cpu_s:.2f} s | {result.peak_rss_mib:.0f} MiB |"
            )
    for result in results:
        shared = [r.rate for r in result.runs if r.shape == "shared"]
        if result.raw_rates and shared:
            raw, rate = statistics.median(result.raw_rates), statistics.median(shared)
            lines.append(f"\nshared at {result.members:,}: {rate:,.0f} deliveries/s = {100 * rate / raw:.0f} % of raw "
                         f"loopback SMTP ({raw:,.0f} recipients/s, smtp-source into the same sink, same run; runs: "
                         f"{', '.join(f'{r:,.0f}' for r in result.raw_rates)})")  # fmt: skip
        signed = [r for r in result.runs if r.shape == "signed"]
        if signed and result.openssl_sign_per_s:
            rate = median_runs(signed).rate
            lines.append(f"\nsigned at {result.members:,}: {rate:,.0f} copies/s = "
                         f"{100 * rate / result.openssl_sign_per_s:.0f} % of OpenSSL's {result.openssl_sign_per_s:,.0f} "
                         f"RSA-2048 signs/s over {os.cpu_count()} cores (same run)")  # fmt: skip
    if intakes:
        rates = [i.posts_per_s for i in intakes]
        lines.append("")
        lines.append(f"intake: {intakes[0].posts} posts over {intakes[0].connections} LMTP connections: "
                     f"{statistics.median(rates):,.0f} durable posts/s (runs: "
                     f"{', '.join(f'{r:,.0f}' for r in rates)}); all distributed after "
                     f"{statistics.median(i.distributed_s for i in intakes):.2f} s")  # fmt: skip
    return "\n".join(lines)


def _rate(value: float) -> str:
    return "-" if value == float("inf") else f"{value:,.0f}"  # one batch: first == last


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--members", type=int, action="append", help="N (repeatable); default 100 1000 10000 100000")
    parser.add_argument("--shape", choices=SHAPES, action="append", help="default: all three")
    parser.add_argument("--repeat", type=int, default=3, help="runs per N and shape; the median is reported")
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL (a fresh schema is used and dropped)")
    parser.add_argument("--connections", type=int, default=4, help="LISTSERV_CONNECTIONS (sender tasks)")
    parser.add_argument("--batch-size", type=int, default=100, help="LISTSERV_BATCH_SIZE")
    parser.add_argument("--posts", type=int, default=500, help="intake: posts to send (0: skip intake)")
    parser.add_argument("--intake-connections", type=int, default=8)
    parser.add_argument("--intake-repeat", type=int, default=0, help="intake runs (default: --repeat)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--raw", action="store_true", help="after each shared run, Postfix's smtp-source into "
                        "the same sink at the same shape (recipients per transaction, connections)")  # fmt: skip
    parser.add_argument("--profile", type=Path, help="a folder: py-spy samples the engine (collapsed stacks)")
    args = parser.parse_args(argv)
    args.members = args.members or [100, 1000, 10000, 100000]
    args.shape = sorted(args.shape or SHAPES, key=SHAPES.index)  # signed last: its key signs what follows
    if any(n < 2 for n in args.members):
        parser.error("--members must be at least 2 (the poster does not get their own post)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"listserv bench: {os.cpu_count()} CPUs, database {args.database_url or 'SQLite (temp file)'}, "
          f"connections={args.connections} batch_size={args.batch_size}", flush=True)  # fmt: skip
    try:
        results = [bench_size(args, n, args.shape) for n in args.members]
        intakes = []
        for attempt in range(args.intake_repeat or args.repeat if args.posts else 0):
            intakes.append(bench_intake(args))
            print(f"intake run {attempt + 1}: {intakes[-1].posts_per_s:,.0f} durable posts/s", flush=True)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print()
    print(table(results, intakes))
    if args.json:
        args.json.write_text(json.dumps({"sizes": [asdict(r) for r in results],
                                         "intake": [asdict(i) for i in intakes]}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
