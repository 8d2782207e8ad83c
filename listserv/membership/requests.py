"""Mail to a list's service addresses: LIST-request (commands), LIST-join, LIST-leave, LIST-confirm+TOKEN.

Null senders, bounces and automatic mail (Auto-Submitted, Precedence: bulk/junk/list) are
ignored: they never subscribe, confirm, unsubscribe or get an answer.
"""

from __future__ import annotations

import logging

from listserv.inbound.authcheck import reply_verdict
from listserv.inbound.authres import auth_refusal
from listserv.mail.addresses import normalize_address
from listserv.membership.commands import Command, Request, first_text, read_commands
from listserv.membership.confirm import ReplyMail, confirm
from listserv.membership.lifecycle import (
    RequestOutcome,
    Result,
    answer_result,
    renew,
    request_join,
    request_leave,
)
from listserv.membership.mail import Scope, may_answer_received, scope_of
from listserv.membership.preferences import (
    MemberRecord,
    archive_link,
    info,
    set_delivery,
    set_profile,
    set_vacation,
    stats,
    who,
)
from listserv.received import Received

log = logging.getLogger(__name__)
# Commands that act on the sender's own membership: a forged From must not work them.
ACTS_FOR_MEMBER = frozenset({Command.UNSUBSCRIBE, Command.SET_DELIVERY, Command.SET_VACATION, Command.WHO,
                             Command.RENEW, Command.STATS, Command.SET_PROFILE})  # fmt: skip


def ignored(received: Received) -> bool:
    if may_answer_received(received):
        return False
    log.info("membership mail ignored list=%s role=%s reason=automatic-sender", received.lst.address, received.role)
    return True


def answer_subject(received: Received) -> str:
    subject = received.facts.subject.strip()
    if not subject:
        return f"Your request to {received.lst.name}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def reply(received: Received, scope: Scope, results: list[Result], truncated: bool = False) -> None:
    answer_result(scope, received.facts.sender, results, subject=answer_subject(received),
                  in_reply_to=received.facts.message_id, truncated=truncated)  # fmt: skip


def handle_request(received: Received, record: MemberRecord | None = None) -> None:
    """Commands in the subject or body, at most MAX_COMMANDS, answered in one reply. `record`
    words a member's engagement record for `stats` (the worker passes engagement's in)."""
    if ignored(received):
        return
    scope = scope_of(received)
    mail = read_commands(received.facts.subject, first_text(received.message))
    acting = any(request.command in ACTS_FOR_MEMBER for request in mail.commands)
    refusal = auth_problem(received) if acting else None
    results = [run_command(received, scope, request, refusal, record) for request in mail.commands]
    results = results or [Result("", RequestOutcome.HELP)]
    results += [Result(r.line, RequestOutcome.UNKNOWN) for r in mail.unknown]
    log.info("commands list=%s %s", scope.lst.address, " ".join(f"{r.outcome.value}" for r in results))
    reply(received, scope, results, mail.truncated)


def auth_problem(received: Received) -> str | None:
    """Why the sender's own domain does not vouch for this mail (moderation_auth), or None."""
    domain = received.facts.sender.rpartition("@")[2]
    verdict = reply_verdict(received.inbound.raw, received.message, domain, received.settings)
    refusal = auth_refusal(verdict, received.settings.moderation_auth, domain)
    if refusal:
        log.warning("membership mail unauthenticated list=%s from=%s reason=%s", received.lst.address,
                    received.facts.sender, refusal)  # fmt: skip
    return refusal


def run_command(received: Received, scope: Scope, request: Request, refusal: str | None = None,
                record: MemberRecord | None = None) -> Result:  # fmt: skip
    sender, line, command = received.facts.sender, request.line, request.command
    if request.problem:
        return Result(line, RequestOutcome.PROBLEM, request.problem)
    if refusal and command is Command.UNSUBSCRIBE:  # the address's owner confirms, or nothing happens
        return Result(line, request_leave(scope, sender, received.facts.message_id, confirm_first=True))
    if refusal and command in ACTS_FOR_MEMBER:
        detail = (f"we could not confirm that this mail came from {sender} ({refusal}); "
                  "please send the command again from your own mail account")  # fmt: skip
        return Result(line, RequestOutcome.NOT_AUTHORISED, detail)
    if command is Command.SUBSCRIBE:
        outcome = request_join(scope, sender, name=received.facts.sender_name, delivery=request.argument,
                               requester=requester(received), in_reply_to=received.facts.message_id)  # fmt: skip
        return Result(line, outcome)
    if command is Command.UNSUBSCRIBE:
        return Result(line, request_leave(scope, sender, received.facts.message_id))
    if command is Command.SET_DELIVERY:
        return set_delivery(scope, sender, request.argument, line)
    if command is Command.SET_VACATION:
        return set_vacation(scope, sender, request.argument, line)
    if command is Command.WHO:
        return who(scope, sender, line)
    if command is Command.INFO:
        return info(scope, line)
    if command is Command.ARCHIVE:
        return archive_link(scope, sender, line)
    if command is Command.STATS:
        return stats(scope, sender, record, line)
    if command is Command.SET_PROFILE:
        return set_profile(scope, sender, request.argument, line)
    if command is Command.RENEW:
        return with_line(renew(scope, sender), line)
    if command is Command.CONFIRM:
        return with_line(confirm(scope, request.argument, reply_mail(received)), line)
    return Result(line, RequestOutcome.HELP)


def reply_mail(received: Received) -> ReplyMail:
    facts = received.facts
    return ReplyMail(facts.sender, received.message, received.inbound.raw, facts.message_id)


def with_line(result: Result, line: str) -> Result:
    return Result(line, result.outcome, result.detail)


def requester(received: Received) -> str:
    """Who asked: the envelope sender (rate-limited separately from the address asked for)."""
    return normalize_address(received.inbound.mail_from) or received.facts.sender


def handle_join(received: Received) -> None:
    """Any mail to LIST-join asks to join; `digest`, `summary` or `nomail` in it chooses the delivery."""
    if ignored(received):
        return
    scope = scope_of(received)
    mail = read_commands(received.facts.subject, first_text(received.message))
    delivery = next((r.argument for r in mail.commands if r.command is Command.SUBSCRIBE), "each")
    outcome = request_join(scope, received.facts.sender, name=received.facts.sender_name, delivery=delivery,
                           requester=requester(received), in_reply_to=received.facts.message_id)  # fmt: skip
    reply(received, scope, [Result("join", outcome)])


def handle_leave(received: Received) -> None:
    """Mail to LIST-leave from a member's own address: they leave (or confirm first, if the list says so)."""
    if ignored(received):
        return
    scope = scope_of(received)
    confirm_first = auth_problem(received) is not None
    outcome = request_leave(scope, received.facts.sender, received.facts.message_id, confirm_first)
    reply(received, scope, [Result("leave", outcome)])


def handle_confirm(received: Received) -> None:
    """A reply to a confirmation, invitation, approval request, reminder or leave confirmation."""
    if ignored(received):
        return
    scope = scope_of(received)
    body = first_text(received.message)
    token = received.tag
    if not token:
        mail = read_commands(received.facts.subject, body)
        token = next((r.argument for r in mail.commands if r.command is Command.CONFIRM), "")
    result = confirm(scope, token, reply_mail(received))
    log.info("confirm list=%s outcome=%s", scope.lst.address, result.outcome.value)
    reply(received, scope, [Result("confirm", result.outcome, result.detail)])
