"""Joining and leaving: gather facts, decide (policy.py), apply and mail. Runs inside the caller's
transaction (the worker's, a job's or a CLI command's), at the scope's `now`."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

import jinja2

from listserv.mail.addresses import address_problem
from listserv.mail.message import ListStatus
from listserv.membership import store, token_store
from listserv.membership.mail import Scope, answer_request, send, send_with
from listserv.membership.policy import (
    ENROLLED,
    Admission,
    ConfirmLimits,
    JoinFacts,
    JoinOutcome,
    decide_admission,
    decide_join,
    expiry_for,
    free_places,
    is_full,
    renewed_expiry,
)

log = logging.getLogger(__name__)


class RequestOutcome(StrEnum):
    """What a request did; templates/membership-reply.txt.j2 words each one."""

    CONFIRM_SENT = "confirm-sent"
    INVITED = "invited"
    PENDING = "pending"
    RATE_LIMITED = "rate-limited"
    BAD_ADDRESS = "bad-address"
    ALREADY_MEMBER = "already-member"
    INVITATION_ONLY = "invitation-only"
    CLOSED = "closed"  # the list is closed: it takes no new members
    FULL = "full"  # a request to join a full list: refused at once
    REFUSED_FULL = "refused-full"  # confirmed, but the list is full now: told by mail
    WAITLISTED = "waitlisted"
    JOINED = "joined"
    AWAITING_APPROVAL = "awaiting-approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEED_VERDICT = "need-verdict"
    NOT_AUTHORISED = "not-authorised"
    ALREADY_DECIDED = "already-decided"
    ANSWERED = "answered"  # answered by its own mail to someone else (the facilitator)
    BAD_TOKEN = "bad-token"
    LEFT = "left"
    LEFT_WAITLIST = "left-waitlist"
    LEAVE_CONFIRM_SENT = "leave-confirm-sent"
    NOT_MEMBER = "not-member"
    DELIVERY_SET = "delivery-set"
    VACATION_SET = "vacation-set"
    VACATION_OFF = "vacation-off"
    RENEWED = "renewed"
    NO_EXPIRY = "no-expiry"
    WHO = "who"
    WHO_CLOSED = "who-closed"
    INFO = "info"
    STATS = "stats"  # the member's engagement record (detail: its text)
    ARCHIVE = "archive"  # the member's archive link (detail: the link)
    ARCHIVE_PUBLIC = "archive-public"  # the archive is open to all (detail: its address)
    ARCHIVE_OFF = "archive-off"  # the list has no web archive
    PROFILE_OFF = "profile-off"
    PROFILE_ON = "profile-on"
    HELP = "help"
    PROBLEM = "problem"
    UNKNOWN = "unknown"


# Outcomes whose own mail (confirmation, welcome, goodbye, ...) already answers the sender.
SELF_ANSWERED = frozenset({RequestOutcome.CONFIRM_SENT, RequestOutcome.JOINED, RequestOutcome.LEFT, RequestOutcome.LEAVE_CONFIRM_SENT,
                           RequestOutcome.WAITLISTED, RequestOutcome.AWAITING_APPROVAL, RequestOutcome.REFUSED_FULL,
                           RequestOutcome.ANSWERED})  # fmt: skip
# Outcomes that must not produce mail at all (subscription bombing).
SILENT = frozenset({RequestOutcome.PENDING, RequestOutcome.RATE_LIMITED})
JOIN_OUTCOMES = {
    JoinOutcome.BAD_ADDRESS: RequestOutcome.BAD_ADDRESS, JoinOutcome.ALREADY_MEMBER: RequestOutcome.ALREADY_MEMBER,
    JoinOutcome.INVITATION_ONLY: RequestOutcome.INVITATION_ONLY, JoinOutcome.FULL: RequestOutcome.FULL,
    JoinOutcome.PENDING: RequestOutcome.PENDING, JoinOutcome.RATE_LIMITED: RequestOutcome.RATE_LIMITED,
    JoinOutcome.CONFIRM: RequestOutcome.CONFIRM_SENT,
}  # fmt: skip


@dataclass(frozen=True)
class Result:
    line: str  # the command as written ("" for a whole mail)
    outcome: RequestOutcome
    detail: str = ""


def limits(scope: Scope) -> ConfirmLimits:
    return ConfirmLimits(scope.settings.confirm_limit_per_address, scope.settings.confirm_limit_per_sender)


def guidelines_version(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def event(scope: Scope, email: str, name: str, detail: str = "") -> None:
    store.add_event(scope.session, scope.lst.id, email, name, detail, scope.now)


def request_join(scope: Scope, email: str, *, name: str = "", delivery: str = "each", requester: str = "",
                 by_operator: bool = False, in_reply_to: str = "") -> RequestOutcome:  # fmt: skip
    """Someone asks to join (by mail, or an operator on their behalf): send a confirmation, or say why not."""
    session, lst = scope.session, scope.lst
    if lst.status is not ListStatus.OPEN:
        return RequestOutcome.CLOSED
    problem = address_problem(email)
    facts = JoinFacts(
        address_problem=problem,
        is_member=not problem and store.find_member(session, lst.id, email) is not None,
        full=is_full(store.count_members(session, lst.id), scope.policy),
        pending=not problem and token_store.pending_confirmation(session, lst.id, email, ("subscribe", "invite"),
                                                                 scope.now),
        sent_to_address=0 if problem else token_store.confirmations_to(session, email, scope.now),
        sent_for_sender=token_store.confirmations_for(session, requester, scope.now),
        by_operator=by_operator,
    )  # fmt: skip
    outcome = JOIN_OUTCOMES[decide_join(facts, scope.policy, limits(scope))]
    log.info("join request list=%s outcome=%s", lst.address, outcome.value)
    if outcome is not RequestOutcome.CONFIRM_SENT:
        return outcome
    token = token_store.create_token(session, scope.work.secret(), lst.id, email, "subscribe", scope.now, scope.settings.confirm_days,
                                     requested_by=requester, delivery=delivery, display_name=name)  # fmt: skip
    event(scope, email, "requested", f"by {requester}" if requester and requester != email else "")
    send(scope, email, "membership-confirm.txt.j2", subject=f"confirm {token}", token=token, in_reply_to=in_reply_to,
         delivery=delivery, days=scope.settings.confirm_days)  # fmt: skip
    return outcome


def invite(scope: Scope, email: str, *, name: str = "", delivery: str = "each", invited_by: str = "",
           note: str = "") -> RequestOutcome:  # fmt: skip
    """An invitation the person accepts by replying (`listserv member invite`)."""
    session, lst = scope.session, scope.lst
    if address_problem(email):
        return RequestOutcome.BAD_ADDRESS
    if store.find_member(session, lst.id, email) is not None:
        return RequestOutcome.ALREADY_MEMBER
    if token_store.pending_confirmation(session, lst.id, email, ("invite",), scope.now):
        return RequestOutcome.PENDING
    if token_store.confirmations_to(session, email, scope.now) >= scope.settings.confirm_limit_per_address:
        return RequestOutcome.RATE_LIMITED
    token = token_store.create_token(session, scope.work.secret(), lst.id, email, "invite", scope.now, scope.settings.confirm_days,
                                     delivery=delivery, display_name=name)  # fmt: skip
    event(scope, email, "invited", f"by {invited_by}" if invited_by else "")
    send(scope, email, "membership-invite.txt.j2", subject=f"Invitation to {lst.name} (confirm {token})", token=token,
         note=note, member_name=name, days=scope.settings.confirm_days)  # fmt: skip
    return RequestOutcome.INVITED


def admit(scope: Scope, email: str, name: str, delivery: str, via: str, in_reply_to: str = "") -> RequestOutcome:
    """Make someone a member (or wait-list or refuse them when the list is full) and tell them."""
    session, lst = scope.session, scope.lst
    member = store.find_member(session, lst.id, email)
    decision = decide_admission(member is not None, store.count_members(session, lst.id), scope.policy)
    if decision is Admission.ALREADY_MEMBER:
        return RequestOutcome.ALREADY_MEMBER
    if lst.status is not ListStatus.OPEN:
        return RequestOutcome.CLOSED  # confirmed after the list closed
    if decision is Admission.FULL:
        event(scope, email, "refused-full")
        send(scope, email, "membership-full.txt.j2", subject=f"{lst.name} is full", in_reply_to=in_reply_to)
        return RequestOutcome.REFUSED_FULL
    if decision is Admission.WAITLISTED:
        position = store.waitlist_add(session, lst.id, email, name, delivery, scope.now)
        event(scope, email, "waitlisted", f"position {position}")
        send(scope, email, "membership-waitlisted.txt.j2", subject=f"You are on the wait-list of {lst.name}",
             position=position, in_reply_to=in_reply_to)  # fmt: skip
        return RequestOutcome.WAITLISTED
    member = store.insert_member(session, lst.id, email, name, delivery, expiry_for(scope.policy, scope.now),
                                 scope.now)  # fmt: skip
    if via != "invite":
        member.moderation = "new"  # first posts reviewed per the list's new_member_posts (docs/moderation.md)
    store.waitlist_remove(session, lst.id, email)
    event(scope, email, "joined", via)
    log.info("joined list=%s via=%s", lst.address, via)
    if not welcome(scope, email, name):
        send(scope, email, "membership-joined.txt.j2", subject=f"Welcome to {lst.name}", in_reply_to=in_reply_to)
    return RequestOutcome.JOINED


def welcome(scope: Scope, email: str, name: str) -> bool:
    """Enrol a new member in the orientation sequence and send its day-0 steps. True if any went."""
    session, lst = scope.session, scope.lst
    store.forget_steps(session, lst.id, email)
    store.claim_step(session, lst.id, email, ENROLLED, "sent", scope.now)
    sent = False
    for step in scope.policy.steps:
        if step.day == 0 and store.claim_step(session, lst.id, email, step.key, "sent", scope.now):
            sent = send_step(scope, email, name, step.name, step.key) or sent
    return sent


def send_step(scope: Scope, email: str, name: str, step_name: str, key: str, **context: object) -> bool:
    """One orientation mail; a missing or empty template marks the step skipped instead."""
    try:
        sent = send_with(scope, email, f"onboard-{step_name}.txt.j2", f"{scope.lst.name}: {step_name}",
                         dict(context) | {"member_name": name, "member": email})  # fmt: skip
    except jinja2.TemplateNotFound:
        log.warning("no template onboard-%s.txt.j2 list=%s", step_name, scope.lst.address)
        sent = False
    if not sent:
        store.set_step_status(scope.session, scope.lst.id, email, key, "skipped")
    return sent


def leave(scope: Scope, email: str, via: str) -> bool:
    """Remove a member now, say goodbye, and let the next person on the wait-list in."""
    session, lst = scope.session, scope.lst
    if not store.remove_member(session, lst.id, email):
        return False
    store.forget_steps(session, lst.id, email)
    event(scope, email, "left", via)
    log.info("left list=%s via=%s", lst.address, via)
    send(scope, email, "goodbye.txt.j2", subject=f"You have left {lst.name}", address=email)
    promote_waitlist(scope)
    return True


def request_leave(scope: Scope, email: str, in_reply_to: str = "", confirm_first: bool = False) -> RequestOutcome:
    """Mail from a member's own address: leave at once, or confirm first if the list says so (or the
    mail's sender authentication failed: `confirm_first`)."""
    session, lst = scope.session, scope.lst
    if store.find_member(session, lst.id, email) is None:
        if store.waitlist_remove(session, lst.id, email):
            event(scope, email, "left-waitlist")
            return RequestOutcome.LEFT_WAITLIST
        return RequestOutcome.NOT_MEMBER
    if not scope.policy.confirm_unsubscribe and not confirm_first:
        leave(scope, email, "mail")
        return RequestOutcome.LEFT
    if token_store.pending_confirmation(session, lst.id, email, ("unsubscribe",), scope.now):
        return RequestOutcome.PENDING
    if token_store.confirmations_to(session, email, scope.now) >= scope.settings.confirm_limit_per_address:
        return RequestOutcome.RATE_LIMITED
    token = token_store.create_token(
        session, scope.work.secret(), lst.id, email, "unsubscribe", scope.now, scope.settings.confirm_days
    )
    send(scope, email, "membership-confirm-leave.txt.j2", subject=f"confirm {token}", token=token,
         in_reply_to=in_reply_to, days=scope.settings.confirm_days)  # fmt: skip
    return RequestOutcome.LEAVE_CONFIRM_SENT


