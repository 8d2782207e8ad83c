"""Curation by mail: replies to LIST-library+REF (the worker's role handler), and the
library's -request commands (`library`, `library anonymise`).

REF names the post (and so its discussion) a command is about, as the discussion controls' LIST-do+REF
does: the post's id signed with the server secret (tokens.signed_ref), so nothing is stored per post
and it cannot be guessed. As for replies
to hold notices: automatic mail is ignored; an unknown or forged REF is refused and logged,
never answered; non-members are told no; a sender whose domain fails authentication is
told that nothing was done.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.orm import Session

from listserv.errors import ListservError, NotFound
from listserv.library import store
from listserv.library.answers import authenticated, automatic, library_mail, own_words
from listserv.library.commands import LibraryCommand, Verb, library_address, parse_commands
from listserv.library.model import FORMER_MEMBER
from listserv.library.render import render_markdown
from listserv.library.tables import LibraryResource
from listserv.mail.message import ListInfo, Role
from listserv.moderation.records import is_facilitator
from listserv.outbound.queue import queue_message
from listserv.received import Received, notify_sender
from listserv.store import queries
from listserv.store.schema import Post
from listserv.tokens import read_signed_ref

log = logging.getLogger(__name__)


def with_library_address(secret: bytes, lst: ListInfo, post: Post) -> ListInfo:
    """The list as the post's footer shows it: with the post's LIST-library+REF address (none without
    the server secret)."""
    if not secret:
        return lst
    return replace(lst, library_address=library_address(lst, secret, post.id))


def handle_library(received: Received) -> None:
    lst, sender = received.lst, received.facts.sender
    if automatic(received) or lst.service(Role.LIBRARY) in received.facts.been_there:
        return
    post_id = read_signed_ref(received.work.secret(), lst.id, received.tag)
    if post_id is None:
        log.warning("library command refused list=%s from=%s reason=unknown token", lst.address, sender)
        return
    if not queries.is_member(received.session, lst.id, sender):
        log.warning("library command refused list=%s from=%s reason=not a member", lst.address, sender)
        text = received.render("library-refused.txt.j2")
        notify_sender(received, "library-refused", f"Not done: {received.facts.subject or 'library'}", text)
        return
    if not authenticated(received, sender, "library command"):
        return
    asked = parse_commands(received.facts.subject, own_words(received))
    done = [act(received, post_id, command) for command in asked.commands]
    log.info("library commands list=%s by=%s done=%d unclear=%d", lst.address, sender, len(done),
             len(asked.unclear))  # fmt: skip
    answer(received, "Library: done" if done else "Library: nothing done", done, list(asked.unclear))


def act(received: Received, post_id: int, command: LibraryCommand) -> str:
    """Apply one command; a line for the answer."""
    session, sender, now = received.session, received.facts.sender, received.now
    try:
        if command.verb is Verb.ADD:
            name = received.facts.sender_name
            found, created = store.add_resource(session, received.lst.id, command.ref, sender, name, command.text,
                                                now, post_id=post_id)  # fmt: skip
            return f"#{found.id} {found.url or found.label}: {'added' if created else 'already there, noted'}"
        resource = target(session, received.lst.id, post_id, command.ref)
        if command.verb is Verb.TAG:
            tags = store.tag_resource(session, resource, command.text.split(), sender, now)
            return f"#{resource.id}: tags {' '.join(tags) or '(none)'}"
        if command.verb is Verb.RECOMMEND:
            new = store.recommend(session, resource, sender, now)
            return f"#{resource.id}: {'recommended' if new else 'you had recommended it already'}"
        if command.verb is Verb.OUTDATED:
            store.mark_outdated(session, resource, sender, now)
            return f"#{resource.id}: marked outdated"
        if command.verb is Verb.DESCRIBE:
            store.describe(session, resource, command.text, sender, now)
            return f"#{resource.id}: description set"
        if not is_facilitator(session, received.lst.id, sender):
            return f"{command.line}: only facilitators remove resources"
        store.remove(session, resource, sender, now)
        return f"#{resource.id}: removed"
    except ListservError as error:
        return f"{command.line}: {error}"


def target(session: Session, list_id: int, post_id: int, ref: str) -> LibraryResource:
    """The resource REF names; without REF, the one resource the post shared."""
    if ref:
        return store.find_resource(session, list_id, ref)
    shared = store.resources_of_post(session, list_id, post_id)
    if len(shared) != 1:
        numbers = ", ".join(f"#{r.id} {r.url or r.label}" for r in shared[:10]) or "none"
        raise NotFound(f"which resource? give its number (this post shared: {numbers})")
    return shared[0]


def answer(received: Received, subject: str, done: list[str], unclear: list[str]) -> None:
    lst, to = received.lst, received.facts.sender
    text = received.render("library-done.txt.j2", done=done, unclear=unclear)
    reply_to = f"{lst.local_part}-{Role.LIBRARY.value}+{received.tag}@{lst.domain}"
    raw = library_mail(lst, to, subject, text, reply_to, received.now, received.facts.message_id)
    queue_message(received.session, lst, "notice", raw, [to], received.now)


# -- LIST-request: `library`, `library anonymise` ---------------------------------------------------


def library_request(received: Received) -> bool:
    """Answer `library` or `library anonymise` sent to LIST-request; False for any other mail."""
    words = (received.facts.subject.strip() or own_words(received).strip()).lower().split()
    words = [w for w in words if w.rstrip(":") not in ("re", "fwd", "fw")]
    if not words or words[0] != "library" or words[1:] not in ([], ["anonymise"], ["anonymize"]):
        return False
    if automatic(received):
        return True
    lst, sender, session = received.lst, received.facts.sender, received.session
    if words[1:]:
        if not authenticated(received, sender, "library anonymise request"):
            return True
        changed = store.anonymise(session, lst.id, sender)
        log.info("library anonymised list=%s entries=%d", lst.address, changed)
        lines = [f'{changed} of your library entries now say "{FORMER_MEMBER}"; the resources stay.']
        answer_request(received, "Library: anonymised", "\n".join(lines))
    elif not queries.is_member(session, lst.id, sender):
        text = f"The library of {lst.address} is for its members.\n"
        notify_sender(received, "library-members-only", "Library: members only", text)
    else:
        answer_request(received, f"The library of {lst.name}", render_markdown(store.load_library(session, lst.id)))
    return True


def answer_request(received: Received, subject: str, text: str) -> None:
    lst, to = received.lst, received.facts.sender
    raw = library_mail(lst, to, subject, text, lst.service(Role.REQUEST), received.now, received.facts.message_id)
    queue_message(received.session, lst, "notice", raw, [to], received.now)
