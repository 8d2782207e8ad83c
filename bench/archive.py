"""The web archive at scale: page times over HTTP against `listserv serve`, and a full static build.

    python3 -m bench.archive                        # 100,000 posts, SQLite in a temp dir
    python3 -m bench.archive --messages 10000       # a smaller archive
    python3 -m bench.archive --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The synthetic archive of bench/threads.py (20% of the messages start a discussion, the rest
reply; ~1.3 KB each) is imported with `listserv archive import` into a list whose
archive_access is public. Then `listserv serve` runs as its own process and each page is
fetched over loopback HTTP (http.client, a new connection each time, as the server closes
it): the first index page, a deep one (page 200: OFFSET), the largest discussion, 50 random
discussions and 200 random posts by permalink. Reported: median, p95 and max per kind, each
checked for 200 and its content. Then `listserv archive build` writes the whole archive;
its wall time and peak RSS (the largest of the command's process and its --jobs workers,
from getrusage, printed at exit) are reported,
and the numbers count only if it wrote a page for every post.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.run import BenchError, Engine, free_port, fresh_database, running, wait_for_port
from bench.threads import LIST, write_mbox
from listserv.mail.permalinks import post_token

RSS_PRINTER = ("import atexit, resource, sys; atexit.register(lambda: print('peak-rss-kib', max("
               "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),"
               " file=sys.stderr)); "
               "from listserv.cli.main import run; sys.argv[0] = 'listserv'; run()")  # fmt: skip


@dataclass
class ArchiveEngine(Engine):
    http_port: int = field(default_factory=free_port)

    def environ(self) -> dict[str, str]:
        return super().environ() | {"LISTSERV_HTTP_LISTEN": f"127.0.0.1:{self.http_port}"}


def fetch(port: int, path: str, expect: str = "") -> float:
    """Milliseconds from connect to the last byte of a 200 carrying `expect`."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "lists.bench.test"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    took = (time.perf_counter() - started) * 1000
    if response.status != 200 or expect not in body:
        raise BenchError(f"GET {path}: {response.status}, {expect!r} not in the page")
    return took


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))], "max": ordered[-1],
            "n": len(ordered)}  # fmt: skip


def page_times(engine: ArchiveEngine, listed: list[dict[str, object]], seed: int = 7) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    port = engine.http_port
    largest = max(listed, key=lambda d: len(d["message_ids"]))  # type: ignore[arg-type]
    fetch(port, "/bench/")  # warm: templates compiled, connections pooled
    deep = min(200, -(-len(listed) // 50))
    results = {
        "index (page 1)": [fetch(port, "/bench/", "discussions") for _ in range(20)],
        f"index (page {deep})": [fetch(port, f"/bench/page/{deep}", f"Page {deep}") for _ in range(20)],
        f"largest discussion ({len(largest['message_ids'])} posts)": [  # type: ignore[arg-type]
            fetch(port, f"/bench/d/{largest['id']}", "<article") for _ in range(10)],
        "discussion (random)": [fetch(port, f"/bench/d/{d['id']}", "<article") for d in rng.sample(listed, 50)],
        "post (random permalink)": [
            fetch(port, f"/bench/m/{post_token(str(rng.choice(d['message_ids'])))}", "Permalink")  # type: ignore[arg-type]
            for d in rng.sample(listed, 200)],
    }  # fmt: skip
    return {kind: summary(times) for kind, times in results.items()}


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def static_build(engine: ArchiveEngine, out: Path, jobs: int) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds of the command and its workers, peak RSS MiB, what it said)."""
    started, cpu = time.monotonic(), cpu_of_children()
    done = subprocess.run([sys.executable, "-c", RSS_PRINTER, "archive", "build", LIST, str(out), "--jobs", str(jobs)],
                          env=engine.environ(), capture_output=True, timeout=3600)  # fmt: skip
    seconds, cpu = time.monotonic() - started, cpu_of_children() - cpu
    if done.returncode:
        raise BenchError(f"archive build: {done.stderr.decode()[-2000:]}")
    peak = next(line.split()[1] for line in done.stderr.decode().splitlines() if line.startswith("peak-rss-kib"))
    return seconds, cpu, int(peak) / 1024, done.stdout.decode().strip()


def bench(count: int, database_url: str | None, workdir: Path, jobs: int) -> dict[str, object]:
    mbox = workdir / "archive.mbox"
    write_mbox(mbox, count)
    with fresh_database(database_url, workdir) as url:
        engine = ArchiveEngine(url)
        engine.cli("init")
        engine.cli("list", "create", LIST, "--name", "Bench")
        engine.cli("list", "set", LIST, "archive_access", "public")
        engine.cli("archive", "import", LIST, str(mbox))
        listed = json.loads(engine.cli("thread", "ls", LIST, "--json"))
        posts = sum(len(d["message_ids"]) for d in listed)
        with running(engine, workdir) as (serve, _, _):
            wait_for_port(engine.http_port, serve)
            pages = page_times(engine, listed)
        seconds, cpu, peak, said = static_build(engine, workdir / "site", jobs)
        written = sum(1 for _ in (workdir / "site" / "m").iterdir())
        if written != posts:
            raise BenchError(f"the build wrote {written} post pages for {posts} posts: {said}")
    return {"posts": posts, "discussions": len(listed), "pages": pages, "build_seconds": seconds, "build_cpu": cpu,
            "build_peak_rss_mib": peak, "build_said": said}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--jobs", type=int, default=2, help="archive build --jobs (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listserv-archive-") as workdir:
        row = bench(args.messages, args.database_url, Path(workdir), args.jobs)
    print(f"{row['posts']:,} posts in {row['discussions']:,} discussions")
    print("| page | median ms | p95 ms | max ms | n |\n|---|---:|---:|---:|---:|")
    for kind, figures in row["pages"].items():  # type: ignore[attr-defined]
        print(
            f"| {kind} | {figures['median']:.1f} | {figures['p95']:.1f} | {figures['max']:.1f} | {figures['n']:.0f} |"
        )
    print(f"static build (--jobs {args.jobs}): {row['build_seconds']:.1f} s ({row['build_cpu']:.1f} CPU s), peak RSS {row['build_peak_rss_mib']:.0f} MiB "
          f"({row['build_said']})")  # fmt: skip


if __name__ == "__main__":
    main()
