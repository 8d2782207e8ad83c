"""One member's own record, for `stats` by mail: their stage, why, since when, and the history.

Only the discussions they posted in are read, so answering a member costs a few queries,
not the whole list's assessment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from listserv.discussions.tables import ThreadContainer
from listserv.engagement.facts import count_facts
from listserv.engagement.rules import assess
from listserv.engagement.store import (
    history,
    latest_stages,
    load_discussions,
    load_rules,
    member_rows,
    stream_posts,
    window_start,
)
from listserv.store.schema import Post


def their_discussions(list_id: int, email: str, since: datetime | None) -> Select[int]:
    query = (select(ThreadContainer.discussion_id).join(Post, Post.id == ThreadContainer.post_id)
             .where(ThreadContainer.list_id == list_id, Post.sender == email).distinct())  # fmt: skip
    return query.where(ThreadContainer.posted_at >= since) if since is not None else query


def member_record(session: Session, list_id: int, email: str, now: datetime) -> str:
    """The record in words (the member is known to be profiled)."""
    rules = load_rules(session, list_id)
    since = window_start(rules, now)
    within = their_discussions(list_id, email, since)
    discussions = load_discussions(session, list_id, since, within)
    starters = {d.started_by for d in discussions.values()} | {email}
    members = member_rows(session, list_id, starters)
    facts = next(f for f in count_facts(members, discussions, stream_posts(session, list_id, since, now, within), since)
                 if f.email == email)  # fmt: skip
    found = assess(facts, rules)
    recorded = latest_stages(session, list_id, [email]).get(email)
    reached = recorded.since if recorded is not None and recorded.stage == found.stage else now
    lines = [f"Stage {int(found.stage)} of 5: {found.stage.label}, since {reached:%Y-%m-%d}",
             "Why: " + "; ".join(found.reasons)]  # fmt: skip
    past = history(session, list_id, email)
    if past:
        lines.append("Before: " + "; ".join(f"{since:%Y-%m-%d} stage {int(stage)}" for stage, since, _ in past))
    return "\n".join(lines)
