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

from listserv.digest.facilitation import MAX_NOTE, find_token, issue_token, service_address
from listserv.digest.mime import build_service_mail
from listserv.digest.model import reply_subject
from listserv.digest.orders import Order, read_order, read_vote
from listserv.digest.polls import add_poll, options_of, record_vote
from listserv.digest.prompts import add_prompt
from listserv.digest.rethread import needs_subject, rethread
from listserv.digest.schedule import Schedule, local_text
from listserv.digest.trim import own_text
from listserv.digest import gather
from listserv.inbound.ingest import dedupe_key
from listserv.mail.parse import read_message_id
from listserv.received import Incoming, notify_sender, queue_message
from listserv.mail.message import Role
from listserv.inbound.authres import auth_refusal
from listserv.mail.text import message_text
from listserv.outbound.notices import forward_to_facilitators, may_answer
from listserv.inbound.authcheck import reply_verdict
from listserv.moderation.records import is_facilitator
from listserv.moderation.reply import AUTOMATIC_SUBJECTS
from listserv.store import queries
from listserv.store.schema import InboundStatus, Post, utcnow
from listserv.digest.tables import DigestIssue, DigestPoll, DigestPrompt, DigestToken, IssueStatus, PollStatus
from listserv.digest.tables import PromptStatus

log = logging.getLogger(__name__)
YES = ("", "yes", "y", "ok", "okay", "confirm", "confirmed", "schedule", "go", "approve", "sure")
NO = ("no", "cancel", "stop", "drop", "delete", "remove")
CONFIRM_DAYS = 7


def automatic(incoming: Incoming) -> bool:
    """Bounces, null senders, Auto-Submitted or bulk mail, and out-of-office replies by subject."""
    if may_answer(incoming.inbound.mail_from, incoming.facts) and not AUTOMATIC_SUBJECTS.match(incoming.facts.subject):
        return False
    log.info("digest mail ignored list=%s role=%s reason=automatic msgid=%s", incoming.lst.address,
             incoming.role.value, incoming.facts.message_id)  # fmt: skip
    return True


def own_words(incoming: Incoming) -> str:
    return own_text(message_text(incoming.message, keep_quotes=False))


def authenticated(incoming: Incoming, address: str) -> bool:
    """The sender's domain does not fail authentication (moderation_auth, as for held posts)."""
    domain = address.rpartition("@")[2]
    verdict = reply_verdict(incoming.inbound.raw, incoming.message, domain, incoming.settings)
    refusal = auth_refusal(verdict, incoming.settings.moderation_auth, domain)
    if refusal:
        log.warning("digest mail refused list=%s from=%s reason=%s", incoming.lst.address, address, refusal)
    return refusal is None


# -- LIST-reply+POST ---------------------------------------------------------------------------


def handle_reply(incoming: Incoming) -> None:
    lst, session, facts = incoming.lst, incoming.session, incoming.facts
    post = None
    if incoming.tag.isdigit() and len(incoming.tag) < 12:
        post = session.scalar(select(Post).where(Post.id == int(incoming.tag), Post.list_id == lst.id,
                                                 Post.decision.in_(("accept", "imported"))))  # fmt: skip
    raw = incoming.inbound.raw
    if post is not None and post.message_id:
        subject = reply_subject(post.subject) if needs_subject(facts.subject) else None
        raw = rethread(raw, post.message_id, post.references, subject)
    else:
        log.info("digest reply to unknown post list=%s tag=%r: posted as it is", lst.address, incoming.tag[:40])
    message_id = read_message_id(raw)
    stored = queries.insert_inbound(session, dict(
        list_id=lst.id, role=Role.POST.value, mail_from=incoming.inbound.mail_from, rcpt=lst.address,
        message_id=message_id, dedupe_key=dedupe_key(message_id, raw), raw=raw, received_at=utcnow(),
        status=InboundStatus.RECEIVED, attempts=0, error="",
    ))  # fmt: skip
    log.info("digest reply list=%s post=%s msgid=%s queued=%s", lst.address, post.id if post else "-",
             facts.message_id, stored)  # fmt: skip


# -- LIST-digest and LIST-digest+TOKEN ---------------------------------------------------------


