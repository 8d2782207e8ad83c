"""A member's own settings by mail (delivery mode, vacation, profile) and what they may look up (who, info, stats)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from listserv.archive.access import link_for
from listserv.archive.links import Access
from listserv.mail.permalinks import archive_base
from listserv.membership import store
from listserv.membership.commands import DELIVERY_MODES, parse_day
from listserv.membership.lifecycle import RequestOutcome, Result, event
from listserv.membership.mail import Scope
from listserv.membership.policy import vacation_end
from listserv.store.schema import Member

MAX_ROSTER = 500  # members named in a `who` answer


def set_delivery(scope: Scope, email: str, mode: str, line: str = "") -> Result:
    member = store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    if mode not in DELIVERY_MODES:
        return Result(line, RequestOutcome.PROBLEM, "expected one of: " + ", ".join(DELIVERY_MODES))
    member.delivery = mode
    event(scope, email, "delivery", mode)
    return Result(line, RequestOutcome.DELIVERY_SET, mode)


def set_vacation(scope: Scope, email: str, argument: str, line: str = "") -> Result:
    """`off`, or an ISO date: no list mail before that day (00:00 UTC); delivery resumes by itself."""
    member = store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    if argument == "off":
        member.vacation_until = None
        event(scope, email, "vacation", "off")
        return Result(line, RequestOutcome.VACATION_OFF)
    day = parse_day(argument)
    end = vacation_end(day, scope.now.date()) if day else "expected a date as YYYY-MM-DD"
    if not isinstance(end, datetime):
        return Result(line, RequestOutcome.PROBLEM, end)
    member.vacation_until = end
    event(scope, email, "vacation", f"until {end:%Y-%m-%d}")
    return Result(line, RequestOutcome.VACATION_SET, f"{end:%Y-%m-%d}")


def who(scope: Scope, email: str, line: str = "") -> Result:
    """The roster, for members of lists that allow it (`allow_who`); at most MAX_ROSTER names."""
    if not scope.policy.allow_who:
        return Result(line, RequestOutcome.WHO_CLOSED)
    if store.find_member(scope.session, scope.lst.id, email) is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    query = (select(Member.email, Member.display_name, Member.role).where(Member.list_id == scope.lst.id)
             .order_by(Member.role, Member.email).limit(MAX_ROSTER + 1))  # fmt: skip
    rows = scope.session.execute(query).all()
    lines = [f"{r[0]}{f' ({r[1]})' if r[1] else ''}{' - facilitator' if r[2] == 'facilitator' else ''}"
             for r in rows[:MAX_ROSTER]]  # fmt: skip
    if len(rows) > MAX_ROSTER:
        lines.append(f"... and more (only the first {MAX_ROSTER} are shown)")
    return Result(line, RequestOutcome.WHO, "\n".join(lines))


def info(scope: Scope, line: str = "") -> Result:
    count = store.count_members(scope.session, scope.lst.id)
    return Result(line, RequestOutcome.INFO, str(count))


MemberRecord = Callable[[Session, int, str, datetime], str]  # the member's engagement record, in words


def stats(scope: Scope, email: str, record: MemberRecord | None, line: str = "") -> Result:
    """The member's own engagement record (from the function the worker passes in)."""
    member = store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    if not member.profiled:
        return Result(line, RequestOutcome.PROFILE_OFF)
    return Result(line, RequestOutcome.STATS, record(scope.session, scope.lst.id, email, scope.now) if record else "")


def set_profile(scope: Scope, email: str, argument: str, line: str = "") -> Result:
    """`off`: the member's stage is no longer worked out and its history goes; `on`: back in."""
    member = store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    member.profiled = argument == "on"
    event(scope, email, "profile", argument)
    return Result(line, RequestOutcome.PROFILE_ON if member.profiled else RequestOutcome.PROFILE_OFF)


def archive_link(scope: Scope, email: str, line: str = "") -> Result:
    """`archive`: where the list's web archive is; for a members-only one, the member's own signed link."""
    lst, public_url = scope.lst, scope.settings.public_url
    base = archive_base(public_url, lst.local_part)
    if lst.archive_access not in (Access.PUBLIC, Access.MEMBERS) or not base:
        return Result(line, RequestOutcome.ARCHIVE_OFF)
    if lst.archive_access == Access.PUBLIC:
        return Result(line, RequestOutcome.ARCHIVE_PUBLIC, base + "/")
    if store.find_member(scope.session, lst.id, email) is None:
        return Result(line, RequestOutcome.NOT_MEMBER)
    return Result(line, RequestOutcome.ARCHIVE, link_for(scope.work, lst, email, scope.now))
