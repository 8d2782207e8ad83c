"""Intake alone: M posts over C LMTP connections into a running `listserv serve`, timed to the
last 250, with the engine's CPU time over that window (steadier than the rate on a shared machine).

    python3 -m bench.intake                     # 1,000 posts, 8 connections, SQLite in a temp dir
    python3 -m bench.intake --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python3 -m bench.intake --workers 2         # `listserv serve --workers 2`: one process a core

The worker and the senders run as usual (a list with one reader); unlike `bench.run`'s intake step
this does not wait for the posts to be distributed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.run import (
    INTAKE_LIST,
    POSTER,
    Engine,
    cpu_seconds,
    fresh_database,
    make_intake_list,
    make_post,
    running,
    send_concurrently,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.intake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--database-url", default="")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="serving processes (serve --workers)")
    parser.add_argument("--profile", type=Path, help="py-spy --gil samples of the engine go to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listserv-bench-") as tmp, \
            fresh_database(args.database_url, Path(tmp)) as url:  # fmt: skip
        engine = Engine(url)
        engine.cli("init")
        make_intake_list(engine)
        posts = [make_post(POSTER, INTAKE_LIST, f"intake-{i}") for i in range(args.posts)]
        with running(engine, Path(tmp), args.profile, args.workers) as (serve, _, _):
            cpu, started = cpu_seconds(serve.pid), time.monotonic()
            send_concurrently(engine.lmtp_port, posts, args.connections)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(serve.pid) - cpu
    print(f"{args.posts / elapsed:,.0f} durable posts/s ({args.posts} posts over {args.connections} LMTP "
          f"connections, {args.workers} serving process{'es' if args.workers > 1 else ''} "
          f"in {elapsed:.2f} s); engine CPU {cpu:.2f} s, {1000 * cpu / args.posts:.2f} ms a post")  # fmt: skip


if __name__ == "__main__":
    main()
