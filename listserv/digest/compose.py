"""Posts of a period -> the Digest: its sections, each item with a reply address. Pure.

Sections (docs/digest.md), each empty when there is nothing for it:
- from the facilitator: the editorial note;
- this week's prompt: prompts and announcements posted in the period;
- new discussions: started in the period, oldest first: the opening post, then who replied what;
- continuing discussions: the other discussions with posts in the period, by posts then
  people, each with who said what in the period (never the opening post, read before);
- unanswered questions: see listserv.digest.questions;
- welcome: members who joined in the period (not staff; the reader's own copy leaves them out);
- resources shared: links and attachment names, de-duplicated, first sharer kept;
- polls: closed in the period (results) and open ones (how to vote).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from listserv.digest.model import (
    Digest,
    DiscussionInfo,
    Gathered,
    Item,
    PostItem,
    Resource,
    Said,
    reply_address,
    reply_mailto,
)
from listserv.digest.questions import bare_subject, looks_like_question
from listserv.digest.reading import url_key
from listserv.digest.schedule import Schedule, local_day, to_local, zone_of
from listserv.digest.trim import digest_excerpt
from listserv.discussions.controls import control_address
from listserv.library.commands import library_address
from listserv.mail.message import ListInfo, Role

MAX_NEW = 15
MAX_ACTIVE = 5
MAX_UNANSWERED = 8
MAX_WELCOME = 30
MAX_SAID = 4  # posts quoted per discussion
SAID_CHARS = 200
MAX_RESOURCES = 30
QUESTION_LOOKBACK = timedelta(days=28)


@dataclass(frozen=True)
class PeriodThread:
    """A discussion's posts in the period."""

    key: int
    posts: tuple[PostItem, ...]
    info: DiscussionInfo | None

    @property
    def started_in_period(self) -> bool:
        return self.info is None or self.info.opening is None or self.info.opening.post_id == self.posts[0].post_id

    @property
    def opening(self) -> PostItem:
        if self.info is not None and self.info.opening is not None:
            return self.info.opening
        return self.posts[0]

    @property
    def subject(self) -> str:
        return bare_subject((self.info.subject if self.info else "") or self.opening.subject) or "(no subject)"

    @property
    def participants(self) -> int:
        return len({p.author for p in self.posts})


def threads_of(posts: Sequence[PostItem], discussions: dict[int, DiscussionInfo]) -> list[PeriodThread]:
    grouped: dict[int, list[PostItem]] = defaultdict(list)
    for post in sorted(posts, key=lambda p: (p.date, p.post_id)):
        grouped[post.discussion_id].append(post)
    return [PeriodThread(key, tuple(items), discussions.get(key)) for key, items in grouped.items()]


def said(posts: Sequence[PostItem]) -> tuple[tuple[Said, ...], int]:
    """Who said what, oldest first, each trimmed of quotes and signatures; and how many more."""
    shown = tuple(Said(p.who, digest_excerpt(p.text, max_chars=SAID_CHARS, max_lines=4)) for p in posts[:MAX_SAID])
    return shown, max(0, len(posts) - MAX_SAID)


def discussion_item(lst: ListInfo, schedule: Schedule, thread: PeriodThread, reply_to: PostItem, replies: int) -> Item:
    opening = thread.opening
    started = thread.info.started_at if thread.info and thread.info.started_at else opening.date
    latest = thread.posts[-1]
    continuing = not thread.started_in_period
    quoted, more = said(thread.posts if continuing else thread.posts[1:])
    return Item(
        discussion_id=thread.key, subject=thread.subject, started_by=opening.who, started=local_day(started, schedule),
        replies=replies, participants=thread.participants, excerpt="" if continuing else digest_excerpt(opening.text),
        reply_mailto=reply_mailto(lst, reply_to.post_id, thread.subject),
        reply_address=reply_address(lst, reply_to.post_id), latest_by=latest.who, continuing=continuing,
        post_id=reply_to.post_id,
        said=quoted, more_said=more,
    )  # fmt: skip


def new_and_active(lst: ListInfo, schedule: Schedule, threads: list[PeriodThread]) -> tuple[list[Item], list[Item]]:
    new = [t for t in threads if t.started_in_period]
    ongoing = [t for t in threads if not t.started_in_period]
    new.sort(key=lambda t: (t.posts[0].date, t.key))
    ongoing.sort(key=lambda t: (-len(t.posts), -t.participants, -t.posts[-1].date.timestamp(), t.key))
    new_items = [discussion_item(lst, schedule, t, t.posts[0], len(t.posts) - 1) for t in new]
    active_items = [discussion_item(lst, schedule, t, t.posts[-1], len(t.posts)) for t in ongoing]
    return new_items, active_items


def highlighted(lst: ListInfo, schedule: Schedule, gathered: Gathered, threads: list[PeriodThread],
                items: list[Item]) -> list[Item]:  # fmt: skip
    """The discussions a facilitator highlighted in the period: those with posts as the period shows
    them, then the others by their opening post."""
    marked = {i.id for i in gathered.discussions.values()
              if i.highlighted_at is not None and gathered.period_start <= i.highlighted_at < gathered.period_end}  # fmt: skip
    shown = [item for item in items if item.discussion_id in marked]
    quiet = [i for i in gathered.discussions.values() if i.id in marked and i.id not in {t.key for t in threads}]
    for info in sorted(quiet, key=lambda i: i.id):
        post = info.opening
        if post is None:
            continue
        shown.append(Item(
            discussion_id=info.id, subject=bare_subject(info.subject) or "(no subject)", started_by=post.who,
            started=local_day(post.date, schedule), replies=0, participants=0, excerpt=digest_excerpt(post.text),
            reply_mailto=reply_mailto(lst, post.post_id, info.subject), reply_address=reply_address(lst, post.post_id),
            post_id=post.post_id,
        ))  # fmt: skip
    return shown


