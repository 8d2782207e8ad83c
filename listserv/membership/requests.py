"""Mail to a list's service addresses: LIST-request (commands), LIST-join, LIST-leave, LIST-confirm+TOKEN.

Null senders, bounces and automatic mail (Auto-Submitted, Precedence: bulk/junk/list) are
ignored: they never subscribe, confirm, unsubscribe or get an answer.
"""

from __future__ import annotations

import logging

from listserv.mail.addresses import normalize_address
from listserv.received import Incoming
from listserv.membership.commands import Command, Request, first_text, read_commands
from listserv.membership.confirm import ReplyMail, confirm
from listserv.membership.lifecycle import Outcome, Result, answer_result, renew, request_join, request_leave
from listserv.membership.mail import Scope, may_answer_incoming, scope_of
from listserv.membership.preferences import info, set_delivery, set_vacation, who

log = logging.getLogger(__name__)


def ignored(incoming: Incoming) -> bool:
    if may_answer_incoming(incoming):
        return False
    log.info("membership mail ignored list=%s role=%s reason=automatic-sender", incoming.lst.address, incoming.role)
    return True


def reply_subject(incoming: Incoming) -> str:
    subject = incoming.facts.subject.strip()
    if not subject:
        return f"Your request to {incoming.lst.name}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def reply(incoming: Incoming, scope: Scope, results: list[Result], truncated: bool = False) -> None:
    answer_result(scope, incoming.facts.sender, results, subject=reply_subject(incoming),
                  in_reply_to=incoming.facts.message_id, truncated=truncated)  # fmt: skip


def handle_request(incoming: Incoming) -> None:
    """Commands in the subject or body, at most MAX_COMMANDS, answered in one reply."""
    if ignored(incoming):
        return
    scope = scope_of(incoming)
    mail = read_commands(incoming.facts.subject, first_text(incoming.message))
    results = [run_command(incoming, scope, request) for request in mail.commands]
    results = results or [Result("", Outcome.HELP)]
    results += [Result(r.line, Outcome.UNKNOWN) for r in mail.unknown]
    log.info("commands list=%s %s", scope.lst.address, " ".join(f"{r.outcome.value}" for r in results))
    reply(incoming, scope, results, mail.truncated)


def run_command(incoming: Incoming, scope: Scope, request: Request) -> Result:
    sender, line, command = incoming.facts.sender, request.line, request.command
    if request.problem:
        return Result(line, Outcome.PROBLEM, request.problem)
    if command is Command.SUBSCRIBE:
        outcome = request_join(scope, sender, name=incoming.facts.sender_name, delivery=request.argument,
                               requester=requester(incoming), in_reply_to=incoming.facts.message_id)  # fmt: skip
        return Result(line, outcome)
    if command is Command.UNSUBSCRIBE:
        return Result(line, request_leave(scope, sender, incoming.facts.message_id))
    if command is Command.SET_DELIVERY:
        return set_delivery(scope, sender, request.argument, line)
    if command is Command.SET_VACATION:
        return set_vacation(scope, sender, request.argument, line)
    if command is Command.WHO:
        return who(scope, sender, line)
    if command is Command.INFO:
        return info(scope, line)
    if command is Command.RENEW:
        return with_line(renew(scope, sender), line)
    if command is Command.CONFIRM:
        return with_line(confirm(scope, request.argument, reply_mail(incoming)), line)
    return Result(line, Outcome.HELP)


def reply_mail(incoming: Incoming) -> ReplyMail:
    facts = incoming.facts
    return ReplyMail(facts.sender, incoming.message, incoming.inbound.raw, facts.message_id)


def with_line(result: Result, line: str) -> Result:
    return Result(line, result.outcome, result.detail)


def requester(incoming: Incoming) -> str:
    """Who asked: the envelope sender (rate-limited separately from the address asked for)."""
    return normalize_address(incoming.inbound.mail_from) or incoming.facts.sender


def handle_join(incoming: Incoming) -> None:
    """Any mail to LIST-join asks to join; `digest`, `summary` or `nomail` in it chooses the delivery."""
    if ignored(incoming):
        return
    scope = scope_of(incoming)
    mail = read_commands(incoming.facts.subject, first_text(incoming.message))
    delivery = next((r.argument for r in mail.commands if r.command is Command.SUBSCRIBE), "each")
    outcome = request_join(scope, incoming.facts.sender, name=incoming.facts.sender_name, delivery=delivery,
                           requester=requester(incoming), in_reply_to=incoming.facts.message_id)  # fmt: skip
    reply(incoming, scope, [Result("join", outcome)])


def handle_leave(incoming: Incoming) -> None:
    """Mail to LIST-leave from a member's own address: they leave (or confirm first, if the list says so)."""
    if ignored(incoming):
        return
    scope = scope_of(incoming)
    reply(incoming, scope, [Result("leave", request_leave(scope, incoming.facts.sender, incoming.facts.message_id))])


def handle_confirm(incoming: Incoming) -> None:
    """A reply to a confirmation, invitation, approval request, reminder or leave confirmation."""
    if ignored(incoming):
        return
    scope = scope_of(incoming)
    body = first_text(incoming.message)
    token = incoming.tag
    if not token:
        mail = read_commands(incoming.facts.subject, body)
        token = next((r.argument for r in mail.commands if r.command is Command.CONFIRM), "")
    result = confirm(scope, token, reply_mail(incoming))
    log.info("confirm list=%s outcome=%s", scope.lst.address, result.outcome.value)
    reply(incoming, scope, [Result("confirm", result.outcome, result.detail)])