def handle_digest(incoming: Incoming) -> None:
    lst = incoming.lst
    if automatic(incoming) or lst.service(Role.DIGEST) in incoming.facts.been_there:
        return
    token = find_token(incoming.session, lst, incoming.tag, ("note",)) if incoming.tag else None
    if token is None or incoming.facts.sender != token.facilitator:
        rcpts = queries.facilitators(incoming.session, lst.id)
        if rcpts:
            raw = forward_to_facilitators(incoming.message, lst)
            queue_message(incoming.session, lst, "forward", raw, rcpts)
        log.info("digest reply forwarded to facilitators list=%s count=%d", lst.address, len(rcpts))
        return
    take_note(incoming, token)


def take_note(incoming: Incoming, token: DigestToken) -> None:
    session, lst = incoming.session, incoming.lst
    issue = session.get(DigestIssue, token.target_id)
    if not is_facilitator(session, lst.id, token.facilitator) or not authenticated(incoming, token.facilitator):
        return
    config = gather.load_settings(session, lst.id)
    if issue is None or issue.status != IssueStatus.DRAFT or token.expires_at < utcnow():
        answer(incoming, token.facilitator, "Too late for this summary", "digest-late.txt.j2")
        return
    text = own_words(incoming)
    skipped = text.split("\n", 1)[0].strip().lower().strip(".!") in ("skip", "no note", "none")
    issue.note, issue.note_state = ("", "skipped") if skipped else (text[:MAX_NOTE], "given")
    issue.note_by = "" if skipped else facilitator_name(incoming, token.facilitator)
    token.used_at = utcnow()
    log.info("digest note list=%s issue=%s by=%s state=%s", lst.address, issue.id, token.facilitator,
             issue.note_state)  # fmt: skip
    title = f"of {local_text(issue.period_end, config.schedule)}"
    answer(incoming, token.facilitator, "Note received" if not skipped else "No note this time", "digest-note.txt.j2",
           note=issue.note, skipped=skipped, title=title, due=local_text(issue.period_end, config.schedule))  # fmt: skip


def facilitator_name(incoming: Incoming, email: str) -> str:
    from listserv.digest.prompts import display_name

    return display_name(incoming.session, incoming.lst.id, email) or incoming.facts.sender_name or email


def answer(incoming: Incoming, to: str, subject: str, template: str, reply_to: str = "", **context: object) -> None:
    """A short answer to a facilitator (who is authenticated: no rate limit needed; automatic
    mail never gets this far)."""
    text = incoming.render(template, **context)
    raw = build_service_mail(incoming.lst, to, subject, text, reply_to or incoming.lst.service(Role.DIGEST),
                             in_reply_to=incoming.facts.message_id)  # fmt: skip
    queue_message(incoming.session, incoming.lst, "notice", raw, [to])


# -- LIST-prompts and LIST-prompts+TOKEN --------------------------------------------------------


def handle_prompts(incoming: Incoming) -> None:
    if automatic(incoming):
        return
    if incoming.tag:
        confirm_order(incoming)
        return
    session, lst, sender = incoming.session, incoming.lst, incoming.facts.sender
    if not is_facilitator(session, lst.id, sender):
        log.info("prompt refused list=%s from=%s reason=not-facilitator", lst.address, sender)
        text = incoming.render("prompt-refused.txt.j2")
        notify_sender(incoming, "prompt-refused", f"Not scheduled: {incoming.facts.subject}", text)
        return
    config = gather.load_settings(session, lst.id)
    order = read_order(incoming.facts.subject, own_words(incoming), config.schedule, utcnow())
    if order.problems:
        answer(incoming, sender, f"Not scheduled: {order.subject}", "prompt-problems.txt.j2",
               problems=order.problems)  # fmt: skip
        return
    purpose, target = store_order(incoming, order)
    token = issue_token(session, lst, purpose, target, sender, utcnow() + timedelta(days=CONFIRM_DAYS))
    answer(incoming, sender, f"Please confirm: {order.subject}", "prompt-confirm.txt.j2",
           reply_to=service_address(lst, Role.PROMPTS, token), order=order, **when_texts(order, config.schedule))  # fmt: skip


def when_texts(order: Order, schedule: Schedule) -> dict[str, object]:
    return dict(at=local_text(order.at, schedule), closes=local_text(order.closes, schedule) if order.closes else "")


