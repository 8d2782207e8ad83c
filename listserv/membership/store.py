"""Membership queries: plain functions over a Session (members, history, wait-list, steps, posts).
Tokens are in token_store.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.membership.policy import (
    ListPolicy,
    Subscription,
    WhenFull,
    parse_steps,
    steps_problem,
)
from listserv.membership.tables import (
    MembershipEvent,
    MembershipMail,
    MemberStep,
    WaitlistEntry,
)
from listserv.settings import Settings
from listserv.store.admin import ListSetting
from listserv.store.queries import rowcount
from listserv.store.schema import MailingList, Member, Post

HOUR = timedelta(hours=1)


def needs_public_url(value: object, settings: Settings) -> str | None:
    """One-click links point at public_url; without it there is nowhere public to point them."""
    if value is True and not settings.public_url:
        return "the links need public_url (the https:// address in front of http_listen): set public_url first"
    return None


MEMBERSHIP_SETTINGS = {
    "subscription_policy": ListSetting(str, tuple(Subscription), help="who may join: open, approval or invitation"),
    "guidelines": ListSetting(str, help="text newcomers accept when they confirm; empty: none"),
    "max_members": ListSetting(int, help="0: no maximum"),
    "when_full": ListSetting(str, tuple(WhenFull), help="refuse or wait-list requests when full"),
    "membership_days": ListSetting(int, help="how long a membership lasts; 0: no end"),
    "allow_who": ListSetting(bool, help="members may ask for the member list by mail"),
    "confirm_unsubscribe": ListSetting(bool, help="leaving by mail asks for a confirmation first"),
    "onboarding": ListSetting(str, check=steps_problem, help="orientation mails, e.g. '0:welcome 3:introduce'"),
    "one_click_unsubscribe": ListSetting(
        bool,
        help="RFC 8058 one-click links, one copy per member (needs public_url; unset: on when mail is DKIM-signed)",
        server_check=needs_public_url,
    ),
}


def load_membership_policy(session: Session, list_id: int) -> ListPolicy:
    row = session.get_one(MailingList, list_id)
    return ListPolicy(
        subscription=Subscription(row.subscription_policy) if row.subscription_policy in tuple(Subscription)
        else Subscription.OPEN,
        guidelines=row.guidelines, max_members=row.max_members,
        when_full=WhenFull.WAITLIST if row.when_full == WhenFull.WAITLIST else WhenFull.REFUSE,
        membership_days=row.membership_days, allow_who=row.allow_who, confirm_unsubscribe=row.confirm_unsubscribe,
        steps=parse_steps(row.onboarding), one_click=bool(row.one_click_unsubscribe),
    )  # fmt: skip


def find_member(session: Session, list_id: int, email: str) -> Member | None:
    return session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))


def count_members(session: Session, list_id: int) -> int:
    """Members (not facilitators) counted against max_members."""
    query = select(func.count()).select_from(Member).where(Member.list_id == list_id, Member.role == "member")
    return int(session.scalar(query) or 0)


def insert_member(session: Session, list_id: int, email: str, name: str, delivery: str,
                  expires_at: datetime | None, now: datetime) -> Member:  # fmt: skip
    member = Member(list_id=list_id, email=email, display_name=name, role="member", receive_own_posts=False,
                    delivery=delivery, expires_at=expires_at, vacation_until=None, created_at=now)  # fmt: skip
    session.add(member)
    session.flush()
    return member


def members_by_email(session: Session, list_id: int, emails: Sequence[str]) -> dict[str, Member]:
    """The members among these addresses (one query; keep the batch to a few thousand)."""
    query = select(Member).where(Member.list_id == list_id, Member.email.in_(emails))
    return {member.email: member for member in session.scalars(query)}


def insert_members(session: Session, rows: Sequence[Mapping[str, object]]) -> int:
    """Bulk insert members (each its column values, list_id included), skipping addresses already on
    their list; returns how many were new. Sent in bulk (executemany), never a row at a time."""
    if not rows:
        return 0
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = maker(Member).on_conflict_do_nothing(index_elements=["list_id", "email"]).returning(Member.id)
    return len(session.execute(statement, list(rows)).all())


def remove_member(session: Session, list_id: int, email: str) -> bool:
    return bool(rowcount(session.execute(delete(Member).where(Member.list_id == list_id, Member.email == email))))


def add_event(session: Session, list_id: int, email: str, event: str, detail: str, now: datetime) -> None:
    session.add(MembershipEvent(list_id=list_id, email=email, event=event, detail=detail[:2000], at=now))


@dataclass(frozen=True)
class EventRow:
    event: str
    detail: str
    at: datetime


def history(session: Session, list_id: int, email: str) -> list[EventRow]:
    query = (select(MembershipEvent).where(MembershipEvent.list_id == list_id, MembershipEvent.email == email)
             .order_by(MembershipEvent.id))  # fmt: skip
    return [EventRow(e.event, e.detail, e.at) for e in session.scalars(query)]


def prune_replies(session: Session, now: datetime) -> int:
    """The reply counts matter for an hour; keep a day of them."""
    return rowcount(session.execute(delete(MembershipMail).where(MembershipMail.at < now - timedelta(days=1))))


def note_reply(session: Session, address: str, kind: str, now: datetime, limit: int) -> bool:
    """Count a reply to address; False (and nothing counted) when `limit` went within the hour."""
    query = select(func.count()).select_from(MembershipMail).where(
        MembershipMail.address == address, MembershipMail.at > now - HOUR)  # fmt: skip
    if int(session.scalar(query) or 0) >= limit:
        return False
    session.add(MembershipMail(address=address, kind=kind, at=now))
    return True


# -- steps, wait-list, posts ---------------------------------------------------------------------


def claim_step(session: Session, list_id: int, email: str, step: str, status: str, now: datetime) -> bool:
    """Record a step for a member; False when it was recorded already (by us or another node)."""
    try:
        with session.begin_nested():
            session.add(MemberStep(list_id=list_id, email=email, step=step, status=status, at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def set_step_status(session: Session, list_id: int, email: str, step: str, status: str) -> None:
    session.execute(update(MemberStep).where(MemberStep.list_id == list_id, MemberStep.email == email,
                                             MemberStep.step == step).values(status=status))  # fmt: skip


@dataclass(frozen=True)
class StepRow:
    step: str
    status: str
    at: datetime


def steps_of(session: Session, list_id: int, email: str) -> list[StepRow]:
    query = select(MemberStep).where(MemberStep.list_id == list_id, MemberStep.email == email).order_by(MemberStep.id)
    return [StepRow(s.step, s.status, s.at) for s in session.scalars(query)]


def forget_steps(session: Session, list_id: int, email: str, prefix: str = "") -> None:
    """Forget a member's steps (those starting with prefix): a member who leaves and rejoins
    starts the orientation again; one who renews gets the next period's reminders."""
    session.execute(delete(MemberStep).where(MemberStep.list_id == list_id, MemberStep.email == email,
                                             MemberStep.step.startswith(prefix, autoescape=True)))  # fmt: skip


