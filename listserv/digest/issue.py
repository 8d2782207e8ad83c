"""One digest issue: which period it covers and whether it is due (plan_issue), and what it
holds (build_issue), read from the database and composed by the pure digest.compose.

run.py sends issues that are due; facilitation.py previews the coming one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.digest import gather, ledger
from listserv.digest.compose import compose_digest
from listserv.digest.gather import ListDigestSettings, PeriodPosts
from listserv.digest.model import DIGEST_MODES, SUMMARY, Digest, Gathered
from listserv.digest.polls import polls_for_digest
from listserv.digest.prompts import prompts_for_digest
from listserv.digest.render import build_message
from listserv.digest.schedule import first_start, last_due, next_due, to_local, zone_of
from listserv.digest.tables import DigestIssue, IssueStatus
from listserv.discussions.store import lock_threads
from listserv.render import Templates

Sessions = Callable[[], Session]


@dataclass(frozen=True)
class IssuePlan:
    config: ListDigestSettings
    start: datetime
    due: datetime  # the scheduled end of this period
    cutoff: datetime | None  # where this issue ends if it is to be sent now, else None
    draft_id: int | None
    previous_id: int | None  # the last issue sent
    volume: int
    number: int
    preview_sent: bool


@dataclass(frozen=True)
class IssueOutcome:
    list_address: str
    action: str  # sent | empty | preview | waiting
    issue_id: int = 0
    volume: int = 0
    number: int = 0
    recipients: int = 0
    posts: int = 0


@dataclass
class Built:
    """An issue ready to commit: shared messages by mode, and personal ones."""

    digest: Digest
    posts: int
    shared: dict[str, bytes] = field(default_factory=dict)
    personal: list[tuple[str, str, bytes]] = field(default_factory=list)  # (email, mode, raw)
    excluded: set[str] = field(default_factory=set)  # readers served one by one


def numbering(session: Session, list_id: int, config: ListDigestSettings, cutoff: datetime) -> tuple[int, int]:
    """(volume, number): a volume per year in the list's zone since its first issue; numbers restart."""
    zone = zone_of(config.schedule)
    sent = select(func.min(DigestIssue.period_end)).where(DigestIssue.list_id == list_id,
                                                          DigestIssue.status == IssueStatus.SENT)  # fmt: skip
    first = session.scalar(sent)
    volume = 1 + (to_local(cutoff, zone).year - to_local(first, zone).year if first else 0)
    count = session.scalar(select(func.count()).where(DigestIssue.list_id == list_id, DigestIssue.volume == volume,
                                                      DigestIssue.status == IssueStatus.SENT))  # fmt: skip
    return volume, int(count or 0) + 1


def plan_issue(session: Session, list_id: int, now: datetime, force: bool) -> IssuePlan:
    config = gather.load_digest_settings(session, list_id)
    schedule = config.schedule
    done = (IssueStatus.SENT, IssueStatus.EMPTY)
    last = session.scalar(select(DigestIssue).where(DigestIssue.list_id == list_id, DigestIssue.status.in_(done))
                          .order_by(DigestIssue.period_end.desc()).limit(1))  # fmt: skip
    start = last.period_end if last else first_start(schedule, now, config.created_at)
    draft = session.scalar(select(DigestIssue).where(DigestIssue.list_id == list_id, DigestIssue.period_start == start,
                                                     DigestIssue.status == IssueStatus.DRAFT))  # fmt: skip
    due = next_due(schedule, start)
    cutoff: datetime | None = None
    if force:
        cutoff = now
    elif due <= now:
        cutoff = last_due(schedule, now)
    elif schedule.size_threshold and gather.count_period_posts(session, list_id, start, now) >= schedule.size_threshold:
        cutoff = now
    if cutoff is not None and cutoff <= start:
        cutoff = None
    previous = session.scalar(select(DigestIssue.id).where(DigestIssue.list_id == list_id,
                                                           DigestIssue.status == IssueStatus.SENT)
                              .order_by(DigestIssue.period_end.desc()).limit(1))  # fmt: skip
    volume, number = numbering(session, list_id, config, cutoff or due)
    return IssuePlan(config, start, due, cutoff, draft.id if draft else None, previous, volume, number,
                bool(draft and draft.preview_sent_at))  # fmt: skip


