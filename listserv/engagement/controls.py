"""Mail to LIST-do+REF (the worker's role handler): steer the discussion of post REF by reply.

REF is signed (listserv/tokens.py `signed_ref`), so an unknown or forged one names nothing: it
is refused and logged, and never answered (no backscatter). So is mail from an address that is
not a member of the list. A member whose domain fails authentication (`moderation_auth`, as
replies to hold notices) is told "Not done" once a day. Every command is confirmed by a short
reply whose Reply-To is the same address, so a second word (`unmute`) is one reply away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from listserv.digest.mailin import authenticated, automatic, own_words
from listserv.digest.mime import build_service_mail
from listserv.digest.polls import add_poll
from listserv.discussions import steering
from listserv.discussions.admin import merge, split
from listserv.discussions.controls import Control, Unclear, Verb, control_address, read_control, refusal
from listserv.discussions.tables import Discussion
from listserv.errors import Invalid, NotFound
from listserv.mail.message import Role
from listserv.outbound.queue import queue_message
from listserv.received import Received
from listserv.store.schema import Member, Post
from listserv.tokens import read_signed_ref

log = logging.getLogger(__name__)
FEEDBACK_DAYS = 7


@dataclass(frozen=True)
class Asked:
    """A command about one discussion, from a member whose mail passed the checks."""

    control: Control
    discussion: Discussion
    post: Post
    member: Member


def handle_control(received: Received) -> None:
    lst = received.lst
    if automatic(received) or {lst.service(Role.CONTROL), lst.service(Role.DIGEST)} & set(received.facts.been_there):
        return
    found = gather(received)
    if found is None:
        return
    post, discussion, member = found
    if not authenticated(received, member.email, "a discussion command"):
        return
    command = read_control(received.facts.subject, own_words(received))
    if isinstance(command, Unclear):
        confirm(received, post.id, "Not understood", f"No command was found in: {command.text[:200]!r}.")
        return
    refused = refusal(command.verb, member.role == "facilitator", discussion.started_by == member.email)
    if refused is not None:
        log.warning("control refused list=%s from=%s verb=%s reason=%s", lst.address, member.email,
                    command.verb.value, refused)  # fmt: skip
        confirm(received, post.id, "Not done", f"Not done: {refused}.")
        return
    done, outcome = apply(received, Asked(command, discussion, post, member))
    log.info("control list=%s by=%s verb=%s discussion=%s done=%s", lst.address, member.email, command.verb.value,
             discussion.id, done)  # fmt: skip
    confirm(received, post.id, "Done" if done else "Not done", outcome)


def gather(received: Received) -> tuple[Post, Discussion, Member] | None:
    """The post REF names, its discussion and the sender's membership; None (logged) if any is missing."""
    session, lst, sender = received.session, received.lst, received.facts.sender
    post_id = read_signed_ref(received.work.secret(), lst.id, received.tag)
    post = session.get(Post, post_id) if post_id is not None else None
    discussion = steering.discussion_of_post(session, lst.id, post_id) if post_id is not None else None
    member = session.scalar(select(Member).where(Member.list_id == lst.id, Member.email == sender))
    if post is None or discussion is None or member is None:
        why = "unknown or forged reference" if post is None or discussion is None else "not a member"
        log.warning("control refused list=%s from=%s tag=%r reason=%s", lst.address, sender, received.tag[:40], why)
        return None
    return post, discussion, member


