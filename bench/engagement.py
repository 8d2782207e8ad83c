"""Measure engagement: every member's stage from the list's posts (docs/engagement.md).

    python3 -m bench.engagement                                   # 10,000 members, 100,000 posts, SQLite
    python3 -m bench.engagement --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

A fresh database, one list, M members and P delivered posts over the 26 weeks of the default
window, in discussions of about ten posts, each reply under an earlier post of its discussion.
Who posts follows a long tail (a few members write most), as in real communities (seeded, so
runs compare). Rows are written directly, without the post path: this measures the assessment.
Then one `record_stages` pass with the weekly report's `StageRoll` (what the daily job and the
report do: pages of members, each in its own transaction), timed, with the process's peak RSS
before and after.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.run import fresh_database
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.engagement.report import StageRoll
from listserv.engagement.rules import Rules
from listserv.engagement.store import record_stages
from listserv.store import admin, db
from listserv.store.schema import Inbound, Post

NOW = datetime(2026, 9, 1, 9, 0)
CHUNK = 5000


def sender_of(rng: random.Random, members: int) -> str:
    return f"m{min(int(rng.paretovariate(1.2)) - 1, members - 1)}@example.org"


def setup(sessions: db.sessionmaker, members: int, posts: int) -> int:  # type: ignore[name-defined]
    rng = random.Random(7)
    start = NOW - timedelta(weeks=26)
    with sessions() as session, session.begin():
        list_id = admin.create_list(session, "bench@lists.example.test", "Bench", "", start).id
        admin.insert_members(session, list_id, [(f"m{i}@example.org", "") for i in range(members)], start)
    threads = max(posts // 10, 1)
    step = (NOW - start) / posts
    rows: dict[str, list[dict[str, object]]] = {"inbound": [], "posts": [], "discussions": [], "containers": []}
    members_of: dict[int, list[str]] = {}
    for n in range(posts):
        at = start + step * n
        thread = n % threads
        sender = sender_of(rng, members)
        earlier = members_of.setdefault(thread, [])
        parent = f"p{rng.choice(earlier)}@bench" if earlier else None
        if not earlier:
            rows["discussions"].append(dict(id=thread + 1, list_id=list_id, key=f"p{n}@bench", subject=f"Topic {n}?",
                                            subject_key="", started_by=sender, first_activity=at, last_activity=NOW,
                                            post_count=0, created_at=at))  # fmt: skip
        earlier.append(str(n))
        rows["inbound"].append(dict(id=n + 1, list_id=list_id, role="post", mail_from=sender, rcpt="bench", raw=b"",
                                    message_id=f"<p{n}@bench>", dedupe_key=f"k{n}", received_at=at, status="done",
                                    attempts=1, error=""))  # fmt: skip
        rows["posts"].append(dict(id=n + 1, list_id=list_id, inbound_id=n + 1, message_id=f"<p{n}@bench>",
                                  sender=sender, subject="", decision="accept", created_at=at))  # fmt: skip
        rows["containers"].append(dict(list_id=list_id, discussion_id=thread + 1, message_id=f"p{n}@bench",
                                       parent_id=parent, placeholder=False, post_id=n + 1, posted_at=at))  # fmt: skip
    for table, key in ((Inbound, "inbound"), (Post, "posts"), (Discussion, "discussions"),
                       (ThreadContainer, "containers")):  # fmt: skip
        for index in range(0, len(rows[key]), CHUNK):
            with sessions() as session, session.begin():
                session.execute(insert(table), rows[key][index : index + CHUNK])
    return list_id


def prepare(url: str, members: int, posts: int) -> None:
    engine = db.open_engine(url)
    db.upgrade(engine)
    setup(db.sessions(engine), members, posts)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url or None, Path(tmp)) as url:
        began = time.monotonic()
        child = multiprocessing.get_context("spawn").Process(target=prepare, args=(url, args.members, args.posts))
        child.start()  # the setup's rows stay in the child, so the peak RSS below is the assessment's
        child.join()
        assert child.exitcode == 0, child.exitcode
        engine = db.open_engine(url)
        sessions = db.sessions(engine)
        with sessions() as session:
            list_id = admin.get_list(session, "bench@lists.example.test").id
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        print(f"setup: {args.members} members, {args.posts} posts in {time.monotonic() - began:.1f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.monotonic()
        roll = StageRoll(Rules(), NOW)
        changed = record_stages(sessions, list_id, NOW, roll)
        took = time.monotonic() - began
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counts = {int(stage): count for stage, count in roll.counts.items()}
        assert sum(counts.values()) == args.members and changed == args.members
        print(f"assessed {args.members} members over {args.posts} posts in {took:.2f} s "
              f"(peak RSS {rss_before // 1024} MiB before, {rss_after // 1024} MiB after; database "
              f"{engine.dialect.name}); stages {dict(sorted(counts.items()))}")  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    main()
