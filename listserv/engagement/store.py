"""Engagement's storage: the rows the rules read, the settings, and the history of stages.

Only mail the engine received counts: delivered posts and the discussions they form. A
member who sets `profiled` to no is left out, and their history is dropped at the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVarTuple, Unpack, cast

from sqlalchemy import Select, Table, delete, func, insert, select
from sqlalchemy.orm import Session

from listserv.discussions.tables import Discussion, ThreadContainer
from listserv.engagement.facts import (
    DiscussionRow,
    MemberRow,
    PostRow,
    Tally,
    count_facts,
    count_tallies,
    facts_of,
)
from listserv.engagement.rules import Assessment, Facts, Rules, Stage, assess, parse_rules, rules_problem
from listserv.engagement.tables import EngagementRun, MemberStage
from listserv.mail.addresses import normalize_address
from listserv.store.admin import ListSetting, optional
from listserv.store.queries import IN_CHUNK, in_chunks
from listserv.store.schema import MailingList, Member, Post

ENGAGEMENT_SETTINGS = {
    "stage_rules": ListSetting(str, check=optional(rules_problem),
                               help="engagement thresholds, e.g. 'window_weeks=12 information_replies=2'"),
    "engagement_report": ListSetting(str, ("weekly", "off"),
                                     help="the facilitators' weekly report, at the digest's weekly time"),
}  # fmt: skip
ENGAGEMENT_MEMBER_SETTINGS = {
    "profiled": ListSetting(bool, help="whether this member's engagement stage is worked out and kept"),
}
STREAM_ROWS = 2000
PAGE = IN_CHUNK  # members (and addresses in an IN list) a statement
Seen = Callable[[Facts, Assessment], None]
HISTORY = cast(Table, MemberStage.__table__)
Row = TypeVarTuple("Row")


@dataclass(frozen=True)
class Assessed:
    """A member's facts and assessment, and since when they have been at that stage."""

    facts: Facts
    assessment: Assessment
    since: datetime


@dataclass(frozen=True)
class ListEngagement:
    list_id: int
    address: str
    rules: Rules
    at: datetime
    members: tuple[Assessed, ...]
    opted_out: int


class Addresses(dict[str, str]):
    """normalize_address, remembered: a few members write most posts and start most discussions."""

    def __call__(self, raw: str) -> str:
        found = self.get(raw)
        return found if found is not None else self.setdefault(raw, normalize_address(raw))


def load_rules(session: Session, list_id: int) -> Rules:
    """The list's thresholds; a stored value that no longer parses falls back to the defaults."""
    text = session.get_one(MailingList, list_id).stage_rules
    return Rules() if rules_problem(text) else parse_rules(text)


def window_start(rules: Rules, now: datetime) -> datetime | None:
    return now - timedelta(weeks=rules.window_weeks) if rules.window_weeks else None


def load_members(session: Session, list_id: int) -> tuple[list[MemberRow], int]:
    """The profiled members, and how many opted out."""
    rows = session.execute(select(Member.email, Member.created_at, Member.role, Member.profiled)
                           .where(Member.list_id == list_id).order_by(Member.email))  # fmt: skip
    members, opted_out = [], 0
    for email, joined, role, profiled in rows:
        if profiled:
            members.append(MemberRow(normalize_address(email), joined, role == "facilitator"))
        else:
            opted_out += 1
    return members, opted_out


def load_discussions(session: Session, list_id: int, since: datetime | None,
                     within: Select[int] | None = None) -> dict[int, DiscussionRow]:  # fmt: skip
    """The list's discussions active since `since` (or only those `within` names)."""
    query = select(Discussion.id, Discussion.started_by, Discussion.first_activity, Discussion.subject).where(
        Discussion.list_id == list_id
    )
    if since is not None:
        query = query.where(Discussion.last_activity >= since)
    if within is not None:
        query = query.where(Discussion.id.in_(within))
    address = Addresses()
    return {
        row[0]: DiscussionRow(row[0], address(row[1]), row[2], row[3])
        for row in session.execute(query.execution_options(yield_per=STREAM_ROWS))
    }


