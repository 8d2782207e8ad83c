"""Threading posts into discussions: gather with SQL, decide with the pure core, apply with SQL.

One code path for a live post (a run of one, inside the worker's transaction) and for an
archive import (runs of a thousand, one transaction each): :func:`plan_arrivals` gathers a
Snapshot and calls :func:`listserv.discussions.plan.plan_threads`; :func:`save_plan`
writes the Plan. The statements per run are a fixed handful whatever the list's size, each
an indexed lookup or a bulk write, so the cost per message does not grow with the archive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from email.message import Message
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from listserv.discussions.headers import (
    chain_of,
    first_values,
    list_prefixes,
    message_date,
    own_message_id,
    subject_key,
    synthetic_id,
    thread_input,
)
from listserv.discussions.model import DEFAULT_SUBJECT_WINDOW
from listserv.discussions.plan import (
    Arrival,
    DiscussionFacts,
    OnDuplicate,
    Plan,
    Snapshot,
    StoredContainer,
    fresh_id,
    plan_threads,
)
from listserv.discussions.subjects import is_reply_subject
from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.mail.message import ListInfo
from listserv.mail.parse import content_hash, parse_bytes
from listserv.store.faults import is_resource_failure
from listserv.store.queries import in_chunks
from listserv.store.schema import Inbound, Post

log = logging.getLogger(__name__)
DISCUSSIONS = cast(Table, Discussion.__table__)
CONTAINERS = cast(Table, ThreadContainer.__table__)
# the statements of a run, built once (building one costs more than running it on SQLite)
CONTAINERS_BY_MESSAGE_ID = select(
    CONTAINERS.c.message_id, CONTAINERS.c.discussion_id, CONTAINERS.c.placeholder, CONTAINERS.c.post_id
).where(CONTAINERS.c.list_id == bindparam("list_id"), CONTAINERS.c.message_id.in_(bindparam("ids", expanding=True)))
DISCUSSION_FACTS = select(DISCUSSIONS.c.id, DISCUSSIONS.c.key, DISCUSSIONS.c.subject, DISCUSSIONS.c.subject_key,
                          DISCUSSIONS.c.started_by, DISCUSSIONS.c.first_activity, DISCUSSIONS.c.last_activity,
                          DISCUSSIONS.c.post_count)  # fmt: skip
DISCUSSIONS_BY_ID = DISCUSSION_FACTS.where(DISCUSSIONS.c.id.in_(bindparam("ids", expanding=True)))
RECENT_BY_SUBJECT_KEY = DISCUSSION_FACTS.where(
    DISCUSSIONS.c.list_id == bindparam("list_id"),
    DISCUSSIONS.c.subject_key.in_(bindparam("keys", expanding=True)),
    DISCUSSIONS.c.last_activity >= bindparam("since"),
)
INSERT_DISCUSSIONS = insert(DISCUSSIONS).returning(DISCUSSIONS.c.id, DISCUSSIONS.c.key)
MOVE_CONTAINERS = (update(CONTAINERS).where(CONTAINERS.c.discussion_id == bindparam("source"))
                   .values(discussion_id=bindparam("target")))  # fmt: skip
DELETE_DISCUSSION = delete(DISCUSSIONS).where(DISCUSSIONS.c.id == bindparam("source"))
UPDATE_DISCUSSION = update(DISCUSSIONS).where(DISCUSSIONS.c.id == bindparam("did"))
INSERT_CONTAINERS = insert(CONTAINERS)
RELINK_CONTAINER = update(CONTAINERS).where(CONTAINERS.c.list_id == bindparam("lid"),
                                            CONTAINERS.c.message_id == bindparam("mid"))  # fmt: skip
LOCK_CLASS = 0x6C73  # pg_advisory_xact_lock(LOCK_CLASS, list id): one threader per list at a time
LOCK_LIST_THREADS = text("SELECT pg_advisory_xact_lock(:a, :b)")


def lock_threads(session: Session, list_id: int) -> None:
    """Serialise threading per list across processes (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(LOCK_LIST_THREADS, {"a": LOCK_CLASS, "b": list_id})


def analyze_threads(session: Session) -> None:
    """Refresh PostgreSQL's statistics of the threading tables.

    A bulk import grows them faster than autovacuum analyzes them (and autovacuum may be
    off); with stale statistics the planner scans every container of the list for each
    lookup instead of using the (list_id, message_id) index, and imports slow down as they
    grow. SQLite's planner needs no statistics for these lookups.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE discussions, thread_containers"))


def facts_of(row: Discussion) -> DiscussionFacts:
    return DiscussionFacts(row.key, row.subject, row.subject_key, row.started_by, row.first_activity,
                           row.last_activity, row.post_count)  # fmt: skip


# -- gather ----------------------------------------------------------------------------------


def _wanted_ids(arrivals: Sequence[Arrival], on_duplicate: OnDuplicate) -> set[str]:
    ids: set[str] = set()
    for arrival in arrivals:
        ids.add(arrival.msg.message_id)
        ids.update(chain_of(arrival.msg))
        if on_duplicate is OnDuplicate.FRESH_ID:
            ids.add(fresh_id(arrival.msg.message_id, arrival.ref))
    return ids


def _subject_wanted(arrivals: Sequence[Arrival], prefixes: tuple[str, ...]) -> tuple[set[str], datetime | None]:
    """Subject keys the arrivals could join by the subject fallback, and the earliest date."""
    keys: set[str] = set()
    earliest: datetime | None = None
    for arrival in arrivals:
        msg = arrival.msg
        if msg.date is None or chain_of(msg) or not is_reply_subject(msg.subject, prefixes):
            continue
        key = subject_key(msg.subject, prefixes)
        if key:
            keys.add(key)
            earliest = msg.date if earliest is None else min(earliest, msg.date)
    return keys, earliest


def load_snapshot(session: Session, list_id: int, arrivals: Sequence[Arrival], on_duplicate: OnDuplicate,
                  prefixes: tuple[str, ...], window: timedelta) -> tuple[Snapshot, dict[str, int]]:  # fmt: skip
    """The stored state the arrivals depend on, and each loaded discussion's id by key."""
    rows: list[tuple[str, int, bool, int | None]] = []
    for batch in in_chunks(sorted(_wanted_ids(arrivals, on_duplicate))):
        found = session.execute(CONTAINERS_BY_MESSAGE_ID, {"list_id": list_id, "ids": batch})
        rows.extend((r[0], r[1], r[2], r[3]) for r in found)
    discussions: dict[int, DiscussionFacts] = {}
    for id_batch in in_chunks(sorted({row[1] for row in rows})):
        discussions.update(_discussion_facts(session.execute(DISCUSSIONS_BY_ID, {"ids": id_batch})))
    keys, earliest = _subject_wanted(arrivals, prefixes)
    if keys and earliest is not None:
        for key_batch in in_chunks(sorted(keys)):
            params = {"list_id": list_id, "keys": key_batch, "since": earliest - window}
            discussions.update(_discussion_facts(session.execute(RECENT_BY_SUBJECT_KEY, params)))
    containers = {mid: StoredContainer(mid, discussions[did].key, bool(placeholder), post_id)
                  for mid, did, placeholder, post_id in rows}  # fmt: skip
    snapshot = Snapshot(containers, {d.key: d for d in discussions.values()})
    return snapshot, {d.key: did for did, d in discussions.items()}


def _discussion_facts(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, DiscussionFacts]]:
    """(id, facts) of rows of :data:`DISCUSSION_FACTS` columns."""
    for row in rows:
        yield row[0], DiscussionFacts(row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def plan_arrivals(session: Session, list_id: int, subject_prefix: str, arrivals: Sequence[Arrival],
                  on_duplicate: OnDuplicate, window: timedelta = DEFAULT_SUBJECT_WINDOW,
                  ) -> tuple[Plan, dict[str, int]]:  # fmt: skip
    """Lock the list's threads, gather, decide. Apply the result with :func:`save_plan`."""
    lock_threads(session, list_id)
    prefixes = list_prefixes(subject_prefix)
    snapshot, ids = load_snapshot(session, list_id, arrivals, on_duplicate, prefixes, window)
    plan = plan_threads(arrivals, snapshot, on_duplicate=on_duplicate, prefixes=prefixes, subject_window=window)
    return plan, ids


# -- apply -----------------------------------------------------------------------------------


def _facts_values(facts: DiscussionFacts) -> dict[str, object]:
    """Column values; NUL characters, which PostgreSQL refuses, are dropped."""
    return dict(subject=facts.subject.replace("\x00", ""), subject_key=facts.subject_key,
                started_by=facts.started_by.replace("\x00", "")[:254],
                first_activity=facts.first_activity, last_activity=facts.last_activity,
                post_count=facts.post_count)  # fmt: skip


def save_plan(session: Session, list_id: int, plan: Plan, ids: dict[str, int], post_ids: Mapping[int, int],
              now: datetime) -> None:  # fmt: skip
    """Write a Plan: new discussions, merges, changed facts, new containers, re-linked placeholders.

    ``ids`` maps loaded discussion keys to ids (from :func:`plan_arrivals`); ``post_ids``
    maps each threaded arrival's ``ref`` to its post id.
    """
    if plan.new_discussions:
        rows = [dict(list_id=list_id, key=f.key, created_at=now, **_facts_values(f)) for f in plan.new_discussions]
        ids.update({key: ident for ident, key in session.execute(INSERT_DISCUSSIONS, rows).all()})
    for source, target in plan.merges:
        session.execute(MOVE_CONTAINERS, {"source": ids[source], "target": ids[target]})
        session.execute(DELETE_DISCUSSION, {"source": ids[source]})
    if plan.changed_discussions:
        session.execute(UPDATE_DISCUSSION, [dict(did=ids[f.key], **_facts_values(f)) for f in plan.changed_discussions])
    if plan.inserts:
        session.execute(INSERT_CONTAINERS, [
            dict(list_id=list_id, discussion_id=ids[p.discussion_key], message_id=p.message_id, parent_id=p.parent_id,
                 placeholder=p.is_placeholder, post_id=None if p.ref is None else post_ids[p.ref],
                 method=p.method.value if p.method else None, posted_at=p.posted_at)
            for p in plan.inserts
        ])  # fmt: skip
    if plan.relinks:
        session.execute(RELINK_CONTAINER, [
            dict(lid=list_id, mid=p.message_id, discussion_id=ids[p.discussion_key], parent_id=p.parent_id,
                 placeholder=False, post_id=None if p.ref is None else post_ids[p.ref],
                 method=p.method.value if p.method else None, posted_at=p.posted_at)
            for p in plan.relinks
        ])  # fmt: skip


# -- the live pipeline -----------------------------------------------------------------------


def thread_post(session: Session, lst: ListInfo, post_id: int, sender: str, message: Message, raw: bytes,
                now: datetime) -> Plan:  # fmt: skip
    """Thread one accepted post (idempotent: a post already threaded is left as it is)."""
    return thread_headers(session, lst, post_id, sender, first_values(message), raw, now)


def thread_headers(session: Session, lst: ListInfo, post_id: int, sender: str, headers: Mapping[str, str],
                   raw: bytes, now: datetime) -> Plan:  # fmt: skip
    """Thread one accepted post by its headers (:func:`first_values` of it as received).

    Its time is its Date header, as in archives, but never later than ``now`` (when we
    received it), and ``now`` when the header is missing or unreadable.
    """
    own = own_message_id(headers) or synthetic_id(content_hash(raw))
    date = message_date(headers)
    msg = thread_input(headers, own, min(date, now) if date is not None else now)
    arrival = Arrival(ref=post_id, msg=msg, sender=sender, post_id=post_id)
    plan, ids = plan_arrivals(session, lst.id, lst.subject_prefix, [arrival], OnDuplicate.FRESH_ID)
    save_plan(session, lst.id, plan, ids, {post_id: post_id}, now)
    for placed in plan.placed_arrivals():
        log.info("threaded list=%s msgid=%s discussion=%s method=%s", lst.address, placed.message_id,
                 placed.discussion_key, placed.method.value if placed.method else "-")  # fmt: skip
    return plan


def thread_accepted(session: Session, lst: ListInfo, post: Post, headers: Mapping[str, str], raw: bytes,
                    now: datetime) -> None:  # fmt: skip
    """Thread a post about to be distributed (outbound/release.py calls this with its headers as
    received, :func:`first_values`).

    In a savepoint: if threading fails, the failure is logged and the post is still
    distributed, unthreaded; members getting their mail comes first. But if the database
    fails (store/faults.py), the whole transaction is lost: that is raised, and retried.
    """
    try:
        with session.begin_nested():
            thread_headers(session, lst, post.id, post.sender, headers, raw, now)
    except Exception as error:
        if is_resource_failure(error):  # the connection is gone, and the transaction with it: retry it all
            raise
        log.exception("threading failed list=%s msgid=%s post=%s: distributed unthreaded",
                      lst.address, post.message_id, post.id)  # fmt: skip


def unthreaded_posts(session: Session, list_id: int, after: int, limit: int) -> list[tuple[int, str, bytes, datetime]]:
    """(post id, sender, raw, created_at) of distributed or imported posts with no container, by id."""
    threaded = select(CONTAINERS.c.post_id).where(CONTAINERS.c.post_id == Post.id).exists()
    query = (select(Post.id, Post.sender, Inbound.raw, Post.created_at).join(Inbound, Inbound.id == Post.inbound_id)
             .where(Post.list_id == list_id, Post.id > after, Post.decision.in_(("accept", "imported")), ~threaded)
             .order_by(Post.id).limit(limit))  # fmt: skip
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(query)]


def repair_threads(sessions: Callable[[], Session], lst: ListInfo, now: datetime, run: int = 500) -> int:
    """Thread every distributed or imported post of the list that is not threaded yet
    (a failure was logged, or the post predates threading). Returns how many were threaded."""
    done, after = 0, 0
    while True:
        with sessions() as session, session.begin():
            rows = unthreaded_posts(session, lst.id, after, run)
            if not rows:
                return done
            arrivals = []
            for post_id, sender, raw, created_at in rows:
                headers = first_values(parse_bytes(raw))
                own = own_message_id(headers) or synthetic_id(content_hash(raw))
                date = message_date(headers)
                when = min(date, created_at) if date is not None else created_at
                arrivals.append(Arrival(post_id, thread_input(headers, own, when), sender, post_id))
            plan, ids = plan_arrivals(session, lst.id, lst.subject_prefix, arrivals, OnDuplicate.FRESH_ID)
            placed = {p.ref: p.ref for p in plan.placed_arrivals() if p.ref is not None}
            save_plan(session, lst.id, plan, ids, placed, now)
            done += len(plan.placed_arrivals())
            after = rows[-1][0]