def unanswered(lst: ListInfo, schedule: Schedule, gathered: Gathered, days: int) -> list[Item]:
    """Questions nobody but their author has answered, asked `days` or more before the end."""
    end = gathered.period_end
    items = []
    for post in sorted(gathered.candidates, key=lambda p: (p.date, p.post_id)):
        if not (end - QUESTION_LOOKBACK <= post.date <= end - timedelta(days=days)):
            continue
        if not looks_like_question(post.subject, post.text):
            continue
        subject = bare_subject(post.subject) or "(no subject)"
        items.append(Item(
            discussion_id=post.discussion_id, subject=subject, started_by=post.who,
            started=local_day(post.date, schedule), replies=0, participants=1, excerpt=digest_excerpt(post.text),
            reply_mailto=reply_mailto(lst, post.post_id, subject), reply_address=reply_address(lst, post.post_id),
            asked_days=(end - post.date).days, post_id=post.post_id,
        ))  # fmt: skip
    return items[:MAX_UNANSWERED]


def welcome_names(gathered: Gathered) -> tuple[dict[str, str], int]:
    """The members who joined in the period, by display name (address -> name); the others
    only counted: a digest does not publish addresses. The shell leaves the reader out of
    their own copy and staff out of all."""
    named = {p.email: p.name for p in gathered.newcomers if p.name.strip()}
    unnamed = len({p.email for p in gathered.newcomers} - set(named))
    shown = dict(list(named.items())[:MAX_WELCOME])
    return shown, len(named) - len(shown) + unnamed


def resources(lst: ListInfo, threads: list[PeriodThread]) -> list[Resource]:
    seen: set[str] = set()
    found: list[tuple[datetime, Resource]] = []
    for thread in threads:
        for post in thread.posts:
            mailto_ = reply_mailto(lst, post.post_id, thread.subject)
            for url in post.links:
                key = url_key(url)
                if key in seen or "/unsubscribe/" in url:
                    continue
                seen.add(key)
                found.append((post.date, Resource(url, url, post.who, thread.subject, mailto_)))
            for name in post.attachments:
                key = "file:" + name.lower()
                if key in seen:
                    continue
                seen.add(key)
                found.append((post.date, Resource(name, "", post.who, thread.subject, mailto_)))
    return [resource for _, resource in sorted(found, key=lambda pair: pair[0])]


def period_text(start: datetime, end: datetime, schedule: Schedule) -> str:
    zone = zone_of(schedule)
    first, last = to_local(start, zone), to_local(end - timedelta(seconds=1), zone)
    if first.date() == last.date():
        return f"{last.day} {last:%b %Y}"
    left = f"{first.day} {first:%b}" + ("" if first.year == last.year else f" {first.year}")
    return f"{left} – {last.day} {last:%b %Y}"


def steered(lst: ListInfo, secret: bytes, items: Sequence[Item]) -> tuple[Item, ...]:
    """The items with the addresses that act on the post they answer: LIST-do+REF (steer the
    discussion) and LIST-library+REF (curate its resources)."""
    if not secret:
        return tuple(items)
    return tuple(replace(item, control=control_address(lst, secret, item.post_id),
                         library=library_address(lst, secret, item.post_id)) if item.post_id else item
                 for item in items)  # fmt: skip


def compose_digest(gathered: Gathered, schedule: Schedule, volume: int, number: int, unanswered_days: int) -> Digest:
    lst = gathered.lst
    threads = threads_of(gathered.posts, gathered.discussions)
    new, active = new_and_active(lst, schedule, threads)
    highlights = highlighted(lst, schedule, gathered, threads, new + active)
    chosen = {item.discussion_id for item in highlights}
    new, active = (
        [i for i in new if i.discussion_id not in chosen],
        [i for i in active if i.discussion_id not in chosen],
    )
    names, more_names = welcome_names(gathered)
    found = resources(lst, threads)
    prompts = tuple(sorted(gathered.prompts, key=lambda p: p.posted_at))
    shown = {r.url or r.name for r in found[:MAX_RESOURCES]}  # the library section does not repeat them
    return Digest(
        list_name=lst.name, list_address=lst.address, digest_address=lst.service(Role.DIGEST), volume=volume,
        number=number, period=period_text(gathered.period_start, gathered.period_end, schedule),
        date=gathered.period_end,
        note=gathered.note.strip(), note_by=gathered.note_by, prompts=prompts,
        prompt_mailtos=tuple(reply_mailto(lst, p.post_id, p.subject) if p.post_id else "" for p in prompts),
        highlights=steered(lst, gathered.secret, highlights), new=steered(lst, gathered.secret, new[:MAX_NEW]),
        more_new=max(0, len(new) - MAX_NEW), active=steered(lst, gathered.secret, active[:MAX_ACTIVE]),
        more_active=max(0, len(active) - MAX_ACTIVE),
        unanswered=steered(lst, gathered.secret, unanswered(lst, schedule, gathered, unanswered_days)),
        welcome=tuple(names.values()), more_welcome=more_names, welcomed=tuple(names),
        resources=tuple(found[:MAX_RESOURCES]), more_resources=max(0, len(found) - MAX_RESOURCES),
        polls_closed=tuple(p for p in gathered.polls if p.closed),
        polls_open=tuple(p for p in gathered.polls if not p.closed),
        posts=tuple(sorted(gathered.posts, key=lambda p: (p.date, p.post_id))),
        discussions=len(threads), participants=len({p.author for p in gathered.posts}),
        library_new=tuple(e for e in gathered.library_new if not {e.url, e.label} & shown), library_top=gathered.library_top,
    )  # fmt: skip
