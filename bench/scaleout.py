"""Scale-out on one PostgreSQL: fan-out and intake with 1, 2 and 4 serving processes.

    python3 -m bench.scaleout --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python3 -m bench.scaleout --database-url ... --nodes 1 --nodes 2 --members 10000 --posts 500

For each node count, on a fresh schema: N members imported, then bench/sink.py and
`listserv serve --workers N` (N nodes sharing the listeners and the database: docs/scaling.md;
one plain `listserv serve` for N=1). We wait until `listserv status` shows N live nodes, then:

- fan-out: one ~3.5 KB post from member 0 over LMTP; deliveries/s from its 250 to the last of
  the N-1 recipients, which the sink must count exactly once each (no duplicate);
- intake: --posts posts over --intake-connections LMTP connections (the kernel hands each to
  one node) to a list with one reader; durable posts/s to the last 250, then every post must
  reach the sink exactly once.

The ledger (`listserv status --json`) must then show every delivery sent and nothing waiting.
Meanwhile a thread samples pg_stat_activity every 50 ms for our connections only (they carry
an application_name of their own): where the nodes' backends spend their time, per phase:
running, waiting on a lock (Lock:*), on PostgreSQL internals (LWLock:*), on the disk (IO:*,
e.g. WALSync: commit latency) or idle in a transaction while the node works (Client:ClientRead).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bench.run import (
    INTAKE_LIST,
    LIST,
    POSTER,
    ROOT,
    BenchError,
    Engine,
    SinkClient,
    check_ledger,
    check_sink,
    fresh_database,
    make_intake_list,
    make_post,
    post_once,
    running,
    send_concurrently,
    wait_for_deliveries,
    write_members,
)

SAMPLE_SECONDS = 0.05


class WaitSampler:
    """pg_stat_activity, sampled in a thread, for the backends of one application_name."""

    def __init__(self, base_url: str, application: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.sql = create_engine(base_url, poolclass=NullPool)
        self.application = application
        self.phase = ""
        self.counts: dict[str, Counter[str]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from sqlalchemy import text

        query = text("SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE application_name = :app")
        with self.sql.connect() as connection:
            while not self.stopping.wait(SAMPLE_SECONDS):
                if not self.phase:
                    continue
                rows = connection.execute(query, {"app": self.application}).all()
                connection.rollback()
                tally = self.counts.setdefault(self.phase, Counter())
                tally.update(what(state, kind, event) for state, kind, event in rows if state != "idle")
                tally["(samples)"] += 1

    def __enter__(self) -> "WaitSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.sql.dispose()

    def summary(self, phase: str, top: int = 5) -> str:
        tally = Counter(self.counts.get(phase, Counter()))
        samples = tally.pop("(samples)", 0)
        if not samples:
            return "no samples"
        busy = sum(tally.values()) / samples
        shown = ", ".join(f"{name} {count / samples:.1f}" for name, count in tally.most_common(top))
        return f"{busy:.1f} busy backends on average: {shown}"


def what(state: str | None, kind: str | None, event: str | None) -> str:
    if state == "idle in transaction":
        return "in-transaction (node working)"
    if kind is None:
        return "running"
    return f"{kind}:{event}"


@dataclass
class NodesResult:
    nodes: int
    fanout_rate: float
    fanout_first_ms: float
    intake_rate: float
    fanout_waits: str = ""
    intake_waits: str = ""
    notes: list[str] = field(default_factory=list)


@contextmanager
def serving(engine: Engine, workdir: Path, nodes: int) -> Iterator[SinkClient]:
    """The sink, and `listserv serve` (with --workers when nodes > 1); both stopped on the way out."""
    with running(engine, workdir, workers=nodes) as (_, _, client):
        wait_for_live_nodes(engine, nodes)
        yield client


def wait_for_live_nodes(engine: Engine, count: int, timeout: float = 120.0) -> None:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = json.loads(engine.cli("status", "--json"))
        if sum(1 for row in rows if row.get("state") == "live") >= count:
            return
        time.sleep(0.5)
    raise BenchError(f"fewer than {count} live nodes after {timeout:.0f} s")


def bench_nodes(args: argparse.Namespace, nodes: int) -> NodesResult:
    application = f"listserv-scaleout-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="listserv-scaleout-") as tmp, \
            fresh_database(args.database_url, Path(tmp)) as url:  # fmt: skip
        workdir = Path(tmp)
        engine = Engine(f"{url}&application_name={application}", connections=args.connections,
                        batch_size=args.batch_size)  # fmt: skip
        engine.cli("init")
        engine.cli("list", "create", LIST, "--name", "Bench")
        engine.cli("list", "set", LIST, "one_click_unsubscribe", "no")
        write_members(workdir / "members.csv", args.members)
        engine.cli("member", "import", LIST, str(workdir / "members.csv"))
        make_intake_list(engine)
        with serving(engine, workdir, nodes) as sink, WaitSampler(args.database_url, application) as waits:
            expected = args.members - 1
            sink.reset()
            waits.phase = "fanout"
            acked = post_once(engine.lmtp_port, LIST, make_post(POSTER, LIST, f"scale-{nodes}"))
            stats = wait_for_deliveries(sink, expected)
            check_sink(stats, expected, "shared")
            fanout = (expected / (stats["last"] - acked), (stats["first"] - acked) * 1000)
            check_ledger(engine, expected)
            sink.reset()
            waits.phase = "intake"
            posts = [make_post(POSTER, INTAKE_LIST, f"intake-{nodes}-{i}") for i in range(args.posts)]
            started = time.monotonic()
            send_concurrently(engine.lmtp_port, posts, args.intake_connections)
            intake = args.posts / (time.monotonic() - started)
            waits.phase = "intake-delivery"
            stats = wait_for_deliveries(sink, args.posts)
            if stats["messages"] != args.posts or stats["rcpts"] != args.posts:
                raise BenchError(f"sink got {stats['messages']} messages for {args.posts} posts")
            check_ledger(engine, expected + args.posts)
            waits.phase = ""
        return NodesResult(nodes, fanout[0], fanout[1], intake, waits.summary("fanout"), waits.summary("intake"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.scaleout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--database-url", required=True, help="a PostgreSQL URL (fresh schemas, dropped after)")
    parser.add_argument("--nodes", type=int, action="append", help="node counts (repeatable); default 1 2 4")
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--intake-connections", type=int, default=8)
    parser.add_argument("--connections", type=int, default=4, help="LISTSERV_CONNECTIONS per node")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    args.nodes = args.nodes or [1, 2, 4]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    print(f"listserv scale-out: {os.cpu_count()} CPUs, {args.members} members, {args.posts} posts over "
          f"{args.intake_connections} connections, connections={args.connections} per node", flush=True)  # fmt: skip
    results = []
    try:
        for nodes in args.nodes:
            print(f"nodes={nodes}: load average {os.getloadavg()[0]:.2f} before the run", flush=True)
            result = bench_nodes(args, nodes)
            results.append(result)
            print(f"nodes={nodes}: fan-out {result.fanout_rate:,.0f} deliveries/s (first {result.fanout_first_ms:.0f}"
                  f" ms), intake {result.intake_rate:,.0f} posts/s; exactly once: checked", flush=True)  # fmt: skip
            print(f"  fan-out waits: {result.fanout_waits}\n  intake waits:  {result.intake_waits}", flush=True)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print("\n| nodes | fan-out deliveries/s | intake posts/s |\n|---:|---:|---:|")
    for result in results:
        print(f"| {result.nodes} | {result.fanout_rate:,.0f} | {result.intake_rate:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
