"""Threading and archive import at scale: messages/s, the first and the last 10%, peak memory.

    python3 -m bench.threads                          # 100,000 messages, SQLite in a temp dir
    python3 -m bench.threads --messages 10000,100000  # two sizes: does memory grow with the archive?
    python3 -m bench.threads --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For each size: a synthetic mbox is written (streamed, ~1.3 KB a message): 20% of the messages
start a discussion, the rest reply to a recent message with In-Reply-To and up to 10
References; 3% reply to a message the archive never had, 3% are `Re:` posts whose client
dropped both headers (subject fallback), 0.5% repeat a Message-ID with other content. Then
`listserv init`, `listserv list create` and `listserv archive import` run as subprocesses,
exactly as an operator runs them. The import logs one line per committed run of 1,000
messages; their arrival times give the rate of the first and the last 10% (so start-up is
not counted), `getrusage(RUSAGE_CHILDREN)` the peak RSS. The numbers count only if the
import's summary and `listserv thread ls --json` agree with what was generated; a second
import of the same file must import nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from bench.run import fresh_database

ROOT = Path(__file__).resolve().parent.parent
LIST = "bench@lists.bench.test"
LOG_LINE = re.compile(r"archive import list=\S+ read=(\d+) imported=(\d+)")
SUMMARY = re.compile(r"read (\d+) messages .*: (\d+) imported, (\d+) already stored, (\d+) duplicate Message-IDs, "
                     r"(\d+) malformed .* has (\d+) discussions")  # fmt: skip
BODY = "We tried a new format for our retrospective this week and it went better than expected.\n" * 14


class BenchError(RuntimeError):
    """A step failed or a count did not check out."""


@dataclass(frozen=True)
class Generated:
    messages: int
    posts: int  # distinct Message-IDs
    bytes: int


def write_mbox(path: Path, count: int, seed: int = 1) -> Generated:
    """The synthetic archive described in the module docstring."""
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=timezone.utc)
    chains: list[tuple[str, ...]] = []  # each message's References + own id, for replies
    subjects: list[str] = []
    duplicates = 0
    with open(path, "wb") as out:
        for index in range(count):
            mid = f"m{index}.{rng.getrandbits(32):08x}@bench.example"
            when = start + timedelta(minutes=7 * index)
            headers = [f"From: Member {index % 997} <u{index % 997}@members.example>", f"Message-ID: <{mid}>",
                       f"Date: {format_datetime(when)}", "To: bench@lists.bench.test"]  # fmt: skip
            roll = rng.random()
            if index and roll < 0.005:  # a reused Message-ID with other content
                headers[1] = f"Message-ID: <{chains[rng.randrange(max(0, index - 50), index)][-1]}>"
                subject, chain = "Again", ()
                duplicates += 1
            elif index < 5 or roll < 0.2:
                subject, chain = f"Topic {index}: how do you run retrospectives?", ()
            elif roll < 0.23:  # a reply to a message the archive never had
                subject, chain = f"Re: Lost topic {index % 200}", (f"lost{index % 200}@elsewhere.example",)
            elif roll < 0.26:  # a client that drops In-Reply-To and References
                subject, chain = "Re: " + subjects[rng.randrange(max(0, index - 30), index)], ()
            else:
                parent = rng.randrange(max(0, index - 300), index)
                subject = "Re: " + subjects[parent].removeprefix("Re: ")
                chain = chains[parent][-10:]  # the parent's References and the parent itself
            if chain:
                headers += [f"In-Reply-To: <{chain[-1]}>", "References: " + " ".join(f"<{c}>" for c in chain)]
            headers.append(f"Subject: {subject}")
            own = headers[1][13:-1]
            chains.append(chain + (own,) if chain else (own,))
            subjects.append(subject.removeprefix("Re: "))
            envelope = f"From u{index % 997}@members.example {when.strftime('%a %b %d %H:%M:%S %Y')}\n"
            out.write((envelope + "\n".join(headers) + f"\n\n{BODY}From the minutes, item {index}.\n\n")
                      .replace("\nFrom the", "\n>From the").encode())  # fmt: skip
    return Generated(count, count - duplicates, path.stat().st_size)


def environ(database_url: str, level: str = "WARNING") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERV_")}
    env.update(LISTSERV_DATABASE_URL=database_url, LISTSERV_DOMAIN="lists.bench.test", LISTSERV_LOG_LEVEL=level,
               LISTSERV_SECRET_FILE=os.path.join(tempfile.gettempdir(), "listserv-bench.secret"),
               PYTHONPATH=str(ROOT))  # fmt: skip
    return env


def cli(database_url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "listserv", *args], env=environ(database_url), capture_output=True,
                          timeout=3600)  # fmt: skip
    if done.returncode:
        raise BenchError(f"listserv {' '.join(args)}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


@dataclass(frozen=True)
class Run:
    seconds: float
    rate: float
    first_rate: float
    last_rate: float
    peak_rss_mib: float
    summary: tuple[int, ...]


def timed_import(database_url: str, mbox: Path, count: int) -> Run:
    """`listserv archive import` with INFO logging: one line per committed run of 1,000."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "listserv", "archive", "import", "bench", str(mbox)],
        env=environ(database_url, "INFO"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    marks: list[tuple[int, float]] = []
    assert process.stderr is not None and process.stdout is not None
    for line in process.stderr:
        found = LOG_LINE.search(line.decode(errors="replace"))
        if found:
            marks.append((int(found.group(1)), time.monotonic()))
    output = process.stdout.read().decode()
    if process.wait(timeout=3600):
        raise BenchError(f"import failed: {output}")
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = SUMMARY.search(output)
    if summary is None:
        raise BenchError(f"no summary in: {output}")

    if len(marks) < 2:
        raise BenchError("too few progress lines: import at least 2,000 messages")
    step = max(1, round(len(marks) / 10))  # a tenth of the runs, at least one
    (n0, t0), (n1, t1) = marks[0], marks[step]
    (n9, t9), (n10, t10) = marks[-1 - step], marks[-1]
    return Run(seconds, count / seconds, (n1 - n0) / (t1 - t0), (n10 - n9) / (t10 - t9),
               max(peak, before) / 1024, tuple(int(n) for n in summary.groups()))  # fmt: skip


def bench(count: int, database_url: str | None, workdir: Path) -> dict[str, float]:
    mbox = workdir / f"archive-{count}.mbox"
    generated = write_mbox(mbox, count)
    with fresh_database(database_url, workdir) as url:
        cli(url, "init")
        cli(url, "list", "create", LIST, "--name", "Bench")
        first = timed_import(url, mbox, count)
        read, imported, already, duplicates, malformed, discussions = first.summary
        if (read, imported + duplicates + already, malformed) != (count, count, 0) or imported != generated.posts:
            raise BenchError(f"import counts {first.summary} for {generated}")
        listed = json.loads(cli(url, "thread", "ls", LIST, "--json"))
        if len(listed) != discussions or sum(len(d["message_ids"]) for d in listed) != imported:
            raise BenchError("thread ls disagrees with the import's summary")
        again = timed_import(url, mbox, count)
        if again.summary[1] != 0 or again.summary[2] + again.summary[3] != count:
            raise BenchError(f"a re-run imported something: {again.summary}")
    return {"messages": count, "mbox_mib": generated.bytes / 2**20, "seconds": first.seconds, "rate": first.rate,
            "first_10": first.first_rate, "last_10": first.last_rate, "peak_rss_mib": first.peak_rss_mib,
            "discussions": discussions, "rerun_seconds": again.seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", default="100000", help="comma-separated sizes (default 100000)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    print(
        "| messages | mbox MiB | import s | messages/s | first 10% /s | last 10% /s | peak RSS MiB | "
        "discussions | re-run s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for count in (int(n) for n in args.messages.split(",")):
        with tempfile.TemporaryDirectory(prefix="listserv-threads-") as workdir:
            row = bench(count, args.database_url, Path(workdir))
        print(f"| {row['messages']:,.0f} | {row['mbox_mib']:.0f} | {row['seconds']:.1f} | {row['rate']:,.0f} | "
              f"{row['first_10']:,.0f} | {row['last_10']:,.0f} | {row['peak_rss_mib']:.0f} | "
              f"{row['discussions']:,.0f} | {row['rerun_seconds']:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