def read_period(session: Session, plan: IssuePlan, end: datetime, now: datetime) -> tuple[Gathered, PeriodPosts]:
    """Everything the issue shows, read in one transaction."""
    config, lst = plan.config, plan.config.lst
    lock_threads(session, lst.id)
    posts = gather.period_posts(session, lst.id, plan.start, end)
    draft = session.get(DigestIssue, plan.draft_id) if plan.draft_id else None
    gathered = Gathered(
        lst=lst, period_start=plan.start, period_end=end, posts=tuple(posts.items),
        discussions=gather.discussions_of(session, {p.discussion_id for p in posts.items}),
        candidates=tuple(gather.question_candidates(session, lst.id, end, config.unanswered_days)),
        newcomers=tuple(gather.newcomers(session, lst.id, plan.start, end)),
        first_posters=gather.first_posters(session, lst.id, {p.author for p in posts.items}, plan.start),
        prompts=tuple(prompts_for_digest(session, lst.id, plan.start, end)),
        polls=tuple(polls_for_digest(session, lst, config.schedule, plan.start, end, now)),
        note=draft.note if draft and draft.note_state == "given" else "", note_by=draft.note_by if draft else "",
    )  # fmt: skip
    return gathered, posts


def compose_for(plan: IssuePlan, gathered: Gathered) -> Digest:
    return compose_digest(gathered, plan.config.schedule, plan.volume, plan.number, plan.config.unanswered_days)


def personal(templates: Templates, plan: IssuePlan, gathered: Gathered, posts: PeriodPosts, mode: str,
             received: set[int]) -> bytes | None:  # fmt: skip
    """A digest of only the posts not already delivered one by one; None when none are left."""
    keep = [i for i, outbound_id in enumerate(posts.outbound_ids) if outbound_id not in received]
    if not keep:
        return None
    subset = replace(gathered, posts=tuple(posts.items[i] for i in keep))
    return build_message(templates, plan.config.lst, compose_for(plan, subset), mode, [posts.raws[i] for i in keep])


def build_issue(sessions: Sessions, templates: Templates, plan: IssuePlan, end: datetime, now: datetime) -> Built:
    with sessions() as session, session.begin():
        gathered, posts = read_period(session, plan, end, now)
        readers = ledger.count_readers(session, plan.config.lst.id, now)
        partial = ledger.received_individually(session, plan.config.lst.id, posts.outbound_ids, now)
        former = ledger.former_readers(session, plan.config.lst.id, plan.start, end, plan.previous_id, now)
        former_got = ledger.received_individually(session, plan.config.lst.id, posts.outbound_ids, now, list(former))
        modes = {m.email: m.delivery for m in session.execute(
            select(ledger.MEMBERS.c.email, ledger.MEMBERS.c.delivery).where(
                ledger.MEMBERS.c.list_id == plan.config.lst.id, ledger.MEMBERS.c.email.in_(sorted(partial))))}  # fmt: skip
    digest = compose_for(plan, gathered)
    built = Built(digest, len(posts.items), excluded=set(partial))
    for mode in DIGEST_MODES:
        if readers.get(mode, 0) > len([e for e in partial if modes.get(e) == mode]):
            if digest.posts or (mode == SUMMARY and digest.has_content):
                built.shared[mode] = build_message(templates, plan.config.lst, digest, mode, posts.raws)
    for email, got in list(partial.items()) + [(e, former_got.get(e, set())) for e in former]:
        mode = modes.get(email) or former[email]
        raw = personal(templates, plan, gathered, posts, mode, got)
        if raw is not None:
            built.personal.append((email, mode, raw))
    return built
