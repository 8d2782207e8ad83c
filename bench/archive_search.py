"""Archive search latency at 100,000 posts (docs/archive-search.md).

    python3 -m bench.archive_search                                   # SQLite (FTS5)
    python3 -m bench.archive_search --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

A fresh database, one list, P archived posts in discussions of about ten, written straight into
the tables (raw messages of ~80 words drawn from a 20,000-word vocabulary with a Zipf
distribution, as natural text has; seeded, so runs compare). The real indexer then indexes them
(`index_all`, what the `archive-index` job runs), timed. Then `search_posts` (first page of 20,
total count, snippets) for three kinds of two-word queries, each run over 50 different pairs:

- typical: two words of middling frequency (ranks 200-2,000), as people search;
- common: two of the 20 most frequent words (many thousands of hits to count and rank);
- rare: two words of ranks 5,000-20,000 (few or no hits).

Printed: median, 95th percentile and worst latency per kind, and the hit counts' median.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.run import fresh_database
from listserv.archive.search_index import index_all
from listserv.archive.search_store import search_posts
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.store import admin, db
from listserv.store.schema import Inbound, Post

START = datetime(2024, 1, 1)
VOCABULARY = 20_000
CHUNK = 5000
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(
        sorted(words), key=lambda w: rng.random()
    )  # rank order (the first is the most frequent), same every run


def raw_post(n: int, subject: str, body: str, sender: str, at: datetime) -> bytes:
    return (f"From: Member {sender} <{sender}>\nSubject: {subject}\nMessage-ID: <p{n}@bench>\n"
            f"Date: {at:%a, %d %b %Y %H:%M:%S} +0000\nContent-Type: text/plain; charset=utf-8\n\n{body}\n").encode()  # fmt: skip


def setup(sessions: db.sessionmaker, posts: int, words: list[str]) -> int:  # type: ignore[name-defined]
    rng = random.Random(11)
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    with sessions() as session, session.begin():
        list_id = admin.create_list(session, "bench@lists.example.test", "Bench", "", START).id
    threads = max(posts // 10, 1)
    for first in range(0, posts, CHUNK):
        rows: dict[str, list[dict[str, object]]] = {"inbound": [], "posts": [], "discussions": [], "containers": []}
        for n in range(first, min(first + CHUNK, posts)):
            at, thread, sender = START + timedelta(minutes=5 * n), n % threads, f"m{rng.randrange(2000)}@example.org"
            drawn = rng.choices(words, cum_weights=cumulative, k=86)
            subject, body = " ".join(drawn[:6]).capitalize(), " ".join(drawn[6:])
            if n < threads:
                rows["discussions"].append(dict(id=thread + 1, list_id=list_id, key=f"p{n}@bench", subject=subject,
                                                subject_key="", started_by=sender, first_activity=at,
                                                last_activity=at, post_count=0, created_at=at))  # fmt: skip
            rows["inbound"].append(dict(id=n + 1, list_id=list_id, role="post", mail_from=sender, rcpt="bench",
                                        raw=raw_post(n, subject, body, sender, at), message_id=f"<p{n}@bench>",
                                        dedupe_key=f"k{n}", received_at=at, status="done", attempts=1, error=""))  # fmt: skip
            rows["posts"].append(dict(id=n + 1, list_id=list_id, inbound_id=n + 1, message_id=f"<p{n}@bench>",
                                      sender=sender, subject=subject, decision="accept", created_at=at))  # fmt: skip
            rows["containers"].append(dict(list_id=list_id, discussion_id=thread + 1, message_id=f"p{n}@bench",
                                           parent_id=None, placeholder=False, post_id=n + 1, posted_at=at))  # fmt: skip
        with sessions() as session, session.begin():
            for table, key in ((Inbound, "inbound"), (Post, "posts"), (Discussion, "discussions"),
                               (ThreadContainer, "containers")):  # fmt: skip
                if rows[key]:
                    session.execute(insert(table), rows[key])
    return list_id


def measure(sessions: db.sessionmaker, list_id: int, queries: list[str]) -> tuple[list[float], list[int]]:  # type: ignore[name-defined]
    took, totals = [], []
    for query in queries:
        with sessions() as session:
            began = time.perf_counter()
            page = search_posts(session, list_id, query, limit=20)
            took.append((time.perf_counter() - began) * 1000)
            totals.append(page.total)
    return took, totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    rng = random.Random(5)
    words = vocabulary(rng)
    kinds = {
        "typical": [f"{rng.choice(words[200:2000])} {rng.choice(words[200:2000])}" for _ in range(50)],
        "common": [f"{rng.choice(words[:20])} {rng.choice(words[:20])}" for _ in range(50)],
        "rare": [f"{rng.choice(words[5000:])} {rng.choice(words[5000:])}" for _ in range(50)],
    }
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url or None, Path(tmp)) as url:
        engine = db.open_engine(url)
        db.upgrade(engine)
        sessions = db.sessions(engine)
        began = time.monotonic()
        list_id = setup(sessions, args.posts, words)
        print(f"setup: {args.posts} posts in {time.monotonic() - began:.1f} s")
        began = time.monotonic()
        indexed = index_all(sessions, list_id)
        seconds = time.monotonic() - began
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        print(f"indexed {indexed} posts in {seconds:.1f} s ({indexed / seconds:,.0f}/s), {engine.dialect.name}")
        measure(sessions, list_id, kinds["typical"][:5])  # warm the cache, as a running server's is
        print("| queries | median | p95 | worst | hits (median) |\n| --- | --- | --- | --- | --- |")
        for kind, queries in kinds.items():
            took, totals = measure(sessions, list_id, queries)
            p95 = statistics.quantiles(took, n=20)[-1]
            print(f"| {kind} two-word | {statistics.median(took):.1f} ms | {p95:.1f} ms | {max(took):.1f} ms | "
                  f"{statistics.median(totals):,.0f} |")  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    main()