def stream_posts(session: Session, list_id: int, since: datetime | None, until: datetime,
                 within: Select[int] | None = None) -> Iterator[PostRow]:  # fmt: skip
    """Delivered posts (those threaded into a discussion), by discussion, then by time."""
    query = (
        select(ThreadContainer.discussion_id, ThreadContainer.message_id, ThreadContainer.parent_id, Post.sender,
               ThreadContainer.posted_at)
        .join(Post, Post.id == ThreadContainer.post_id)
        .where(ThreadContainer.list_id == list_id, ThreadContainer.posted_at.is_not(None),
               ThreadContainer.posted_at <= until)
        .order_by(ThreadContainer.discussion_id, ThreadContainer.posted_at, ThreadContainer.id)
    )  # fmt: skip
    if since is not None:
        query = query.where(ThreadContainer.posted_at >= since)
    if within is not None:
        query = query.where(ThreadContainer.discussion_id.in_(within))
    address = Addresses()
    for row in session.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield PostRow(row[0], row[1], row[2], address(row[3]), row[4] or until)


def latest_stages(session: Session, list_id: int, emails: list[str] | None = None) -> dict[str, MemberStage]:
    """Each member's latest recorded stage (only these members' with `emails`)."""
    if emails is not None:  # their few rows each, oldest first: the latest wins
        if not emails:
            return {}
        span = MemberStage.email.between(min(emails), max(emails))  # an index range whatever the planner's statistics
        rows = session.scalars(select(MemberStage).where(MemberStage.list_id == list_id, span,
                                                         MemberStage.email.in_(emails))
                               .order_by(MemberStage.email, MemberStage.since))  # fmt: skip
        return {row.email: row for row in rows}
    return {row.email: row for row in session.scalars(latest_rows(select(MemberStage), list_id))}


def latest_rows(query: Select[Unpack[Row]], list_id: int, until: datetime | None = None) -> Select[Unpack[Row]]:
    """`query` of member_stages limited to each member's latest row (by `until`, if given)."""
    newest = select(MemberStage.email, func.max(MemberStage.since).label("since")).where(MemberStage.list_id == list_id)
    if until is not None:
        newest = newest.where(MemberStage.since <= until)
    latest = newest.group_by(MemberStage.email).subquery()
    return (query.join(latest, (MemberStage.email == latest.c.email) & (MemberStage.since == latest.c.since))
            .where(MemberStage.list_id == list_id))  # fmt: skip


def assess_list(session: Session, list_id: int, now: datetime) -> ListEngagement:
    """Every profiled member's stage as of `now`, with the date they reached it (or `now`)."""
    lst = session.get_one(MailingList, list_id)
    rules = load_rules(session, list_id)
    since = window_start(rules, now)
    members, opted_out = load_members(session, list_id)
    discussions = load_discussions(session, list_id, since)
    facts = count_facts(members, discussions, stream_posts(session, list_id, since, now), since)
    recorded = latest_stages(session, list_id)
    assessed = []
    for member_facts in facts:
        assessment = assess(member_facts, rules)
        row = recorded.get(member_facts.email)
        reached = row.since if row is not None and row.stage == assessment.stage else now
        assessed.append(Assessed(member_facts, assessment, reached))
    return ListEngagement(list_id, lst.address, rules, now, tuple(assessed), opted_out)


def record_stages(sessions: Callable[[], Session], list_id: int, now: datetime, seen: Seen | None = None) -> int:
    """Assess every profiled member as of `now` and record who moved (history rows), and drop the
    history of those no longer profiled; stage changes recorded. `seen` is shown each member's
    facts and assessment. Memory is bounded by the window's discussions and posters whatever the
    list's size, and the work is done in short transactions (one per PAGE members, in address
    order), so that intake keeps its turn on SQLite. A run that stops half-way leaves the rest to
    the next one."""
    with sessions() as session, session.begin():
        rules = load_rules(session, list_id)
        since = window_start(rules, now)
        discussions = load_discussions(session, list_id, since)
        starters = member_rows(session, list_id, {discussion.started_by for discussion in discussions.values()})
        joined = {member.email: member.joined for member in starters}
        tallies = count_tallies(discussions, stream_posts(session, list_id, since, now), joined, since)
    changed, after = 0, ""
    while True:
        with sessions() as session, session.begin():
            page = member_page(session, list_id, after)
            if page is None:
                break
            members, after = page
            changed += record_page(session, list_id, members, tallies, rules, now, seen)
    last: str | None = ""
    while last is not None:
        with sessions() as session, session.begin():
            last = drop_unprofiled_history(session, list_id, last)
    return changed


