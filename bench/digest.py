"""Measure a weekly digest run: 10,000 members, 1,000 posts in the week (docs/digest.md).

    python3 -m bench.digest                                   # SQLite in a temp dir
    python3 -m bench.digest --members 10000 --posts 1000 --database-url postgresql+psycopg://...

A fresh database, one list, M members (a third each in summary, mime-digest and
plain-digest mode), P posts distributed in the last week and threaded into discussions of
about ten posts, each ~1.5 KB with a link, some with quotes and signatures. Then one
`run_digests` (gather, compose, render the three digests, one receipt and one delivery
per member), timed, with the process's peak RSS before and after. Checked: one receipt
per member, one pending delivery per member. Nothing is sent (no relay is involved).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import datetime, timedelta
from email.message import Message

from sqlalchemy import func, insert, select, update

from listserv.clock import system_clock
from listserv.digest.run import run_digests
from listserv.digest.tables import DigestReceipt
from listserv.discussions.store import thread_post
from listserv.mail.message import Role
from listserv.mail.parse import parse_bytes
from listserv.outbound.decorate import serialize
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import admin, db, queries
from listserv.store.schema import Inbound, Member, Outbound, Post
from listserv.work import Work

BODY = ("Hi all,\n\nHere is what we tried this week: {n}. It worked better than expected, "
        "see https://example.org/notes/{n} for the details.\n\n" + "Some more words about it. " * 30 +
        "\n\nOn Monday, someone wrote:\n> an earlier message\n> quoted here\n\n-- \nA member\n")  # fmt: skip


def raw_post(n: int, sender: str, parent: int | None) -> bytes:
    message = Message()
    message["From"] = f"Member {n % 300} <{sender}>"
    message["To"] = "bench@lists.example.test"
    message["Subject"] = f"Re: [bench] Topic {parent}" if parent is not None else f"[bench] Topic {n}"
    message["Message-ID"] = f"<p{n}@bench.example>"
    if parent is not None:
        message["In-Reply-To"] = f"<p{parent}@bench.example>"
        message["References"] = f"<p{parent}@bench.example>"
    message.set_payload(BODY.format(n=n))
    return serialize(message)


def setup(sessions: db.sessionmaker, members: int, posts: int, now: datetime) -> None:  # type: ignore[name-defined]
    with sessions() as session, session.begin():
        row = admin.create_list(session, "bench@lists.example.test", "Bench", "", now)
        list_id = row.id
        modes = ("summary", "mime-digest", "plain-digest")
        admin.insert_members(session, list_id, [(f"m{i}@example.org", f"Member {i}") for i in range(members)], now)
        for index, mode in enumerate(modes):
            session.execute(update(Member).where(Member.list_id == list_id, (Member.id % 3) == index)
                            .values(delivery=mode))  # fmt: skip
        session.execute(update(Member).values(created_at=now - timedelta(days=60)))
        row.created_at = now - timedelta(days=60)
    lst = None
    with sessions() as session:
        lst = queries.load_list_by_id(session, list_id)
    start = now - timedelta(days=6)
    for n in range(posts):
        parent = None if n % 10 == 0 else n - n % 10
        raw = raw_post(n, f"m{n % 300}@example.org", parent)
        with sessions() as session, session.begin():
            inbound_id = session.execute(insert(Inbound).values(
                list_id=list_id, role="post", mail_from=f"m{n % 300}@example.org", rcpt=lst.address,
                message_id=f"<p{n}@bench.example>", dedupe_key=f"k{n}", raw=raw, status="done", attempts=1,
                error="", received_at=now).returning(Inbound.id)).scalar_one()  # fmt: skip
            at = start + timedelta(minutes=5 * n)
            post_id = session.execute(insert(Post).values(
                list_id=list_id, inbound_id=inbound_id, message_id=f"<p{n}@bench.example>",
                sender=f"m{n % 300}@example.org", subject=f"Topic {n}", decision="accept", created_at=at,
            ).returning(Post.id)).scalar_one()  # fmt: skip
            session.execute(
                insert(Outbound).values(
                    list_id=list_id,
                    post_id=post_id,
                    kind="post",
                    mail_from=lst.service(Role.BOUNCES),
                    raw=raw,
                    created_at=at,
                )
            )
            thread_post(session, lst, post_id, f"m{n % 300}@example.org", parse_bytes(raw), raw, at)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = db.open_engine(url)
        db.upgrade(engine)
        sessions = db.sessions(engine)
        began = time.monotonic()
        now = system_clock()
        setup(sessions, args.members, args.posts, now)
        print(f"setup: {args.members} members, {args.posts} posts threaded in {time.monotonic() - began:.1f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.monotonic()
        later = now + timedelta(days=8)
        outcomes = run_digests(Work(sessions, Settings(database_url=url), Templates(), lambda: later))
        took = time.monotonic() - began
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with sessions() as session:
            receipts = session.scalar(select(func.count()).select_from(DigestReceipt))
        assert receipts == args.members, receipts
        assert outcomes[0].recipients == args.members, outcomes
        print(
            f"digest run: {took:.2f} s for {args.members} members and {args.posts} posts "
            f"(peak RSS {rss_before // 1024} MiB before, {rss_after // 1024} MiB after); "
            f"{receipts} receipts, {outcomes[0].recipients} deliveries; database {engine.dialect.name}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
