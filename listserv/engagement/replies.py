"""Mail to LIST-report+TOKEN (the worker's role handler).

- A facilitator's reply to their weekly report: `nudge N` sends member N of the "stuck" list
  a personal note (Reply-To: the facilitator); `invite N` asks member N of the "ready" list
  to co-facilitate. The facilitator gets a short account of what was done.
- A member's answer to that invitation: yes makes them a facilitator (with the FYI and
  approval rights that role has), and the facilitators are told; no is thanked and passed on.

Only the address the token was sent to may use it, and only when its domain does not fail
authentication (as replies to hold notices). Anything else is refused and logged, never answered.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from listserv.digest.mailin import authenticated, automatic, own_words
from listserv.digest.mime import build_service_mail
from listserv.digest.prompts import display_name
from listserv.engagement.commands import Verb, answer_of, chosen, parse_commands
from listserv.engagement.tables import EngagementReport
from listserv.engagement.weekly import REPLY_DAYS, TOKEN_PURPOSE
from listserv.mail.message import Role
from listserv.membership.store import add_event
from listserv.outbound.queue import queue_message
from listserv.received import Received
from listserv.store import admin, queries
from listserv.store import tokens as store_tokens
from listserv.store.schema import Token

log = logging.getLogger(__name__)
INVITATION = "cofacilitate"


def handle_report(received: Received) -> None:
    lst = received.lst
    if automatic(received) or lst.service(Role.REPORT) in received.facts.been_there:
        return
    secret = received.work.secret()
    token = store_tokens.find_token(received.session, secret, received.tag, lst.id, (TOKEN_PURPOSE, INVITATION))
    if token is None or received.facts.sender != token.address:
        log.warning("report reply refused list=%s from=%s reason=%s", lst.address, received.facts.sender,
                    "unknown token" if token is None else "not the address it was sent to")  # fmt: skip
        return
    if not authenticated(received, token.address, "reply to the engagement report"):
        return
    if token.expires_at < received.now:
        answer(received, token.address, "Too late", "engagement-late.txt.j2")
        return
    if token.purpose == TOKEN_PURPOSE:
        act_on_report(received, token)
    else:
        answer_invitation(received, token)


def answer(received: Received, to: str, subject: str, template: str, reply_to: str = "", **context: object) -> None:
    text = received.render(template, **context)
    raw = build_service_mail(received.lst, to, subject, text, reply_to or received.lst.service(Role.OWNER),
                             received.now, name=f"{received.lst.name} report",
                             in_reply_to=received.facts.message_id)  # fmt: skip
    queue_message(received.session, received.lst, "notice", raw, [to], received.now)


def act_on_report(received: Received, token: Token) -> None:
    session, lst = received.session, received.lst
    report = session.get(EngagementReport, token.target_id)
    if report is None:
        answer(received, token.address, "Too late", "engagement-late.txt.j2")
        return
    asked = parse_commands(own_words(received))
    lists = {Verb.NUDGE: json.loads(report.stuck), Verb.INVITE: json.loads(report.ready)}
    done: list[str] = []
    missing: list[int] = []
    facilitator = facilitator_name(received, token.address)
    for command in asked.commands:
        people, unknown = chosen(command, lists[command.verb])
        missing += unknown
        for email in people:
            if not queries.is_member(session, lst.id, email):
                done.append(f"{email}: no longer a member, nothing sent")
            elif command.verb is Verb.NUDGE:
                nudge(received, email, token.address, facilitator)
                done.append(f"{email}: nudged")
            else:
                invite(received, email, token.address, facilitator, report.id)
                done.append(f"{email}: invited to co-facilitate")
    log.info("report reply list=%s by=%s done=%d unclear=%d", lst.address, token.address, len(done),
             len(asked.unclear) + len(missing))  # fmt: skip
    answer(received, token.address, "Done" if done else "Nothing done", "engagement-done.txt.j2", done=done,
           unclear=asked.unclear, missing=missing, reply_to=same_address(received))  # fmt: skip


def same_address(received: Received) -> str:
    """The LIST-report+TOKEN address this mail came to: a reply to our answer may try again."""
    lst = received.lst
    return f"{lst.local_part}-{Role.REPORT.value}+{received.tag}@{lst.domain}"


def facilitator_name(received: Received, email: str) -> str:
    return display_name(received.session, received.lst.id, email) or received.facts.sender_name or email


def nudge(received: Received, member: str, facilitator: str, name: str) -> None:
    text = received.render("engagement-nudge.txt.j2", facilitator=name, facilitator_address=facilitator)
    raw = build_service_mail(received.lst, member, f"{name} on {received.lst.name}", text, facilitator, received.now,
                             name=f"{name} via {received.lst.name}")  # fmt: skip
    queue_message(received.session, received.lst, "notice", raw, [member], received.now)
    add_event(received.session, received.lst.id, member, "nudged", f"by {facilitator}", received.now)


def invite(received: Received, member: str, facilitator: str, name: str, report_id: int) -> None:
    session, lst = received.session, received.lst
    token = store_tokens.issue_token(session, received.work.secret(), purpose=INVITATION, list_id=lst.id,
                                     address=member, now=received.now,
                                     expires=received.now + timedelta(days=REPLY_DAYS), target_id=report_id)  # fmt: skip
    reply_to = f"{lst.local_part}-{Role.REPORT.value}+{token}@{lst.domain}"
    text = received.render("engagement-invite.txt.j2", facilitator=name, days=REPLY_DAYS)
    raw = build_service_mail(lst, member, f"Would you co-facilitate {lst.name}?", text, reply_to, received.now,
                             name=f"{name} via {lst.name}")  # fmt: skip
    queue_message(session, lst, "notice", raw, [member], received.now)
    add_event(session, lst.id, member, "invited-to-facilitate", f"by {facilitator}", received.now)


def answer_invitation(received: Received, token: Token) -> None:
    session, lst, member = received.session, received.lst, token.address
    said = answer_of(own_words(received))
    if said is None:
        answer(received, member, "Yes or no?", "engagement-invite-unclear.txt.j2",
               reply_to=same_address(received))  # fmt: skip
        return
    token.used_at = received.now
    if said and queries.is_member(session, lst.id, member):
        admin.add_member(session, lst.id, member, received.now, role="facilitator")
        add_event(session, lst.id, member, "became-facilitator", "accepted an invitation", received.now)
    facilitators = [f for f in queries.facilitators(session, lst.id) if f != member]
    verdict = "accepted" if said else "declined"
    log.info("co-facilitation list=%s member=%s %s", lst.address, member, verdict)
    answer(received, member, "Welcome to the facilitators" if said else "Thank you", "engagement-accepted.txt.j2",
           accepted=said)  # fmt: skip
    if facilitators:
        text = received.render("engagement-fyi.txt.j2", member=member, accepted=said)
        raw = build_service_mail(lst, ", ".join(facilitators), f"{member} {verdict} to co-facilitate", text,
                                 lst.service(Role.OWNER), received.now, name=f"{lst.name} report")  # fmt: skip
        queue_message(session, lst, "notice", raw, facilitators, received.now)