def apply(received: Received, asked: Asked) -> tuple[bool, str]:
    """Carry out one command: was it done, and the sentence that tells the sender what happened."""
    session, now, discussion = received.session, received.now, asked.discussion
    subject = f"\u201c{discussion.subject or '(no subject)'}\u201d"
    verb = asked.control.verb
    if verb in (Verb.FOLLOW, Verb.MUTE, Verb.UNMUTE):
        choice = {Verb.FOLLOW: steering.FOLLOW, Verb.MUTE: steering.MUTE}.get(verb)
        steering.choose(session, discussion, asked.member.id, choice, now)
        return True, {Verb.FOLLOW: f"You now get each new post of {subject} by mail, whatever your delivery mode.",
                Verb.MUTE: f"You now get no more posts of {subject}, by mail or in your digest.",
                Verb.UNMUTE: f"You now get {subject} as you get the rest of the list."}[verb]  # fmt: skip
    if verb is Verb.ANSWERED:
        discussion.answered_at = now
        return True, f"{subject} is now marked answered: it leaves the digest's unanswered questions."
    if verb is Verb.HIGHLIGHT:
        discussion.highlighted_at = now
        return True, f"{subject} is now highlighted at the top of the next digest."
    if verb is Verb.CLOSE:
        discussion.closed_at = now
        return True, f"{subject} is now closed: new posts to it are refused."
    if verb is Verb.REOPEN:
        discussion.closed_at = None
        return True, f"{subject} is now open to new posts again."
    if verb is Verb.SPLIT:
        return split_off(received, asked)
    if verb is Verb.FEEDBACK:
        return feedback_form(received, asked)
    return merge_into(received, asked)


def split_off(received: Received, asked: Asked) -> tuple[bool, str]:
    try:
        old, new = split(received.session, received.lst.id, asked.post.message_id, received.lst.subject_prefix,
                         received.now)  # fmt: skip
    except (Invalid, NotFound) as problem:
        return False, f"Nothing was split: {problem}."
    steering.copy_choices(received.session, old, new, received.now)
    return True, f"The post and its replies are now a discussion of their own, \u201c{new.subject}\u201d (#{new.id})."


def merge_into(received: Received, asked: Asked) -> tuple[bool, str]:
    session, lst = received.session, received.lst
    other_id = read_signed_ref(received.work.secret(), lst.id, asked.control.argument)
    target = steering.discussion_of_post(session, lst.id, other_id) if other_id is not None else None
    if target is None:
        return False, "Nothing was merged: the other discussion's reference was not recognised."
    if target.id == asked.discussion.id:
        return False, "Nothing was merged: that is one discussion already."
    steering.move_choices(session, asked.discussion, target)
    moved = merge(session, lst.id, asked.discussion, target, lst.subject_prefix)
    return True, f"{moved} post{'' if moved == 1 else 's'} now belong to \u201c{target.subject}\u201d (#{target.id})."


def confirm(received: Received, post_id: int, subject: str, outcome: str) -> None:
    lst, to = received.lst, received.facts.sender
    here = control_address(lst, received.work.secret(), post_id)
    text = received.render("control-done.txt.j2", outcome=outcome, control=here)
    raw = build_service_mail(lst, to, f"{subject}: {received.facts.subject or 'your command'}"[:200], text, here,
                             received.now, name=lst.name, in_reply_to=received.facts.message_id)  # fmt: skip
    queue_message(received.session, lst, "notice", raw, [to], received.now)


def feedback_form(received: Received, asked: Asked) -> tuple[bool, str]:
    """Each question becomes a poll (digest/polls.py): posted to the members at once, answered by
    reply to LIST-vote+POLL, closed after FEEDBACK_DAYS; the results go to the facilitators and
    into the weekly report."""
    subject = asked.discussion.subject or "(no subject)"
    closes = received.now + timedelta(days=FEEDBACK_DAYS)
    questions = asked.control.questions
    for number, question in enumerate(questions, start=1):
        body = f"Feedback on the discussion \u201c{subject}\u201d, question {number} of {len(questions)}."
        add_poll(received.session, received.lst.id, asked.member.email, question.text, body, question.choices,
                 received.now, closes, received.now)  # fmt: skip
    count = f"{len(questions)} question{'' if len(questions) == 1 else 's'}"
    return True, (
        f"Your feedback form ({count}) about \u201c{subject}\u201d now goes to the members, one poll "
        f"a question, open for {FEEDBACK_DAYS} days; the results come to you and into the weekly report."
    )