def store_order(incoming: Incoming, order: Order) -> tuple[str, int]:
    session, lst, sender = incoming.session, incoming.lst, incoming.facts.sender
    if order.kind == "poll":
        assert order.closes is not None
        poll = add_poll(session, lst.id, sender, order.subject, order.body, order.options, order.at, order.closes,
                        PollStatus.CONFIRMING)  # fmt: skip
        return "poll", poll.id
    prompt = add_prompt(session, lst.id, sender, order.subject, order.body, order.at, order.every, order.kind,
                        PromptStatus.CONFIRMING)  # fmt: skip
    return "prompt", prompt.id


def confirm_order(incoming: Incoming) -> None:
    session, lst = incoming.session, incoming.lst
    token = find_token(session, lst, incoming.tag, ("prompt", "poll"))
    if token is None or incoming.facts.sender != token.facilitator:
        log.warning("prompt confirmation refused list=%s from=%s reason=unknown-token", lst.address,
                    incoming.facts.sender)  # fmt: skip
        return
    if not is_facilitator(session, lst.id, token.facilitator) or not authenticated(incoming, token.facilitator):
        return
    item: DigestPrompt | DigestPoll | None = (session.get(DigestPrompt, token.target_id) if token.purpose == "prompt"
                                              else session.get(DigestPoll, token.target_id))  # fmt: skip
    if item is None or token.used_at is not None or token.expires_at < utcnow() or item.status != "confirming":
        answer(incoming, token.facilitator, "Already handled", "prompt-handled.txt.j2")
        return
    word = (own_words(incoming).split() or [""])[0].lower().strip(".!,")
    if word not in YES + NO:
        answer(incoming, token.facilitator, "Not understood", "prompt-unclear.txt.j2",
               reply_to=service_address(lst, Role.PROMPTS, incoming.tag), word=word)  # fmt: skip
        return
    token.used_at = utcnow()
    scheduled = word in YES
    if isinstance(item, DigestPrompt):
        item.status = PromptStatus.SCHEDULED if scheduled else PromptStatus.REMOVED
    else:
        item.status = PollStatus.SCHEDULED if scheduled else PollStatus.REMOVED
    log.info("%s %s list=%s id=%s", token.purpose, "scheduled" if scheduled else "cancelled", lst.address, item.id)
    answer(incoming, token.facilitator, ("Scheduled: " if scheduled else "Cancelled: ") + subject_of(item),
           "prompt-done.txt.j2", scheduled=scheduled, kind=token.purpose, id=item.id)  # fmt: skip


def subject_of(item: DigestPrompt | DigestPoll) -> str:
    return item.subject if isinstance(item, DigestPrompt) else item.question


# -- LIST-vote+POLL --------------------------------------------------------------------------


def handle_vote(incoming: Incoming) -> None:
    if automatic(incoming):
        return
    session, lst, sender = incoming.session, incoming.lst, incoming.facts.sender
    poll = session.get(DigestPoll, int(incoming.tag)) if incoming.tag.isdigit() and len(incoming.tag) < 12 else None
    if poll is None or poll.list_id != lst.id or poll.status != PollStatus.OPEN:
        log.info("vote ignored list=%s tag=%r reason=no-open-poll", lst.address, incoming.tag[:40])
        return
    if not queries.is_member(session, lst.id, sender):
        log.info("vote ignored list=%s poll=%s from=%s reason=not-member", lst.address, poll.id, sender)
        return
    if not authenticated(incoming, sender):
        return
    now = utcnow()
    if poll.closes_at <= now:
        log.info("vote ignored list=%s poll=%s from=%s reason=closed", lst.address, poll.id, sender)
        return
    lines = [line for line in own_words(incoming).split("\n") if line.strip()]
    choice = read_vote(lines[0] if lines else incoming.facts.subject.partition(":")[2], options_of(poll))
    if choice is None:
        text = incoming.render("vote-unclear.txt.j2", poll=poll, options=options_of(poll))
        notify_sender(incoming, f"vote-unclear-{poll.id}", f"Vote not counted: {poll.question}", text)
        return
    record_vote(session, poll.id, sender, choice, now)
    log.info("vote list=%s poll=%s from=%s choice=%d", lst.address, poll.id, sender, choice)
    text = incoming.render("vote-counted.txt.j2", poll=poll, choice=choice, option=options_of(poll)[choice - 1])
    notify_sender(incoming, f"vote-{poll.id}", f"Vote counted: {poll.question}", text)