def waitlist_add(session: Session, list_id: int, email: str, name: str, delivery: str, now: datetime) -> int:
    """Put someone on the wait-list (once); returns their position."""
    try:
        with session.begin_nested():
            session.add(WaitlistEntry(list_id=list_id, email=email, display_name=name, delivery=delivery,
                                      created_at=now))  # fmt: skip
            session.flush()
    except IntegrityError:
        pass
    return waitlist_position(session, list_id, email)


def waitlist_position(session: Session, list_id: int, email: str) -> int:
    mine = select(WaitlistEntry.id).where(WaitlistEntry.list_id == list_id, WaitlistEntry.email == email)
    my_id = session.scalar(mine)
    if my_id is None:
        return 0
    ahead = select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.list_id == list_id,
                                                                  WaitlistEntry.id <= my_id)  # fmt: skip
    return int(session.scalar(ahead) or 0)


@dataclass(frozen=True)
class Waiting:
    email: str
    display_name: str
    delivery: str


def waitlist_take(session: Session, list_id: int, count: int) -> list[Waiting]:
    """Take the `count` oldest entries off the wait-list (each one by exactly one node)."""
    query = (select(WaitlistEntry).where(WaitlistEntry.list_id == list_id).order_by(WaitlistEntry.id)
             .limit(count).with_for_update(skip_locked=True))  # fmt: skip
    taken = []
    for entry in list(session.scalars(query)):
        if rowcount(session.execute(delete(WaitlistEntry).where(WaitlistEntry.id == entry.id))):
            taken.append(Waiting(entry.email, entry.display_name, entry.delivery))
    return taken


