"""Re-threading a list from its raw mail after the threading rules change (`listserv thread
repair LIST --rethread`).

Every distributed or imported post is threaded again from its stored raw message, in post
order, exactly as the import threads an archive. A new discussion with the same posts as an
old one keeps the old one's number (and row); the others are replaced. A discussion a
moderator merged or split is left as it is, and the posts threaded again can still join it,
as live posts would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from listserv.discussions.admin import MODERATOR
from listserv.discussions.headers import (
    first_values,
    list_prefixes,
    message_date,
    own_message_id,
    synthetic_id,
    thread_input,
)
from listserv.discussions.plan import Arrival, OnDuplicate, Plan, Snapshot, StoredContainer, plan_threads
from listserv.discussions.store import CONTAINERS, DISCUSSIONS, facts_of, lock_threads, save_plan
from listserv.discussions.tables import Discussion
from listserv.mail.message import ListInfo
from listserv.mail.parse import content_hash, parse_bytes
from listserv.store.queries import in_chunks
from listserv.store.schema import Inbound, Post


@dataclass(frozen=True)
class Rethread:
    posts: int  # posts threaded again
    kept: int  # discussions with the same posts as before: same number
    new: int  # discussions made (their posts were grouped otherwise before)
    removed: int  # old discussions whose posts went elsewhere
    moderated: int  # discussions a moderator merged or split: left as they are


def _moderated(session: Session, list_id: int) -> set[int]:
    query = select(CONTAINERS.c.discussion_id).where(CONTAINERS.c.list_id == list_id, CONTAINERS.c.method == MODERATOR)
    return set(session.scalars(query.distinct()))


def _membership(session: Session, list_id: int, skip: set[int]) -> dict[frozenset[int], int]:
    """Each old discussion's posts -> its id (moderated ones left out)."""
    posts: dict[int, set[int]] = {}
    for did in session.scalars(select(DISCUSSIONS.c.id).where(DISCUSSIONS.c.list_id == list_id)):
        if did not in skip:
            posts[did] = set()
    query = select(CONTAINERS.c.discussion_id, CONTAINERS.c.post_id).where(
        CONTAINERS.c.list_id == list_id, CONTAINERS.c.post_id.is_not(None)
    )
    for did, post_id in session.execute(query):
        if did in posts:
            posts[did].add(post_id)
    return {frozenset(members): did for did, members in posts.items()}


def _snapshot(session: Session, list_id: int, moderated: set[int]) -> tuple[Snapshot, dict[str, int], set[int]]:
    """The moderated discussions as stored, their ids by key, and their posts."""
    rows = session.scalars(select(Discussion).where(Discussion.id.in_(moderated))).all() if moderated else []
    key_of = {row.id: row.key for row in rows}
    containers: dict[str, StoredContainer] = {}
    posts: set[int] = set()
    if moderated:
        query = select(CONTAINERS.c.message_id, CONTAINERS.c.discussion_id, CONTAINERS.c.placeholder,
                       CONTAINERS.c.post_id).where(CONTAINERS.c.discussion_id.in_(moderated))  # fmt: skip
        for mid, did, placeholder, post_id in session.execute(query):
            containers[mid] = StoredContainer(mid, key_of[did], bool(placeholder), post_id)
            if post_id is not None:
                posts.add(post_id)
    snapshot = Snapshot(containers, {row.key: facts_of(row) for row in rows})
    return snapshot, {row.key: row.id for row in rows}, posts


def _arrivals(session: Session, list_id: int, skip: set[int], run: int = 500) -> list[Arrival]:
    """Every distributed or imported post not in ``skip``, from its raw mail, in date order
    (then post order): replies after what they answer, as in the batch algorithm, so the
    result does not depend on the order an archive was imported in."""
    arrivals: list[Arrival] = []
    after = 0
    while True:
        query = (select(Post.id, Post.sender, Inbound.raw, Post.created_at).join(Inbound, Inbound.id == Post.inbound_id)
                 .where(Post.list_id == list_id, Post.id > after, Post.decision.in_(("accept", "imported")))
                 .order_by(Post.id).limit(run))  # fmt: skip
        rows = session.execute(query).all()
        if not rows:
            break
        for post_id, sender, raw, created_at in rows:
            if post_id in skip:
                continue
            headers = first_values(parse_bytes(raw))
            own = own_message_id(headers) or synthetic_id(content_hash(raw))
            date = message_date(headers)
            when = min(date, created_at) if date is not None else created_at
            arrivals.append(Arrival(post_id, thread_input(headers, own, when), sender, post_id))
        after = rows[-1][0]
    arrivals.sort(key=lambda arrival: (arrival.msg.date or datetime.max, arrival.ref))
    return arrivals


def _reuse(plan: Plan, old: dict[frozenset[int], int]) -> dict[str, int]:
    """New discussion key -> old id, where the posts are exactly the old discussion's."""
    posts: dict[str, set[int]] = {facts.key: set() for facts in plan.new_discussions}
    for placed in plan.inserts:
        if placed.ref is not None and placed.discussion_key in posts:
            posts[placed.discussion_key].add(placed.ref)
    return {key: old[frozenset(members)] for key, members in posts.items() if frozenset(members) in old}


def rethread(sessions: Callable[[], Session], lst: ListInfo, now: datetime) -> Rethread:
    """Thread the whole list again with today's rules, in one transaction (see the module doc)."""
    with sessions() as session, session.begin():
        lock_threads(session, lst.id)
        moderated = _moderated(session, lst.id)
        snapshot, ids, moderated_posts = _snapshot(session, lst.id, moderated)
        old = _membership(session, lst.id, moderated)
        arrivals = _arrivals(session, lst.id, moderated_posts)
        plan = plan_threads(
            arrivals, snapshot, on_duplicate=OnDuplicate.FRESH_ID, prefixes=list_prefixes(lst.subject_prefix)
        )
        kept = _reuse(plan, old)
        gone = set(old.values()) - set(kept.values())
        session.execute(delete(CONTAINERS).where(CONTAINERS.c.list_id == lst.id,
                                                 CONTAINERS.c.discussion_id.not_in(moderated or {-1})))  # fmt: skip
        for batch in in_chunks(sorted(gone)):
            session.execute(delete(DISCUSSIONS).where(DISCUSSIONS.c.id.in_(batch)))
        if kept:
            rekey = update(DISCUSSIONS).where(DISCUSSIONS.c.id == bindparam("did")).values(key=bindparam("new_key"))
            # free the keys first: two kept discussions may swap keys
            session.execute(rekey, [dict(did=did, new_key=f"#rethread-{did}") for did in kept.values()])
            session.execute(rekey, [dict(did=did, new_key=key) for key, did in kept.items()])
        ids.update(kept)
        fresh = tuple(facts for facts in plan.new_discussions if facts.key not in kept)
        changed = plan.changed_discussions + tuple(facts for facts in plan.new_discussions if facts.key in kept)
        plan = replace(plan, new_discussions=fresh, changed_discussions=changed)
        save_plan(session, lst.id, plan, ids, {a.ref: a.ref for a in arrivals}, now)
        return Rethread(len(plan.placed_arrivals()), len(kept), len(fresh), len(gone), len(moderated))
