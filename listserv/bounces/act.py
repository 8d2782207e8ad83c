"""Counting bounces against members and taking the steps they lead to, inside the caller's
transaction (the worker's for a report, the job's for refusals and decay), at the scope's `now`.

Disabling sets the member's delivery to `none` (membership's own no-mail mode, which fan-out and
digests already skip) and remembers the mode they had; they resume with the usual command to
LIST-request (`set delivery each`). Every removal is told to the member: no silent removals.
"""

from __future__ import annotations

import logging

from listserv.bounces import store
from listserv.bounces.score import BounceFacts, BouncePolicy, BounceStep, bounce_score, next_step, removal_date
from listserv.bounces.tables import BounceKind, MemberBounce, MemberState
from listserv.membership import store as membership_store
from listserv.membership.lifecycle import event, promote_waitlist
from listserv.membership.mail import Scope, send

log = logging.getLogger(__name__)


def count_bounce(scope: Scope, email: str, kind: BounceKind, source: str, reason: str,
                 delivery_id: int | None = None) -> bool:  # fmt: skip
    """One failure for a member of the list; False (nothing counted) for anyone else, or for a
    ledger row already counted."""
    member = membership_store.find_member(scope.session, scope.lst.id, email)
    if member is None:
        return False
    if not store.add_event(scope.session, scope.lst.id, email, kind, source, reason, scope.now, delivery_id):
        return False
    row = store.member_bounce(scope.session, scope.lst.id, email)
    if row.state == MemberState.REMOVED:  # removed once, and has joined again since: a fresh start
        store.move_state(scope.session, row.id, MemberState.REMOVED,
                         dict(state=MemberState.OK, counted_from=scope.now, removed_at=None, disabled_at=None))  # fmt: skip
        scope.session.refresh(row)
    row.last_bounce_at, row.reason = scope.now, reason[:500]
    scope.session.flush()
    review(scope, row, store.load_bounce_policy(scope.session, scope.lst.id))
    log.info("bounce counted list=%s kind=%s source=%s", scope.lst.address, kind.value, source)
    return True


def review(scope: Scope, row: MemberBounce, policy: BouncePolicy) -> BounceStep:
    """Score the member now and take the step that is due."""
    session = scope.session
    member = membership_store.find_member(session, scope.lst.id, row.email)
    if member is None:  # they left on their own (or an operator removed them): nothing to act on
        store.forget(session, scope.lst.id, row.email)
        return BounceStep.NONE
    events = store.events_since(session, scope.lst.id, row.email, row.counted_from)
    row.score = round(bounce_score(events, scope.now, policy.half_life_days), 3)
    delivery = member.delivery
    step = next_step(BounceFacts(MemberState(row.state), row.score, delivery, row.disabled_at), policy, scope.now)
    if step is BounceStep.DISABLE:
        if store.move_state(session, row.id, MemberState.OK,
                            dict(state=MemberState.DISABLED, disabled_at=scope.now, delivery_before=delivery)):  # fmt: skip
            member.delivery = "none"
            event(scope, row.email, "bounce-disabled", f"score {row.score:g}: {row.reason}")
            until = removal_date(scope.now, policy)
            send(scope, row.email, "bounce-disabled.txt.j2", subject=f"Your mail from {scope.lst.name} is paused",
                 reason=row.reason, score=row.score, resume=f"set delivery {delivery}",
                 remove_on=f"{until:%Y-%m-%d}" if until else "")  # fmt: skip
            log.info("bounce disabled list=%s score=%s", scope.lst.address, row.score)
    elif step is BounceStep.RESUME:
        if store.move_state(session, row.id, MemberState.DISABLED,
                            dict(state=MemberState.OK, disabled_at=None, counted_from=scope.now, score=0.0)):  # fmt: skip
            event(scope, row.email, "bounce-resumed", delivery)
    elif step is BounceStep.REMOVE:
        if store.move_state(session, row.id, MemberState.DISABLED,
                            dict(state=MemberState.REMOVED, removed_at=scope.now)):  # fmt: skip
            remove(scope, row.email, "bounce-removed.txt.j2", "bounces", row.reason)
    session.flush()
    return step


def remove(scope: Scope, email: str, template: str, why: str, reason: str) -> bool:
    if not membership_store.remove_member(scope.session, scope.lst.id, email):
        return False
    membership_store.forget_steps(scope.session, scope.lst.id, email)
    event(scope, email, "removed", why)
    log.info("removed list=%s why=%s", scope.lst.address, why)
    send(scope, email, template, subject=f"You are no longer on {scope.lst.name}", address=email, reason=reason)
    promote_waitlist(scope)
    return True


def unsubscribe_complainant(scope: Scope, email: str, reason: str) -> bool:
    """A feedback-loop report: the member said our mail is unwanted; take them off and tell them."""
    if membership_store.find_member(scope.session, scope.lst.id, email) is None:
        return False
    row = store.member_bounce(scope.session, scope.lst.id, email)
    store.add_event(scope.session, scope.lst.id, email, BounceKind.COMPLAINT, "report", reason, scope.now)
    store.mark_removed(scope.session, row.id, reason, scope.now)
    return remove(scope, email, "bounce-complaint.txt.j2", "complaint", reason)