def record_page(session: Session, list_id: int, members: list[MemberRow], tallies: Mapping[str, Tally],
                rules: Rules, now: datetime, seen: Seen | None = None) -> int:  # fmt: skip
    """A history row for each of these members whose stage changed. Under the run row's lock, so
    that two runs (the daily job's, the weekly report's, two nodes') never record one change twice."""
    session.execute(select(EngagementRun.list_id).where(EngagementRun.list_id == list_id).with_for_update())
    recorded = latest_stages(session, list_id, [member.email for member in members])
    changes = []
    for member in members:
        facts = facts_of(member, tallies.get(member.email))
        found = assess(facts, rules)
        if seen is not None:
            seen(facts, found)
        row = recorded.get(member.email)
        if row is None or row.stage != found.stage:
            changes.append(stage_row(list_id, member.email, found, now))
    if changes:
        session.execute(insert(HISTORY), changes)  # Core: the ORM's bulk path costs more than SQLite
    return len(changes)


def member_page(session: Session, list_id: int, after: str) -> tuple[list[MemberRow], str] | None:
    """The next PAGE members after `after` in address order (keyset): the profiled among them and
    the last address; None past the end."""
    rows = session.execute(select(Member.email, Member.created_at, Member.role, Member.profiled)
                           .where(Member.list_id == list_id, Member.email > after)
                           .order_by(Member.email).limit(PAGE)).all()  # fmt: skip
    if not rows:
        return None
    members = [MemberRow(normalize_address(email), joined, role == "facilitator")
               for email, joined, role, profiled in rows if profiled]  # fmt: skip
    return members, rows[-1][0]


def member_rows(session: Session, list_id: int, emails: set[str]) -> list[MemberRow]:
    """The rows of those of these addresses who are profiled members."""
    found = []
    for batch in in_chunks(sorted(emails)):
        query = select(Member.email, Member.created_at, Member.role).where(Member.list_id == list_id, Member.profiled,
                                                                           Member.email.in_(batch))  # fmt: skip
        found += [MemberRow(normalize_address(email), joined, role == "facilitator")
                  for email, joined, role in session.execute(query)]  # fmt: skip
    return found


def drop_unprofiled_history(session: Session, list_id: int, after: str) -> str | None:
    """Forget the history of those among the next PAGE addresses with one (after `after`) who are
    no longer profiled members (opted out, or gone); the last address, or None past the end."""
    emails = list(session.scalars(select(MemberStage.email).distinct()
                                  .where(MemberStage.list_id == list_id, MemberStage.email > after)
                                  .order_by(MemberStage.email).limit(PAGE)))  # fmt: skip
    if not emails:
        return None
    profiled = set(session.scalars(select(Member.email).where(Member.list_id == list_id, Member.profiled,
                                                               Member.email.in_(emails))))  # fmt: skip
    gone = [email for email in emails if email not in profiled]
    if gone:
        session.execute(delete(MemberStage).where(MemberStage.list_id == list_id, MemberStage.email.in_(gone)))
    return emails[-1]


def stage_row(list_id: int, email: str, assessment: Assessment, since: datetime) -> dict[str, object]:
    """A member_stages row: this member reached this stage at `since`."""
    return dict(list_id=list_id, email=email, stage=int(assessment.stage), reasons="\n".join(assessment.reasons),
                since=since)  # fmt: skip


def stage_counts_at(session: Session, list_id: int, moment: datetime) -> dict[Stage, int]:
    """Members per stage at `moment`, from the history: each member's latest change by then."""
    query = latest_rows(select(MemberStage.stage, func.count()), list_id, moment).group_by(MemberStage.stage)
    counts = dict.fromkeys(Stage, 0)
    counts.update((Stage(stage), count) for stage, count in session.execute(query))
    return counts


def claim_run(session: Session, list_id: int, now: datetime, every: timedelta) -> bool:
    """Take the list's assessment for this run, unless another node did within `every`.

    The run row is locked until the caller's transaction ends, so two nodes never both record."""
    run = session.scalar(select(EngagementRun).where(EngagementRun.list_id == list_id).with_for_update())
    if run is None:
        session.add(EngagementRun(list_id=list_id, assessed_at=now))
        session.flush()  # a racing node's insert fails here and its transaction rolls back
        return True
    if now - run.assessed_at < every:
        return False
    run.assessed_at = now
    return True


def history(session: Session, list_id: int, email: str) -> list[tuple[Stage, datetime, tuple[str, ...]]]:
    query = (select(MemberStage).where(MemberStage.list_id == list_id, MemberStage.email == email)
             .order_by(MemberStage.since))  # fmt: skip
    return [(Stage(row.stage), row.since, tuple(row.reasons.splitlines())) for row in session.scalars(query)]
