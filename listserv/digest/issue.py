"""One digest issue: which period it covers and whether it is due (plan_issue), and what it
holds (build_issue), read from the database and composed by the pure digest.compose.

run.py sends issues that are due; facilitation.py previews the coming one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listserv.digest import gather, ledger
from listserv.digest.compose import compose_digest
from listserv.digest.gather import ListDigestSettings, PeriodPosts
from listserv.digest.model import DIGEST_MODES, Digest, Gathered
from listserv.digest.polls import polls_for_digest
from listserv.digest.prompts import prompts_for_digest
from listserv.digest.render import build_message
from listserv.digest.schedule import first_start, last_due, next_due, to_local, zone_of
from listserv.digest.tables import DigestIssue, IssueStatus
from listserv.discussions.steering import muted_by
from listserv.discussions.store import lock_threads
from listserv.library.model import this_week
from listserv.library.store import load_library
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
    early: bool = False  # sent before its scheduled time (`--now`, the size threshold): no reminder alone


@dataclass(frozen=True)
class IssueOutcome:
    list_address: str
    action: str  # sent | empty | preview | waiting
    issue_id: int = 0
    volume: int = 0
    number: int = 0
    recipients: int = 0
    posts: int = 0


@dataclass(frozen=True)
class Reader:
    """A reader who gets a digest of their own (receipt `partial`)."""

    email: str
    mode: str
    received: frozenset[int] = frozenset()  # outbound ids of the period's posts delivered to them one by one
    owed_posts: bool = True  # served for the posts they did not get (not only for the welcome)
    former: bool = False  # now in `each` mode: their last digest
    muted: frozenset[int] = frozenset()  # discussions they muted (discussion controls): left out


@dataclass
class Built:
    """An issue ready to commit: shared messages by mode, and personal ones."""

    digest: Digest
    posts: int
    shared: dict[str, bytes] = field(default_factory=dict)
    personal: list[tuple[str, str, bytes]] = field(default_factory=list)  # (email, mode, raw)
    excluded: set[str] = field(default_factory=set)  # readers with a copy of their own
    own: list[Reader] = field(default_factory=list)  # those readers, and why
    raws: list[bytes] = field(default_factory=list)  # the period's posts as distributed
    outbound_ids: list[int] = field(default_factory=list)  # their outbound messages
    readers: dict[str, int] = field(default_factory=dict)  # readers now, by mode


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
                     bool(draft and draft.preview_sent_at), early=cutoff is not None and due > cutoff)  # fmt: skip


def read_period(session: Session, plan: IssuePlan, end: datetime, now: datetime,
                secret: bytes = b"") -> tuple[Gathered, PeriodPosts]:  # fmt: skip
    """Everything the issue shows, read in one transaction."""
    config, lst = plan.config, plan.config.lst
    lock_threads(session, lst.id)
    posts = gather.period_posts(session, lst.id, plan.start, end)
    draft = session.get(DigestIssue, plan.draft_id) if plan.draft_id else None
    gathered = Gathered(
        lst=lst, period_start=plan.start, period_end=end, posts=tuple(posts.items),
        discussions=gather.discussions_of(session, {p.discussion_id for p in posts.items}
                                          | set(gather.highlighted_ids(session, lst.id, plan.start, end))),
        candidates=tuple(gather.question_candidates(session, lst.id, end, config.unanswered_days)),
        newcomers=tuple(gather.newcomers(session, lst.id, plan.start, end)),
        prompts=tuple(prompts_for_digest(session, lst.id, plan.start, end)),
        polls=tuple(polls_for_digest(session, lst, config.schedule, plan.start, end, now)),
        note=draft.note if draft and draft.note_state == "given" else "", note_by=draft.note_by if draft else "",
        secret=secret,
    )  # fmt: skip
    new, top = this_week(load_library(session, lst.id), plan.start, end)
    return replace(gathered, library_new=new, library_top=top), posts


def compose_for(plan: IssuePlan, gathered: Gathered) -> Digest:
    return compose_digest(gathered, plan.config.schedule, plan.volume, plan.number, plan.config.unanswered_days)


def sendable(plan: IssuePlan, digest: Digest, mode: str) -> bool:
    return digest.worth_sending(mode, not plan.early, plan.config.reminders)


def personal(
    templates: Templates, plan: IssuePlan, gathered: Gathered, posts: PeriodPosts, reader: Reader
) -> bytes | None:
    """One reader's own digest: the posts not already delivered to them one by one (None when
    they got them all), and the welcome without their own name."""
    keep = [i for i, outbound_id in enumerate(posts.outbound_ids) if outbound_id not in reader.received]
    if reader.owed_posts and not keep:
        return None
    newcomers = tuple(n for n in gathered.newcomers if n.email != reader.email)
    candidates = tuple(c for c in gathered.candidates if c.discussion_id not in reader.muted)
    subset = replace(gathered, posts=tuple(posts.items[i] for i in keep), newcomers=newcomers, candidates=candidates)
    digest = compose_for(plan, subset)
    if not sendable(plan, digest, reader.mode):
        return None
    return build_message(templates, plan.config.lst, digest, reader.mode, [posts.raws[i] for i in keep])


def own_readers(session: Session, plan: IssuePlan, posts: PeriodPosts, welcomed: Sequence[str],
                now: datetime) -> list[Reader]:  # fmt: skip
    """Readers whose digest differs from their mode's shared one: those who received some of the
    period's posts one by one, former readers now in `each` mode, and the newcomers the welcome names."""
    list_id = plan.config.lst.id
    partial = ledger.received_individually(session, list_id, posts.outbound_ids, now)
    muted = muted_by(session, list_id, {item.discussion_id for item in posts.items})
    for email, ids in muted.items():  # posts in discussions they muted are left out, as if received
        partial[email] = partial.get(email, set()) | {o for item, o in zip(posts.items, posts.outbound_ids)
                                                      if item.discussion_id in ids}  # fmt: skip
    former = ledger.former_readers(session, list_id, plan.start, plan.cutoff or now, plan.previous_id, now)
    former_got = ledger.received_individually(session, list_id, posts.outbound_ids, now, list(former))
    modes = ledger.reader_modes(session, list_id, sorted(set(partial) | set(welcomed)), now)
    readers = [Reader(e, modes[e], frozenset(got), muted=frozenset(muted.get(e, ()))) for e, got in partial.items()
               if e in modes]  # fmt: skip
    readers += [Reader(e, mode, frozenset(former_got.get(e, set())), former=True) for e, mode in former.items()]
    readers += [Reader(e, modes[e], owed_posts=False) for e in welcomed if e in modes and e not in partial]
    return readers


def build_issue(sessions: Sessions, templates: Templates, plan: IssuePlan, end: datetime, now: datetime,
                secret: bytes = b"") -> Built:  # fmt: skip
    """The issue's messages: one shared per mode, and a personal one for each reader in own_readers."""
    with sessions() as session, session.begin():
        gathered, posts = read_period(session, plan, end, now, secret)
        digest = compose_for(plan, gathered)
        readers = ledger.count_readers(session, plan.config.lst.id, now)
        own = own_readers(session, replace(plan, cutoff=end), posts, digest.welcomed, now)
    built = Built(digest, len(posts.items), excluded={r.email for r in own}, own=own, raws=posts.raws,
                  outbound_ids=posts.outbound_ids, readers=readers)  # fmt: skip
    for mode in DIGEST_MODES:
        if readers.get(mode, 0) > len([r for r in own if r.mode == mode and not r.former]):
            if sendable(plan, digest, mode):
                built.shared[mode] = build_message(templates, plan.config.lst, digest, mode, posts.raws)
    for reader in own:
        raw = personal(templates, plan, gathered, posts, reader)
        if raw is not None:
            built.personal.append((reader.email, reader.mode, raw))
    return built
