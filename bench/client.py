"""The SMTP client alone, without the database: how fast can listserv's SMTPConnection feed a sink?

    python3 -m bench.client                            # both shapes, bench.sink
    python3 -m bench.client --sink postfix             # Postfix's smtp-sink (run as root: -u nobody)

Shared: 100 recipients per transaction. Personalised: one recipient per transaction with a
VERP sender, pipelined with send_many(). Each of --connections tasks takes 100-recipient
chunks from a common queue, as the engine's senders take batches.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time

from bench.run import (
    ROOT,
    SinkClient,
    cpu_seconds,
    free_port,
    make_post,
    stop,
    wait_for_port,
)
from listserv.outbound.smtp_client import SMTPConnection, Transaction

CHUNK = 100


async def feed(port: int, rcpts: list[str], connections: int, personalised: bool) -> None:
    raw = make_post("poster@members.bench.test", "bench@lists.bench.test", "client")
    chunks: asyncio.Queue[list[str]] = asyncio.Queue()
    for start in range(0, len(rcpts), CHUNK):
        chunks.put_nowait(rcpts[start : start + CHUNK])

    async def sender() -> None:
        connection = SMTPConnection("127.0.0.1", port, helo="bench.test")
        try:
            while not chunks.empty():
                chunk = chunks.get_nowait()
                if personalised:
                    batch = [Transaction(f"bench-bounces+{r.replace('@', '=')}@lists.bench.test", (r,), raw)
                             for r in chunk]  # fmt: skip
                else:
                    batch = [Transaction("bench-bounces@lists.bench.test", tuple(chunk), raw)]
                results = await connection.send_many(batch)
                if any(reply.code != 250 for result in results for reply in result.values()):
                    raise RuntimeError("a recipient was not accepted")
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(connections)))


def measure(sink_kind: str, count: int, connections: int, personalised: bool) -> str:
    port, status_port = free_port(), free_port()
    if sink_kind == "postfix":
        sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "256"],
                                stdout=subprocess.DEVNULL)  # fmt: skip
        wait_for_port(port, sink)
        status = None
    else:
        sink = subprocess.Popen([sys.executable, "-m", "bench.sink", "--port", str(port), "--status-port",
                                 str(status_port)], cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        wait_for_port(status_port, sink)
        status = SinkClient(status_port)
    try:
        rcpts = [f"m{i}@members.bench.test" for i in range(count)]
        before, sink_cpu = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(sink.pid)
        started = time.monotonic()
        asyncio.run(feed(port, rcpts, connections, personalised))
        elapsed = time.monotonic() - started
        after, sink_cpu = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(sink.pid) - sink_cpu
        checked = ""
        if status is not None:
            stats = status.stats()
            ok = stats["rcpts"] == stats["unique"] == count and (not personalised or stats["verp"] == count)
            checked = "  sink counts check out" if ok else f"  SINK COUNTS WRONG: {stats}"
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        return (f"{sink_kind:8} {'personalised' if personalised else 'shared':12} {connections} connections: "
                f"{count / elapsed:9,.0f} recipients/s  client CPU {user:.2f} s user + {system:.2f} s sys, "
                f"sink CPU {sink_cpu:.2f} s{checked}")  # fmt: skip
    finally:
        if status is not None:
            status.close()
        stop(sink)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--sink", choices=["bench", "postfix"], default="bench")
    parser.add_argument("--connections", type=int, action="append", help="default: 1 and 4")
    parser.add_argument("--shared", type=int, default=200_000, help="recipients, 100 per transaction")
    parser.add_argument("--personalised", type=int, default=40_000, help="transactions, 1 recipient each")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    for connections in args.connections or [1, 4]:
        for personalised, count in ((False, args.shared), (True, args.personalised)):
            for _ in range(args.repeat):
                print(measure(args.sink, count, connections, personalised), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
