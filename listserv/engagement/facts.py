"""Count what each member did, from the list's delivered posts and discussions. Pure.

The store hands over plain rows (listserv.engagement.store); this module walks them once,
discussion by discussion, and never holds more than the window's posts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from listserv.digest.questions import looks_like_question
from listserv.engagement.rules import Facts

NEWCOMER_DAYS = 30  # a discussion started this soon after its starter joined is a newcomer's
SKEW = timedelta(days=1)  # a Date header may run behind the joining by this much
EXCHANGE_PEOPLE = 3  # an exchange: a discussion with this many people, each member posting twice


@dataclass(frozen=True)
class MemberRow:
    email: str
    joined: datetime
    facilitator: bool = False


@dataclass(frozen=True)
class DiscussionRow:
    id: int
    started_by: str
    started_at: datetime | None
    subject: str


@dataclass(frozen=True)
class PostRow:
    discussion_id: int
    message_id: str
    parent_id: str | None
    sender: str
    posted_at: datetime


@dataclass
class Tally:
    posts: int = 0
    replies: int = 0
    started: int = 0
    started_joined: int = 0
    answers: int = 0
    newcomers_answered: int = 0
    exchanges: int = 0
    drawn: set[str] = field(default_factory=set)
    last_post: datetime | None = None


def is_newcomer_discussion(discussion: DiscussionRow, joined: dict[str, datetime]) -> bool:
    joined_at = joined.get(discussion.started_by)
    return (
        joined_at is not None
        and discussion.started_at is not None
        and -SKEW <= discussion.started_at - joined_at <= timedelta(days=NEWCOMER_DAYS)
    )


def count_discussion(discussion: DiscussionRow, posts: list[PostRow], joined: dict[str, datetime],
                     since: datetime | None, tallies: defaultdict[str, Tally]) -> None:  # fmt: skip
    """One discussion's posts (those in the window, from `since` on) added to their authors' tallies."""
    starter = discussion.started_by
    per_person = Counter(post.sender for post in posts)
    for post in posts:
        tally = tallies[post.sender]
        tally.posts += 1
        tally.last_post = max(tally.last_post or post.posted_at, post.posted_at)
        if post.sender != starter:
            tally.replies += 1
    started_in_window = discussion.started_at is not None and (since is None or discussion.started_at >= since)
    if starter in per_person and started_in_window:
        tallies[starter].started += 1
        if len(per_person.keys() - {starter}) >= 2:
            tallies[starter].started_joined += 1
    responders = per_person.keys() - {starter}
    if responders and looks_like_question(discussion.subject, ""):
        for person in responders:
            tallies[person].answers += 1
    if responders and is_newcomer_discussion(discussion, joined):
        for person in responders:
            tallies[person].newcomers_answered += 1
    if len(per_person) >= EXCHANGE_PEOPLE:
        for person, count in per_person.items():
            if count >= 2:
                tallies[person].exchanges += 1
    author = {post.message_id: post.sender for post in posts}
    for post in posts:
        parent = author.get(post.parent_id or "")
        if parent is not None and parent != post.sender:
            tallies[parent].drawn.add(post.sender)


def count_facts(members: Iterable[MemberRow], discussions: dict[int, DiscussionRow], posts: Iterable[PostRow],
                since: datetime | None) -> list[Facts]:  # fmt: skip
    """Facts per member from the posts since `since` (None: all), ordered by discussion, then by time."""
    roster = {member.email: member for member in members}
    tallies = count_tallies(discussions, posts, {email: member.joined for email, member in roster.items()}, since)
    return [facts_of(member, tallies.get(member.email)) for member in roster.values()]


def count_tallies(discussions: dict[int, DiscussionRow], posts: Iterable[PostRow], joined: dict[str, datetime],
                  since: datetime | None) -> dict[str, Tally]:  # fmt: skip
    """Each author's tally; `joined` needs only the discussions' starters (for newcomers' discussions)."""
    tallies: defaultdict[str, Tally] = defaultdict(Tally)
    current: list[PostRow] = []
    for post in posts:
        if current and post.discussion_id != current[0].discussion_id:
            count_discussion(discussions[current[0].discussion_id], current, joined, since, tallies)
            current = []
        current.append(post)
    if current:
        count_discussion(discussions[current[0].discussion_id], current, joined, since, tallies)
    return tallies


def facts_of(member: MemberRow, tally: Tally | None) -> Facts:
    if tally is None:
        return Facts(member.email, member.joined, member.facilitator)
    return Facts(
        member.email, member.joined, member.facilitator, posts=tally.posts, replies=tally.replies,
        started=tally.started, started_joined=tally.started_joined, answers=tally.answers,
        newcomers_answered=tally.newcomers_answered, exchanges=tally.exchanges, drawn=len(tally.drawn),
        last_post=tally.last_post,
    )  # fmt: skip
