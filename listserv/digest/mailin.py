"""Mail to the digest's service addresses (the worker's role handlers):

- LIST-reply+POST: a member's reply to an item of a digest. It is handed to the post
  path as a new message for LIST@, its header rewritten to thread under that post
  (listserv.digest.rethread). The original stays in `inbound` as received; the rewritten
  copy goes through the rules, review, threading and fan-out like any post.
- LIST-digest: a reply to a digest as a whole: passed on to the facilitators.
  LIST-digest+TOKEN: a facilitator's reply to a preview: the editorial note.
- LIST-prompts: a facilitator schedules a prompt, announcement or poll (confirmed by reply
  to LIST-prompts+TOKEN before anything is scheduled).
- LIST-vote+POLL: a member's vote.
Automatic mail (bounces, vacation replies, null senders) is never acted on or answered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from listserv.digest import gather
from listserv.digest.facilitation import (
    MAX_NOTE,
    find_token,
    issue_token,
    service_address,
)
from listserv.digest.mime import build_service_mail
from listserv.digest.model import reply_subject
from listserv.digest.orders import Order, read_order, read_vote
from listserv.digest.polls import add_poll, options_of, record_vote
from listserv.digest.prompts import add_prompt
from listserv.digest.rethread import needs_subject, rethread
from listserv.digest.schedule import Schedule, local_text
from listserv.digest.tables import (
    DigestIssue,
    DigestPoll,
    DigestPrompt,
    IssueStatus,
    PollStatus,
    PromptStatus,
)
from listserv.digest.trim import own_text
from listserv.inbound.ingest import dedupe_key
from listserv.mail.message import Role
from listserv.mail.parse import read_message_id
from listserv.mail.text import message_text
from listserv.moderation.records import is_facilitator
from listserv.moderation.reply import AUTOMATIC_SUBJECTS
from listserv.outbound.notices import forward_to_facilitators, may_answer
from listserv.outbound.queue import queue_message
from listserv.received import Received, notify_sender
from listserv.received import authenticated as sender_authenticated
from listserv.store import queries
from listserv.store.schema import InboundStatus, Post, Token

log = logging.getLogger(__name__)
YES = ("", "yes", "y", "ok", "okay", "confirm", "confirmed", "schedule", "go", "approve", "sure")
NO = ("no", "cancel", "stop", "drop", "delete", "remove")
CONFIRM_DAYS = 7


def automatic(received: Received) -> bool:
    """Bounces, null senders, Auto-Submitted or bulk mail, and out-of-office replies by subject."""
    if may_answer(received.inbound.mail_from, received.facts) and not AUTOMATIC_SUBJECTS.match(received.facts.subject):
        return False
    log.info("digest mail ignored list=%s role=%s reason=automatic msgid=%s", received.lst.address,
             received.role.value, received.facts.message_id)  # fmt: skip
    return True


def own_words(received: Received) -> str:
    return own_text(message_text(received.message, keep_quotes=False))


def authenticated(received: Received, address: str, what: str) -> bool:
    return sender_authenticated(received, address, what, "digest")


# -- LIST-reply+POST ---------------------------------------------------------------------------


def handle_reply(received: Received) -> None:
    lst, session, facts = received.lst, received.session, received.facts
    post = None
    if received.tag.isdigit() and len(received.tag) < 12:
        post = session.scalar(select(Post).where(Post.id == int(received.tag), Post.list_id == lst.id,
                                                 Post.decision.in_(("accept", "imported"))))  # fmt: skip
    raw = received.inbound.raw
    if post is not None and post.message_id:
        subject = reply_subject(post.subject) if needs_subject(facts.subject) else None
        raw = rethread(raw, post.message_id, post.references, subject)
    else:
        log.info("digest reply to unknown post list=%s tag=%r: posted as it is", lst.address, received.tag[:40])
    message_id = read_message_id(raw)
    stored = queries.insert_inbound(session, dict(
        list_id=lst.id, role=Role.POST.value, mail_from=received.inbound.mail_from, rcpt=lst.address,
        message_id=message_id, dedupe_key=dedupe_key(message_id, raw), raw=raw, received_at=received.now,
        status=InboundStatus.RECEIVED, attempts=0, error="",
    ))  # fmt: skip
    log.info("digest reply list=%s post=%s msgid=%s queued=%s", lst.address, post.id if post else "-",
             facts.message_id, stored)  # fmt: skip


# -- LIST-digest and LIST-digest+TOKEN ---------------------------------------------------------


def handle_digest(received: Received) -> None:
    lst = received.lst
    if automatic(received) or lst.service(Role.DIGEST) in received.facts.been_there:
        return
    token = find_token(received.session, received.work.secret(), lst, received.tag, ("note",)) if received.tag else None
    if token is None or received.facts.sender != token.address:
        rcpts = queries.facilitators(received.session, lst.id)
        if rcpts:
            raw = forward_to_facilitators(received.message, lst)
            queue_message(received.session, lst, "forward", raw, rcpts, received.now)
        log.info("digest reply forwarded to facilitators list=%s count=%d", lst.address, len(rcpts))
        return
    take_note(received, token)


def take_note(received: Received, token: Token) -> None:
    session, lst = received.session, received.lst
    issue = session.get(DigestIssue, token.target_id)
    if not is_facilitator(session, lst.id, token.address) or not authenticated(
        received, token.address, "note for the summary"
    ):
        return
    config = gather.load_digest_settings(session, lst.id)
    if issue is None or issue.status != IssueStatus.DRAFT or token.expires_at < received.now:
        reply_to_facilitator(received, token.address, "Too late for this summary", "digest-late.txt.j2")
        return
    text = own_words(received)
    skipped = text.split("\n", 1)[0].strip().lower().strip(".!") in ("skip", "no note", "none")
    issue.note, issue.note_state = ("", "skipped") if skipped else (text[:MAX_NOTE], "given")
    issue.note_by = "" if skipped else facilitator_name(received, token.address)
    token.used_at = received.now
    log.info("digest note list=%s issue=%s by=%s state=%s", lst.address, issue.id, token.address,
             issue.note_state)  # fmt: skip
    title = f"of {local_text(issue.period_end, config.schedule)}"
    reply_to_facilitator(received, token.address, "Note received" if not skipped else "No note this time", "digest-note.txt.j2",
           note=issue.note, skipped=skipped, title=title, due=local_text(issue.period_end, config.schedule))  # fmt: skip


def facilitator_name(received: Received, email: str) -> str:
    from listserv.digest.prompts import display_name

    return display_name(received.session, received.lst.id, email) or received.facts.sender_name or email


def reply_to_facilitator(
    received: Received, to: str, subject: str, template: str, reply_to: str = "", **context: object
) -> None:
    """A short answer to a facilitator (who is authenticated: no rate limit needed; automatic
    mail never gets this far)."""
    text = received.render(template, **context)
    raw = build_service_mail(received.lst, to, subject, text, reply_to or received.lst.service(Role.DIGEST),
                             received.now, in_reply_to=received.facts.message_id)  # fmt: skip
    queue_message(received.session, received.lst, "notice", raw, [to], received.now)


# -- LIST-prompts and LIST-prompts+TOKEN --------------------------------------------------------


def handle_prompts(received: Received) -> None:
    if automatic(received):
        return
    if received.tag:
        confirm_order(received)
        return
    session, lst, sender = received.session, received.lst, received.facts.sender
    if not is_facilitator(session, lst.id, sender):
        log.info("prompt refused list=%s from=%s reason=not-facilitator", lst.address, sender)
        text = received.render("prompt-refused.txt.j2")
        notify_sender(received, "prompt-refused", f"Not scheduled: {received.facts.subject}", text)
        return
    config = gather.load_digest_settings(session, lst.id)
    order = read_order(received.facts.subject, own_words(received), config.schedule, received.now)
    if order.problems:
        reply_to_facilitator(received, sender, f"Not scheduled: {order.subject}", "prompt-problems.txt.j2",
               problems=order.problems)  # fmt: skip
        return
    purpose, target = store_order(received, order)
    expires = received.now + timedelta(days=CONFIRM_DAYS)
    token = issue_token(session, received.work.secret(), lst, purpose, target, sender, received.now, expires)
    reply_to_facilitator(received, sender, f"Please confirm: {order.subject}", "prompt-confirm.txt.j2",
           reply_to=service_address(lst, Role.PROMPTS, token), order=order, **when_texts(order, config.schedule))  # fmt: skip


def when_texts(order: Order, schedule: Schedule) -> dict[str, object]:
    return dict(at=local_text(order.at, schedule), closes=local_text(order.closes, schedule) if order.closes else "")


def store_order(received: Received, order: Order) -> tuple[str, int]:
    session, lst, sender = received.session, received.lst, received.facts.sender
    if order.kind == "poll":
        assert order.closes is not None
        poll = add_poll(session, lst.id, sender, order.subject, order.body, order.options, order.at, order.closes,
                        received.now, PollStatus.CONFIRMING)  # fmt: skip
        return "poll", poll.id
    prompt = add_prompt(session, lst.id, sender, order.subject, order.body, order.at, received.now, order.every,
                        order.kind, PromptStatus.CONFIRMING)  # fmt: skip
    return "prompt", prompt.id


def confirm_order(received: Received) -> None:
    session, lst = received.session, received.lst
    token = find_token(session, received.work.secret(), lst, received.tag, ("prompt", "poll"))
    if token is None or received.facts.sender != token.address:
        log.warning("prompt confirmation refused list=%s from=%s reason=unknown-token", lst.address,
                    received.facts.sender)  # fmt: skip
        return
    if not is_facilitator(session, lst.id, token.address) or not authenticated(received, token.address, "confirmation"):
        return
    item: DigestPrompt | DigestPoll | None = (session.get(DigestPrompt, token.target_id) if token.purpose == "prompt"
                                              else session.get(DigestPoll, token.target_id))  # fmt: skip
    if item is None or token.used_at is not None or token.expires_at < received.now or item.status != "confirming":
        reply_to_facilitator(received, token.address, "Already handled", "prompt-handled.txt.j2")
        return
    word = (own_words(received).split() or [""])[0].lower().strip(".!,")
    if word not in YES + NO:
        reply_to_facilitator(received, token.address, "Not understood", "prompt-unclear.txt.j2",
               reply_to=service_address(lst, Role.PROMPTS, received.tag), word=word)  # fmt: skip
        return
    token.used_at = received.now
    scheduled = word in YES
    if isinstance(item, DigestPrompt):
        item.status = PromptStatus.SCHEDULED if scheduled else PromptStatus.REMOVED
    else:
        item.status = PollStatus.SCHEDULED if scheduled else PollStatus.REMOVED
    log.info("%s %s list=%s id=%s", token.purpose, "scheduled" if scheduled else "cancelled", lst.address, item.id)
    reply_to_facilitator(received, token.address, ("Scheduled: " if scheduled else "Cancelled: ") + subject_of(item),
           "prompt-done.txt.j2", scheduled=scheduled, kind=token.purpose, id=item.id)  # fmt: skip


def subject_of(item: DigestPrompt | DigestPoll) -> str:
    return item.subject if isinstance(item, DigestPrompt) else item.question


# -- LIST-vote+POLL --------------------------------------------------------------------------


def handle_vote(received: Received) -> None:
    if automatic(received):
        return
    session, lst, sender = received.session, received.lst, received.facts.sender
    poll = session.get(DigestPoll, int(received.tag)) if received.tag.isdigit() and len(received.tag) < 12 else None
    if poll is None or poll.list_id != lst.id or poll.status != PollStatus.OPEN:
        log.info("vote ignored list=%s tag=%r reason=no-open-poll", lst.address, received.tag[:40])
        return
    if not queries.is_member(session, lst.id, sender):
        log.info("vote ignored list=%s poll=%s from=%s reason=not-member", lst.address, poll.id, sender)
        return
    if not authenticated(received, sender, "vote"):
        return
    now = received.now
    if poll.closes_at <= now:
        log.info("vote ignored list=%s poll=%s from=%s reason=closed", lst.address, poll.id, sender)
        return
    lines = [line for line in own_words(received).split("\n") if line.strip()]
    choice = read_vote(lines[0] if lines else received.facts.subject.partition(":")[2], options_of(poll))
    if choice is None:
        text = received.render("vote-unclear.txt.j2", poll=poll, options=options_of(poll))
        notify_sender(received, f"vote-unclear-{poll.id}", f"Vote not counted: {poll.question}", text)
        return
    record_vote(session, poll.id, sender, choice, now)
    log.info("vote list=%s poll=%s from=%s choice=%d", lst.address, poll.id, sender, choice)
    text = received.render("vote-counted.txt.j2", poll=poll, choice=choice, option=options_of(poll)[choice - 1])
    notify_sender(received, f"vote-{poll.id}", f"Vote counted: {poll.question}", text)