def promote_waitlist(scope: Scope) -> int:
    """Admit people from the wait-list while there is room."""
    room = free_places(store.count_members(scope.session, scope.lst.id), scope.policy)
    admitted = 0
    for waiting in store.waitlist_take(scope.session, scope.lst.id, room) if room else []:
        if admit(scope, waiting.email, waiting.display_name, waiting.delivery, "waitlist") is RequestOutcome.JOINED:
            admitted += 1
    return admitted


def renew(scope: Scope, email: str) -> Result:
    member = store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return Result("", RequestOutcome.NOT_MEMBER)
    if member.expires_at is None or not scope.policy.membership_days:
        return Result("", RequestOutcome.NO_EXPIRY)
    member.expires_at = renewed_expiry(member.expires_at, scope.now, scope.policy)
    store.forget_steps(scope.session, scope.lst.id, email, "renew:")
    event(scope, email, "renewed", f"until {member.expires_at:%Y-%m-%d}")
    return Result("", RequestOutcome.RENEWED, f"{member.expires_at:%Y-%m-%d}")


def answer_result(scope: Scope, to: str, results: list[Result], *, subject: str, in_reply_to: str = "",
                  truncated: bool = False) -> bool:  # fmt: skip
    """The one reply to a request mail, unless each command's own mail answered it already
    (lines that were not commands are mentioned only in a reply that goes anyway)."""
    if all(r.outcome in SELF_ANSWERED | SILENT | {RequestOutcome.UNKNOWN} for r in results):
        return False
    return answer_request(scope, to, "membership-reply.txt.j2", subject=subject, in_reply_to=in_reply_to, results=results,
                  truncated=truncated, address=to)  # fmt: skip
