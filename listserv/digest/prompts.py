"""Prompts and announcements: scheduled, posted at their time as a normal post from the
facilitator (so replies thread under it), and shown at the head of the next summary.

Posting puts a message into `inbound` for the list's post address, exactly as if the
facilitator had sent it: the worker then runs it through the rules, threads and
distributes it. Each occurrence is recorded once (unique per prompt and occurrence) in the
same transaction, so two nodes, or a rerun after a crash, never post it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from email.utils import formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.digest import gather
from listserv.digest.model import PromptItem
from listserv.digest.orders import next_occurrence
from listserv.digest.tables import DigestPrompt, DigestPromptPost, PromptStatus
from listserv.digest.trim import digest_excerpt
from listserv.inbound.ingest import dedupe_key
from listserv.mail.message import ListInfo
from listserv.mail.parse import clean_header_value
from listserv.mail.text import inline_text_part
from listserv.outbound.decorate import serialize
from listserv.outbound.headers import encode_value, mail_date
from listserv.store import queries
from listserv.store.schema import InboundStatus, Member, Post

log = logging.getLogger(__name__)


def display_name(session: Session, list_id: int, email: str) -> str:
    name = session.scalar(select(Member.display_name).where(Member.list_id == list_id, Member.email == email))
    return name or ""


def build_post(lst: ListInfo, author: str, name: str, subject: str, text: str, message_id: str, now: datetime,
               headers: dict[str, str] | None = None) -> bytes:  # fmt: skip
    """A post from the facilitator, as their mail program would have written it."""
    message: Message = inline_text_part(text.rstrip("\n") + "\n")
    del message["Content-Disposition"]
    message["MIME-Version"] = "1.0"
    message["From"] = formataddr((clean_header_value(name), author))
    message["To"] = lst.address
    message["Subject"] = encode_value(subject)
    message["Date"] = mail_date(now)
    message["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        message[key] = value
    return serialize(message)


def inject_post(session: Session, lst: ListInfo, author: str, raw: bytes, message_id: str, now: datetime) -> bool:
    """Queue a post from `author` for the worker, as if it had come in by mail."""
    return queries.insert_inbound(session, dict(
        list_id=lst.id, role="post", mail_from=author, rcpt=lst.address, message_id=message_id,
        dedupe_key=dedupe_key(message_id, raw), raw=raw, received_at=now, status=InboundStatus.RECEIVED,
        attempts=0, error="",
    ))  # fmt: skip


def post_prompt(session: Session, prompt: DigestPrompt, now: datetime) -> bool:
    """Post this occurrence of a prompt (False: it was posted already) and schedule the next."""
    assert prompt.next_at is not None
    config = gather.load_digest_settings(session, prompt.list_id)
    lst = config.lst
    message_id = make_msgid("prompt", domain=lst.domain)
    try:
        with session.begin_nested():
            session.add(DigestPromptPost(prompt_id=prompt.id, list_id=lst.id, occurrence=prompt.next_at,
                                         message_id=message_id, posted_at=now))  # fmt: skip
            session.flush()
    except IntegrityError:
        return False
    raw = build_post(lst, prompt.author, display_name(session, lst.id, prompt.author), prompt.subject, prompt.body,
                     message_id, now)  # fmt: skip
    inject_post(session, lst, prompt.author, raw, message_id, now)
    following = next_occurrence(prompt.next_at, prompt.every, config.schedule)
    while following is not None and following <= now:  # missed while down: once, then on schedule
        following = next_occurrence(following, prompt.every, config.schedule)
    prompt.next_at = following
    prompt.posted += 1
    if following is None:
        prompt.status = PromptStatus.DONE
    log.info("prompt posted list=%s prompt=%s msgid=%s next=%s", lst.address, prompt.id, message_id, following)
    return True


def post_due_prompts(sessions: Callable[[], Session], now: datetime) -> int:
    """Post every scheduled prompt whose time has come; returns how many were posted."""
    with sessions() as session:
        due = list(session.scalars(select(DigestPrompt.id).where(DigestPrompt.status == PromptStatus.SCHEDULED,
                                                                  DigestPrompt.next_at <= now)
                                   .order_by(DigestPrompt.next_at)))  # fmt: skip
    posted = 0
    for prompt_id in due:
        with sessions() as session, session.begin():
            prompt = session.get(DigestPrompt, prompt_id, with_for_update=True)
            if prompt and prompt.status == PromptStatus.SCHEDULED and prompt.next_at and prompt.next_at <= now:
                posted += post_prompt(session, prompt, now)
    return posted


def add_prompt(session: Session, list_id: int, author: str, subject: str, body: str, at: datetime, now: datetime,
               every: str = "", kind: str = "prompt",
               status: PromptStatus = PromptStatus.SCHEDULED) -> DigestPrompt:  # fmt: skip
    prompt = DigestPrompt(list_id=list_id, kind=kind, subject=subject, body=body, author=author, next_at=at,
                          every=every, status=status, posted=0, created_at=now)  # fmt: skip
    session.add(prompt)
    session.flush()
    return prompt


def prompts_for_digest(session: Session, list_id: int, start: datetime, end: datetime) -> list[PromptItem]:
    """Prompts and announcements posted in the period, each with its post (for the reply address)."""
    query = (
        select(DigestPromptPost.message_id, DigestPromptPost.posted_at, DigestPrompt.kind, DigestPrompt.subject,
               DigestPrompt.body, DigestPrompt.author)
        .join(DigestPrompt, DigestPrompt.id == DigestPromptPost.prompt_id)
        .where(DigestPromptPost.list_id == list_id, DigestPromptPost.posted_at >= start,
               DigestPromptPost.posted_at < end)
        .order_by(DigestPromptPost.posted_at)
    )  # fmt: skip
    items = []
    for message_id, posted_at, kind, subject, body, author in session.execute(query):
        post_id = session.scalar(select(Post.id).where(Post.list_id == list_id, Post.message_id == message_id,
                                                       Post.decision == "accept"))  # fmt: skip
        name = display_name(session, list_id, author) or author.partition("@")[0]
        items.append(PromptItem(kind, subject, digest_excerpt(body, max_chars=600, max_lines=12), name, post_id or 0,
                                posted_at))  # fmt: skip
    return items
