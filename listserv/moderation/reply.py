"""Mail to LIST-moderate+TOKEN: a facilitator's reply to a hold notice.

An action is applied only when all of these hold:
1. the token is one we issued for this list (looked up by its hash, compared in
   constant time), its held post is still waiting and the token is unused and unexpired;
2. the From address is the registered facilitator address the token was sent to, and
   that address is still a facilitator of the list;
3. where Authentication-Results or our own DKIM check say anything about the
   facilitator's domain, it is not a failure (moderation_auth = check), or it is a
   pass (moderation_auth = require).
Every answer goes to the registered facilitator address the token was sent to, never
to the address the reply claims to come from. Unknown tokens get no answer at all.
"""

from __future__ import annotations

import logging
import re

from listserv.inbound.authcheck import reply_verdict
from listserv.inbound.authres import auth_refusal
from listserv.mail.message import Role
from listserv.moderation.act import act
from listserv.moderation.approve import Verb, parse_reply
from listserv.moderation.hold import PURPOSE
from listserv.moderation.mail import moderate_address
from listserv.moderation.records import (
    audit,
    is_facilitator,
    mail_facilitator,
    note_attempt,
    too_many_attempts,
    when,
)
from listserv.moderation.tables import HeldPost, HeldStatus
from listserv.outbound.notices import may_answer
from listserv.received import Received
from listserv.store import queries
from listserv.store.schema import Token
from listserv.store.tokens import find_token as find_stored_token

log = logging.getLogger(__name__)
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
AUTOMATIC_SUBJECTS = re.compile(r"^\s*(automatic reply|auto:|autoreply|out of (the )?office|abwesenheit)", re.I)


def handle_moderate(received: Received) -> None:
    lst, facts, session = received.lst, received.facts, received.session
    if not may_answer(received.inbound.mail_from, facts) or AUTOMATIC_SUBJECTS.match(facts.subject):
        log.info("moderation mail ignored list=%s reason=automatic msgid=%s", lst.address, facts.message_id)
        return
    claimed = facts.sender
    if too_many_attempts(session, lst.id, claimed, received.settings.moderation_guess_limit, received.now):
        log.warning("moderation mail ignored list=%s from=%s reason=rate-limit", lst.address, claimed)
        return
    token = find_token(received)
    if token is None:
        note_attempt(session, lst.id, claimed, received.now)
        audit(session, lst.id, None, claimed, "refused", received.now, "", "unknown or malformed token")
        log.warning("moderation refused list=%s from=%s reason=unknown-token", lst.address, claimed)
        return
    held = session.get_one(HeldPost, token.target_id)
    refusal = authorise(received, token, held)
    if refusal is not None:
        return refuse(received, token, held, refusal)
    command = parse_reply(received.message)
    if command.verb is Verb.UNCLEAR:
        audit(session, lst.id, held.id, token.address, "unclear", received.now, held.rules, command.text)
        answer_facilitator(received, token, held, "unclear", "held-unclear.txt.j2", f"Not understood: {held.subject}",
               line=command.text)  # fmt: skip
        return
    outcome = act(received.work, session, held.id, command, token.address, received.now, token.id)
    if not outcome.applied:
        already_handled(received, token, outcome.held)


def find_token(received: Received) -> Token | None:
    """Our moderation token for this list, named by the recipient's +TAG."""
    return find_stored_token(received.session, received.work.secret(), received.tag, received.lst.id, (PURPOSE,))


def authorise(received: Received, token: Token, held: HeldPost) -> str | None:
    """None if the reply may act; else the reason it may not (an audit-log word first)."""
    session, lst, sender = received.session, received.lst, received.facts.sender
    if sender != token.address:
        return f"wrong-sender: the reply came from {sender or 'no address'}, not from {token.address}"
    if not is_facilitator(session, lst.id, token.address):
        return f"not-facilitator: {token.address} is no longer a facilitator of {lst.address}"
    if held.status != HeldStatus.HELD or token.used_at is not None:
        return "already-handled"
    if token.expires_at < received.now:
        return f"expired: the token expired at {when(token.expires_at)}"
    domain = token.address.rpartition("@")[2]
    verdict = reply_verdict(received.inbound.raw, received.message, domain, received.settings)
    failure = auth_refusal(verdict, received.settings.moderation_auth, domain)
    return f"authentication: {failure}" if failure else None


def refuse(received: Received, token: Token, held: HeldPost, refusal: str) -> None:
    session, lst = received.session, received.lst
    word, _, why = refusal.partition(": ")
    if word == "already-handled":
        audit(session, lst.id, held.id, received.facts.sender, "already-handled", received.now, held.rules,
              f"{held.verb} by {held.handled_by} at {when(held.handled_at)}")  # fmt: skip
        return already_handled(received, token, held)
    note_attempt(session, lst.id, received.facts.sender, received.now)
    audit(session, lst.id, held.id, received.facts.sender, "refused", received.now, held.rules, refusal)
    log.warning("moderation refused list=%s held=%s from=%s reason=%s", lst.address, held.id,
                received.facts.sender, refusal)  # fmt: skip
    if word != "not-facilitator":
        answer_facilitator(received, token, held, "refused", "held-refused.txt.j2", f"Not done: {held.subject}",
               why=why, claimed=received.facts.sender or "(no address)", reply_ok=word != "expired")  # fmt: skip


def already_handled(received: Received, token: Token, held: HeldPost) -> None:
    answer_facilitator(received, token, held, "handled", "held-already.txt.j2", f"Already handled: {held.subject}",
           reply_ok=False)  # fmt: skip


def answer_facilitator(received: Received, token: Token, held: HeldPost, kind: str, template: str, subject: str,
           reply_ok: bool = True, **context: object) -> None:  # fmt: skip
    """A short answer to the registered facilitator; at most one of a kind per held post and day."""
    session, lst = received.session, received.lst
    if not queries.note_notice(session, token.address, f"mod-{kind}-{held.id}", received.now.date().isoformat()):
        log.info("moderation answer suppressed list=%s held=%s kind=%s reason=rate-limit", lst.address, held.id, kind)
        return
    reply_to = moderate_address(lst, received.tag) if reply_ok and held.status == HeldStatus.HELD else ""
    text = received.render(template, held=held, subject=held.subject or "(no subject)", reply_address=reply_to,
                           handled_by=held.handled_by, handled_at=when(held.handled_at), verb=held.verb,
                           facilitator=token.address, moderate=lst.service(Role.MODERATE), **context)  # fmt: skip
    mail_facilitator(session, lst, token.address, subject, text, received.now, reply_to=reply_to)
