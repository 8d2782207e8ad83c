"""Processing alone: the worker's cost per post, with nothing else running in the process.

    python3 -m bench.process                     # 1,000 posts to a list of 2, SQLite in a temp dir
    python3 -m bench.process --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python3 -m bench.process --profile out.prof  # cProfile of the processing (pstats file)

The posts are committed as intake commits them (one group commit), then the worker takes them
one by one as `listserv serve` does: parse, rules, thread, record, decorate, plan the fan-out.
Reported: wall time and this process's CPU per post (the database server's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import tempfile
import time
from pathlib import Path

from bench.run import INTAKE_LIST, POSTER, Engine, fresh_database, make_intake_list, make_post


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.process", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--database-url", default="")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the processing to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listserv-bench-") as tmp, \
            fresh_database(args.database_url, Path(tmp)) as url:  # fmt: skip
        engine = Engine(url)
        engine.cli("init")
        make_intake_list(engine, readers=args.members - 1)
        os.environ.update(engine.environ())
        from listserv.cli_context import CliContext
        from listserv.inbound.ingest import IntakeItem, commit_group
        from listserv.mail.addresses import parse_recipient
        from listserv.worker.process import Worker

        work = CliContext(None).work
        rcpt = parse_recipient(INTAKE_LIST, {INTAKE_LIST})
        assert rcpt is not None
        group = [IntakeItem(make_post(POSTER, INTAKE_LIST, f"post-{i}"), rcpt, POSTER, INTAKE_LIST)
                 for i in range(args.posts + 1)]  # fmt: skip
        for start in range(0, len(group), 64):
            commit_group(work.sessions, group[start : start + 64], work.settings.max_message_size, work.clock)
        worker = Worker(work)
        worker.process_next()  # the first post pays for imports and templates
        profile = cProfile.Profile() if args.profile else None
        cpu, started, done = time.process_time(), time.monotonic(), 0
        if profile is not None:
            profile.enable()
        while worker.process_next():
            done += 1
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    print(f"{done / elapsed:,.0f} posts/s processed ({done} posts, {args.members} members); "
          f"CPU {1000 * cpu / done:.2f} ms a post")  # fmt: skip


if __name__ == "__main__":
    main()
