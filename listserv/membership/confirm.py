"""Replies to token mails: confirmations, invitations, approval requests, reminders, leave confirmations.

A token is looked up by its keyed MAC (token_store.load_token), used once (store.tokens.use_token) and acted on for
the address it was made for. Approval requests are the exception: a facilitator's reply is
checked as for held posts (the moderation feature's verbs and authentication check).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message

from listserv.inbound.authcheck import reply_verdict
from listserv.inbound.authres import auth_refusal
from listserv.membership import store, token_store
from listserv.membership.lifecycle import (
    RequestOutcome,
    Result,
    admit,
    event,
    guidelines_version,
    leave,
    renew,
)
from listserv.membership.mail import Scope, answer_request, send
from listserv.membership.policy import Subscription
from listserv.moderation.approve import Verb, parse_reply
from listserv.store import queries
from listserv.store.tokens import retire_tokens, use_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyMail:
    """A reply to one of our token mails, as received."""

    sender: str  # the normalised From address
    message: Message
    raw: bytes
    message_id: str = ""


def confirm(scope: Scope, token: str, reply: ReplyMail) -> Result:
    """A reply to one of our token mails (LIST-confirm+TOKEN, or `confirm TOKEN` to LIST-request)."""
    info = token_store.load_token(scope.session, scope.work.secret(), scope.lst.id, token, scope.now) if token else None
    if info is None:
        return Result("", RequestOutcome.BAD_TOKEN)
    if not info.usable:
        if info.kind == "approve":
            return tell_facilitator(scope, info, Result("", RequestOutcome.ALREADY_DECIDED, info.email))
        member = store.find_member(scope.session, scope.lst.id, info.email)
        already = info.kind in ("subscribe", "invite") and member is not None
        return Result("", RequestOutcome.ALREADY_MEMBER if already else RequestOutcome.BAD_TOKEN)
    if info.kind == "approve":
        return decide_approval(scope, info, reply)
    if not use_token(scope.session, info.id, scope.now):
        return Result("", RequestOutcome.BAD_TOKEN)
    if info.kind == "unsubscribe":
        return Result("", RequestOutcome.LEFT if leave(scope, info.email, "confirmed") else RequestOutcome.NOT_MEMBER)
    if info.kind == "renew":
        return renew(scope, info.email)
    event(scope, info.email, "confirmed" if info.kind == "subscribe" else "accepted-invitation",
          f"reply from {reply.sender}" if reply.sender and reply.sender != info.email else "")  # fmt: skip
    if scope.policy.guidelines.strip():
        event(scope, info.email, "accepted-guidelines", guidelines_version(scope.policy.guidelines))
    if info.kind == "subscribe" and scope.policy.subscription is Subscription.APPROVAL:
        return Result("", ask_approval(scope, info))
    return Result("", admit(scope, info.email, info.display_name, info.delivery, info.kind, reply.message_id))


def ask_approval(scope: Scope, info: token_store.TokenInfo) -> RequestOutcome:
    """Each facilitator gets a request with their own token; the first answer decides."""
    session, lst = scope.session, scope.lst
    if store.find_member(session, lst.id, info.email) is not None:
        return RequestOutcome.ALREADY_MEMBER
    facilitators = queries.facilitators(session, lst.id)
    for facilitator in facilitators:
        token = token_store.create_token(session, scope.work.secret(), lst.id, info.email, "approve", scope.now,
                                         scope.settings.confirm_days, requested_by=facilitator,
                                         delivery=info.delivery, display_name=info.display_name)  # fmt: skip
        send(scope, facilitator, "membership-approve.txt.j2", subject=f"Approve {info.email} for {lst.name}?",
             token=token, applicant=info.email, applicant_name=info.display_name,
             days=scope.settings.confirm_days)  # fmt: skip
    if not facilitators:
        log.warning("approval needed but the list has no facilitators list=%s", lst.address)
    event(scope, info.email, "approval-requested", ", ".join(facilitators))
    send(scope, info.email, "membership-pending.txt.j2", subject=f"Your request to join {lst.name}")
    return RequestOutcome.AWAITING_APPROVAL


def approval_refusal(scope: Scope, info: token_store.TokenInfo, reply: ReplyMail) -> str | None:
    """The same authorisation as for held posts: the reply comes from the facilitator the token
    was sent to, who still is one, and their domain's DKIM/DMARC results do not say otherwise."""
    facilitator = info.requested_by
    if reply.sender != facilitator:
        return f"the reply came from {reply.sender or 'no address'}, not from {facilitator}"
    if facilitator not in queries.facilitators(scope.session, scope.lst.id):
        return f"{facilitator} is no longer a facilitator of {scope.lst.address}"
    domain = facilitator.rpartition("@")[2]
    verdict = reply_verdict(reply.raw, reply.message, domain, scope.settings)
    return auth_refusal(verdict, scope.settings.moderation_auth, domain)


def decide_approval(scope: Scope, info: token_store.TokenInfo, reply: ReplyMail) -> Result:
    """A facilitator's reply to an approval request (the verbs of moderation/approve.py):
    nothing or approve admits, reject [reason] refuses and tells the applicant, discard refuses quietly."""
    refusal = approval_refusal(scope, info, reply)
    if refusal is not None:
        log.warning("approval refused list=%s reason=%s", scope.lst.address, refusal)
        return tell_facilitator(scope, info, Result("", RequestOutcome.NOT_AUTHORISED, refusal))
    command = parse_reply(reply.message)
    if command.verb in (Verb.UNCLEAR, Verb.EDIT):
        return tell_facilitator(scope, info, Result("", RequestOutcome.NEED_VERDICT, info.email))
    if not use_token(scope.session, info.id, scope.now):
        return tell_facilitator(scope, info, Result("", RequestOutcome.ALREADY_DECIDED, info.email))
    retire_tokens(scope.session, scope.lst.id, "approve", scope.now, address=info.email)
    if command.verb in (Verb.REJECT, Verb.DISCARD):
        reason = f": {command.reason}" if command.reason else ""
        event(scope, info.email, "rejected", f"by {info.requested_by}{reason}")
        if command.verb is Verb.REJECT:
            send(scope, info.email, "membership-rejected.txt.j2", subject=f"Your request to join {scope.lst.name}",
                 reason=command.reason)  # fmt: skip
        return tell_facilitator(scope, info, Result("", RequestOutcome.REJECTED, info.email))
    event(scope, info.email, "approved", f"by {info.requested_by}")
    admitted = admit(scope, info.email, info.display_name, info.delivery, "approved")
    return tell_facilitator(scope, info, Result("", RequestOutcome.APPROVED, f"{info.email} ({admitted.value})"))


def tell_facilitator(scope: Scope, info: token_store.TokenInfo, result: Result) -> Result:
    """Answers about approvals go to the registered facilitator address, never to a claimed sender."""
    answer_request(scope, info.requested_by, "membership-reply.txt.j2", subject=f"Membership request: {info.email}",
           results=[result], truncated=False, address=info.requested_by)  # fmt: skip
    return Result(result.line, RequestOutcome.ANSWERED, result.detail)
