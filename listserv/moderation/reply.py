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

import hmac
import logging
import re

from sqlalchemy import select

from listserv.received import Incoming
from listserv.mail.message import Role
from listserv.moderation.approve import Verb, parse_reply
from listserv.inbound.authres import auth_refusal
from listserv.moderation.mail import moderate_address
from listserv.outbound.notices import may_answer
from listserv.moderation.act import Context, act
from listserv.inbound.authcheck import reply_verdict
from listserv.moderation.records import (
    audit,
    is_facilitator,
    mail_facilitator,
    note_attempt,
    token_hash,
    too_many_attempts,
    when,
)
from listserv.store import queries
from listserv.store.schema import utcnow
from listserv.moderation.tables import HeldPost, HeldStatus, ModerationToken

log = logging.getLogger(__name__)
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
AUTOMATIC_SUBJECTS = re.compile(r"^\s*(automatic reply|auto:|autoreply|out of (the )?office|abwesenheit)", re.I)


def handle_moderate(incoming: Incoming) -> None:
    lst, facts, session = incoming.lst, incoming.facts, incoming.session
    if not may_answer(incoming.inbound.mail_from, facts) or AUTOMATIC_SUBJECTS.match(facts.subject):
        log.info("moderation mail ignored list=%s reason=automatic msgid=%s", lst.address, facts.message_id)
        return
    claimed = facts.sender
    if too_many_attempts(session, lst.id, claimed, incoming.settings.moderation_guess_limit):
        log.warning("moderation mail ignored list=%s from=%s reason=rate-limit", lst.address, claimed)
        return
    token = find_token(incoming)
    if token is None:
        note_attempt(session, lst.id, claimed)
        audit(session, lst.id, None, claimed, "refused", "", "unknown or malformed token")
        log.warning("moderation refused list=%s from=%s reason=unknown-token", lst.address, claimed)
        return
    held = session.get_one(HeldPost, token.held_id)
    refusal = authorise(incoming, token, held)
    if refusal is not None:
        return refuse(incoming, token, held, refusal)
    command = parse_reply(incoming.message)
    if command.verb is Verb.UNCLEAR:
        audit(session, lst.id, held.id, token.facilitator, "unclear", held.rules, command.text)
        answer(incoming, token, held, "unclear", "held-unclear.txt.j2", f"Not understood: {held.subject}",
               line=command.text)  # fmt: skip
        return
    outcome = act(Context(session, incoming.settings, incoming.templates), held.id, command, token.facilitator,
                  token.id)  # fmt: skip
    if not outcome.applied:
        already_handled(incoming, token, outcome.held)


def find_token(incoming: Incoming) -> ModerationToken | None:
    """Our token for this list and purpose, by the hash of the recipient's +TAG."""
    tag = incoming.tag
    if not TOKEN_SHAPE.match(tag):
        return None
    digest = token_hash(tag)
    row = incoming.session.scalar(select(ModerationToken).where(ModerationToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.list_id != incoming.lst.id or row.purpose != "moderate":
        return None
    return row


def authorise(incoming: Incoming, token: ModerationToken, held: HeldPost) -> str | None:
    """None if the reply may act; else the reason it may not (an audit-log word first)."""
    session, lst, sender = incoming.session, incoming.lst, incoming.facts.sender
    if sender != token.facilitator:
        return f"wrong-sender: the reply came from {sender or 'no address'}, not from {token.facilitator}"
    if not is_facilitator(session, lst.id, token.facilitator):
        return f"not-facilitator: {token.facilitator} is no longer a facilitator of {lst.address}"
    if held.status != HeldStatus.HELD or token.used_at is not None:
        return "already-handled"
    if token.expires_at < utcnow():
        return f"expired: the token expired at {when(token.expires_at)}"
    domain = token.facilitator.rpartition("@")[2]
    verdict = reply_verdict(incoming.inbound.raw, incoming.message, domain, incoming.settings)
    failure = auth_refusal(verdict, incoming.settings.moderation_auth, domain)
    return f"authentication: {failure}" if failure else None


def refuse(incoming: Incoming, token: ModerationToken, held: HeldPost, refusal: str) -> None:
    session, lst = incoming.session, incoming.lst
    word, _, why = refusal.partition(": ")
    if word == "already-handled":
        audit(session, lst.id, held.id, incoming.facts.sender, "already-handled", held.rules,
              f"{held.verb} by {held.handled_by} at {when(held.handled_at)}")  # fmt: skip
        return already_handled(incoming, token, held)
    note_attempt(session, lst.id, incoming.facts.sender)
    audit(session, lst.id, held.id, incoming.facts.sender, "refused", held.rules, refusal)
    log.warning("moderation refused list=%s held=%s from=%s reason=%s", lst.address, held.id,
                incoming.facts.sender, refusal)  # fmt: skip
    if word != "not-facilitator":
        answer(incoming, token, held, "refused", "held-refused.txt.j2", f"Not done: {held.subject}",
               why=why, claimed=incoming.facts.sender or "(no address)", reply_ok=word != "expired")  # fmt: skip


def already_handled(incoming: Incoming, token: ModerationToken, held: HeldPost) -> None:
    answer(incoming, token, held, "handled", "held-already.txt.j2", f"Already handled: {held.subject}",
           reply_ok=False)  # fmt: skip


def answer(incoming: Incoming, token: ModerationToken, held: HeldPost, kind: str, template: str, subject: str,
           reply_ok: bool = True, **context: object) -> None:  # fmt: skip
    """A short answer to the registered facilitator; at most one of a kind per held post and day."""
    session, lst = incoming.session, incoming.lst
    if not queries.note_notice(session, token.facilitator, f"mod-{kind}-{held.id}", utcnow().date().isoformat()):
        log.info("moderation answer suppressed list=%s held=%s kind=%s reason=rate-limit", lst.address, held.id, kind)
        return
    reply_to = moderate_address(lst, incoming.tag) if reply_ok and held.status == HeldStatus.HELD else ""
    text = incoming.render(template, held=held, subject=held.subject or "(no subject)", reply_address=reply_to,
                           handled_by=held.handled_by, handled_at=when(held.handled_at), verb=held.verb,
                           facilitator=token.facilitator, moderate=lst.service(Role.MODERATE), **context)  # fmt: skip
    mail_facilitator(session, lst, token.facilitator, subject, text, reply_to=reply_to)
