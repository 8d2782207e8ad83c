"""`listserv digest preview`: the coming issue as it stands, built by the very code a run uses,
for one named member exactly (their own copy when theirs differs), or for a delivery mode with
a note of which readers get a copy of their own and why.

The preview is of the issue as the regular schedule would send it with the posts distributed so
far: a reminder alone counts when the list wants reminders (docs/digest.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select

from listserv.digest import ledger
from listserv.digest.issue import Built, Reader, build_issue, plan_issue
from listserv.digest.model import DIGEST_MODES, SUMMARY
from listserv.digest.render import build_message
from listserv.digest.schedule import local_text
from listserv.errors import Invalid, NotFound
from listserv.store.schema import Member
from listserv.work import Work

MAX_NOTED = 20


@dataclass
class Preview:
    title: str  # what it is, for whom, when it is due
    mode: str
    raw: bytes | None  # the message; None when nothing would be sent
    notes: list[str] = field(default_factory=list)  # why nothing, or whose copy differs and how


def build_preview(work: Work, list_id: int, now: datetime, mode: str | None, member: str | None) -> Preview:
    with work.sessions() as session:
        plan = replace(plan_issue(session, list_id, now, force=True), early=False)
    built = build_issue(work.sessions, work.templates, plan, max(now, plan.start), now, work.optional_secret())
    due = local_text(plan.due, plan.config.schedule)
    if member is not None:
        return member_preview(work, list_id, built, member, mode, due, now)
    mode = mode or SUMMARY
    raw = built.shared.get(mode)
    if raw is None and built.digest.worth_sending(mode, True, plan.config.reminders):  # nobody reads it that way
        raw = build_message(work.templates, plan.config.lst, built.digest, mode, built.raws)
    preview = Preview(f"{title_of(built, mode)}, due {due}: what {mode} readers get", mode, raw)
    if raw is None:
        preview.notes.append(nothing_reason(built))
    preview.notes += differences(built, mode)
    return preview


def title_of(built: Built, mode: str) -> str:
    return built.digest.title if mode == SUMMARY else built.digest.digest_title


def nothing_reason(built: Built) -> str:
    if built.posts:
        return "nothing would be sent in this mode"
    return "nothing would be sent: no posts in this period yet (a reminder alone goes only with digest_reminders)"


def differences(built: Built, mode: str) -> list[str]:
    """One line per reader whose copy is their own, and why."""
    own = [r for r in built.own if r.mode == mode]
    current = len([r for r in own if not r.former])
    count = built.readers.get(mode, 0)
    lines = [f"{count} member{'' if count == 1 else 's'} read{'s' if count == 1 else ''} {mode}; "
             f"{current} of them with a copy of their own"]  # fmt: skip
    lines += [f"{r.email} {why_own(built, r)} (--member {r.email} shows it)" for r in own[:MAX_NOTED]]
    if len(own) > MAX_NOTED:
        lines.append(f"...and {len(own) - MAX_NOTED} more readers with a copy of their own")
    return lines


def why_own(built: Built, reader: Reader) -> str:
    received = len(reader.received & set(built.outbound_ids))
    got = f"{received} of the period's posts one by one" if received else "no post one by one"
    if reader.former:
        return f"is now in each mode and gets a last {reader.mode}, without the {received} post(s) received one by one"
    if reader.owed_posts:
        return f"received {got}: their copy leaves those out"
    return "joined in this period: their copy's welcome leaves their own name out"


def member_preview(work: Work, list_id: int, built: Built, email: str, mode: str | None, due: str,
                   now: datetime) -> Preview:  # fmt: skip
    email = email.strip().lower()
    with work.sessions() as session:
        row = session.scalar(select(Member).where(Member.list_id == list_id, Member.email == email))
        if row is None:
            raise NotFound(f"{email} is not a member of this list")
        reading = ledger.reader_modes(session, list_id, [email], now).get(email)
        delivery, vacation, expires = row.delivery, row.vacation_until, row.expires_at
    own = next((r for r in built.own if r.email == email), None)
    theirs = own.mode if own else reading or delivery
    if mode is not None and mode != theirs and theirs in DIGEST_MODES:
        raise Invalid(f"{email} reads {theirs}, not {mode}: leave out --mode to see their digest")
    preview = Preview(f"{title_of(built, theirs)}, due {due}: what {email} gets ({theirs})", theirs, None)
    personal = next((raw for e, _, raw in built.personal if e == email), None)
    if own is not None:
        preview.raw = personal
        preview.notes.append(f"{email} {why_own(built, own)}")
        if personal is None:
            preview.notes.append(f"nothing would be sent to {email}: every post of the period reached them one by one")
        return preview
    if reading is None:
        preview.notes.append(f"{email} gets no digest: {not_reading(delivery, vacation, expires, now)}")
        return preview
    preview.raw = built.shared.get(reading)
    if preview.raw is None:
        preview.notes.append(nothing_reason(built))
    return preview


def not_reading(delivery: str, vacation: datetime | None, expires: datetime | None, now: datetime) -> str:
    if expires is not None and expires <= now:
        return "their membership has expired"
    if vacation is not None and vacation > now:
        return f"they are on vacation until {vacation:%Y-%m-%d}"
    if delivery == "each":
        return "they receive every post one by one (delivery each)"
    return f"their delivery mode is {delivery}"