def waitlist_remove(session: Session, list_id: int, email: str) -> bool:
    query = delete(WaitlistEntry).where(WaitlistEntry.list_id == list_id, WaitlistEntry.email == email)
    return bool(rowcount(session.execute(query)))


def lists_with_waitlist(session: Session) -> list[int]:
    return list(session.scalars(select(WaitlistEntry.list_id).distinct()))


def has_posted(session: Session, list_id: int, email: str) -> bool:
    query = select(Post.id).where(Post.list_id == list_id, Post.sender == email, Post.decision == "accept")
    return session.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class Suggestion:
    subject: str
    sender: str
    message_id: str
    at: datetime


def unanswered_discussions(session: Session, list_id: int, email: str, now: datetime, days: int = 30,
                           limit: int = 3) -> list[Suggestion]:  # fmt: skip
    """Recent discussions nobody has answered yet (thread starts without a reply), newest first."""
    reply = Post.__table__.alias("reply")
    answered = exists().where(
        reply.c.list_id == Post.list_id,
        or_(reply.c.in_reply_to == Post.message_id, reply.c.references.contains(Post.message_id)),
        reply.c.id != Post.id,
    )
    query = (
        select(Post.subject, Post.sender, Post.message_id, Post.created_at)
        .where(Post.list_id == list_id, Post.decision == "accept", Post.in_reply_to == "", Post.references == "")
        .where(Post.sender != email, Post.created_at > now - timedelta(days=days), ~answered)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return [Suggestion(r[0], r[1], r[2], r[3]) for r in session.execute(query)]


def members_due(session: Session, list_id: int, step: str, joined_after: datetime, joined_before: datetime,
                enrolled: str, limit: int) -> list[tuple[str, str]]:  # fmt: skip
    """(email, name) of enrolled members who joined in the window and have not had the step."""
    done = exists().where(MemberStep.list_id == list_id, MemberStep.email == Member.email, MemberStep.step == step)
    enrolled_ = exists().where(MemberStep.list_id == list_id, MemberStep.email == Member.email,
                               MemberStep.step == enrolled)  # fmt: skip
    query = (
        select(Member.email, Member.display_name)
        .where(Member.list_id == list_id, Member.created_at > joined_after, Member.created_at <= joined_before)
        .where(enrolled_, ~done)
        .order_by(Member.id)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in session.execute(query)]


def expiring(session: Session, after: datetime, up_to: datetime, step: str,
             limit: int) -> list[tuple[int, str, datetime]]:  # fmt: skip
    """(list id, email, expiry) of members expiring in (after, up_to] who have not had the `step` reminder."""
    reminded = exists().where(MemberStep.list_id == Member.list_id, MemberStep.email == Member.email,
                              MemberStep.step == step)  # fmt: skip
    query = (
        select(Member.list_id, Member.email, Member.expires_at)
        .where(and_(Member.expires_at.is_not(None), Member.expires_at > after, Member.expires_at <= up_to))
        .where(~reminded)
        .order_by(Member.expires_at)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in session.execute(query) if r[2] is not None]


def expired(session: Session, now: datetime, limit: int) -> list[tuple[int, str]]:
    query = (select(Member.list_id, Member.email).where(Member.expires_at.is_not(None), Member.expires_at <= now)
             .order_by(Member.expires_at).limit(limit))  # fmt: skip
    return [(r[0], r[1]) for r in session.execute(query)]


def remove_expired(session: Session, list_id: int, email: str, now: datetime) -> bool:
    """Claim an expiry: delete the member only if still expired (another node may have done it)."""
    query = delete(Member).where(Member.list_id == list_id, Member.email == email, Member.expires_at <= now)
    return bool(rowcount(session.execute(query)))


def lists_with_onboarding(session: Session) -> list[int]:
    return list(session.scalars(select(MailingList.id).where(MailingList.onboarding != "").order_by(MailingList.id)))
