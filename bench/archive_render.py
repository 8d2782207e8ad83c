"""Page times in-process, on an archive already imported: what a request costs the server,
as wall time and as CPU time (time.thread_time), so that a machine shared with other work
still gives a fair figure.

    python3 -m bench.archive_render sqlite:////path/to/listserv.db bench@lists.bench.test

The same calls the handlers make (listserv/web/archive.py): load, then render, on a fresh
session each time, for the first index page, page 200, the largest discussion, 50 random
discussions and 200 random posts by permalink.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from sqlalchemy import func, select

from listserv.archive import pages
from listserv.archive.store import load_archived_list, load_discussion, load_index_page, load_post
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.permalinks import post_token
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import db
from listserv.work import Work


def timed(call: Callable[[], str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    page = call()
    if not page:
        raise RuntimeError("an empty page")
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("list_address")
    args = parser.parse_args()
    work = Work(db.sessions(db.open_engine(args.database_url)), Settings(database_url=args.database_url), Templates())
    rng = random.Random(7)
    with work.sessions() as session:
        lst = load_archived_list(session, args.list_address.partition("@")[0])
        assert lst is not None
        ids = list(session.scalars(select(Discussion.id).where(Discussion.list_id == lst.id)))
        largest = session.execute(select(ThreadContainer.discussion_id, func.count()).group_by(
            ThreadContainer.discussion_id).order_by(func.count().desc()).limit(1)).one()  # fmt: skip
        posts = list(session.scalars(select(ThreadContainer.message_id).where(
            ThreadContainer.list_id == lst.id, ThreadContainer.post_id.is_not(None))))  # fmt: skip
    link = pages.Linker(1)

    def index(number: int) -> str:
        with work.sessions() as session:
            return pages.render_index(work.templates, lst, load_index_page(session, lst.id, number), pages.Linker(0))

    def discussion(ident: int) -> str:
        with work.sessions() as session:
            found = load_discussion(session, lst.id, ident)
        assert found is not None
        return pages.render_discussion(work.templates, lst, *found, link)

    def post(message_id: str) -> str:
        token = post_token(message_id)
        with work.sessions() as session:
            found = load_post(session, lst.id, token)
        assert found is not None
        return pages.render_post(work.templates, lst, found, token, link)

    index(1)  # templates compiled
    kinds = {
        "index (page 1)": [timed(lambda: index(1)) for _ in range(20)],
        "index (page 200)": [timed(lambda: index(200)) for _ in range(20)],
        f"largest discussion ({largest[1]} messages)": [timed(lambda: discussion(largest[0])) for _ in range(10)],
        "discussion (random)": [timed(lambda i=i: discussion(i)) for i in rng.sample(ids, 50)],  # type: ignore[misc]
        "post (random permalink)": [timed(lambda m=m: post(m)) for m in rng.sample(posts, 200)],  # type: ignore[misc]
    }
    print(f"{len(posts):,} posts in {len(ids):,} discussions")
    print("| page | wall median ms | wall p95 ms | CPU median ms | CPU p95 ms | n |\n|---|---:|---:|---:|---:|---:|")
    for kind, times in kinds.items():
        walls, cpus = sorted(t[0] for t in times), sorted(t[1] for t in times)
        p95 = int(0.95 * (len(times) - 1))
        print(f"| {kind} | {statistics.median(walls):.1f} | {walls[p95]:.1f} | {statistics.median(cpus):.1f} | "
              f"{cpus[p95]:.1f} | {len(times)} |")  # fmt: skip


if __name__ == "__main__":
    main()
