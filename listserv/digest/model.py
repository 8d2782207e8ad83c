"""The values a digest is made of: what the shell gathers, and the Digest composed from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from listserv.digest.questions import bare_subject
from listserv.library.model import Entry
from listserv.mail.message import ListInfo, Role

SUMMARY, MIME, PLAIN = "summary", "mime-digest", "plain-digest"
DIGEST_MODES = (SUMMARY, MIME, PLAIN)


@dataclass(frozen=True)
class PostItem:
    """One post distributed in the period (or an opening post from before it)."""

    post_id: int
    discussion_id: int  # the discussions row; -post_id for a post that was not threaded
    subject: str
    author: str  # normalised address
    author_name: str
    date: datetime  # naive UTC, when the list distributed it
    text: str  # the author's own words (quotes, signatures and footers trimmed)
    message_id: str
    in_reply_to: str = ""
    attachments: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        return self.author_name or self.author.partition("@")[0]


@dataclass(frozen=True)
class DiscussionInfo:
    id: int
    subject: str
    started_by: str
    started_at: datetime | None
    post_count: int  # all time
    opening: PostItem | None  # its first stored post
    highlighted_at: datetime | None = None  # a facilitator's `highlight` (discussion controls)


@dataclass(frozen=True)
class Said:
    """One post of the period as a summary quotes it: who, and the start of their own words."""

    who: str
    excerpt: str


@dataclass(frozen=True)
class Newcomer:
    email: str
    name: str


@dataclass(frozen=True)
class PromptItem:
    kind: str  # prompt | announcement
    subject: str
    text: str
    author_name: str
    post_id: int  # 0 when the post could not be found
    posted_at: datetime


@dataclass(frozen=True)
class PollOption:
    label: str  # "1", "2", ...
    text: str
    votes: int
    vote_mailto: str


@dataclass(frozen=True)
class PollItem:
    id: int
    question: str
    options: tuple[PollOption, ...]
    closes: str  # in the list's zone, for reading
    closed: bool
    voters: int
    vote_address: str


@dataclass(frozen=True)
class Gathered:
    """Everything the shell read for one issue."""

    lst: ListInfo
    period_start: datetime
    period_end: datetime
    posts: tuple[PostItem, ...]  # in the period, oldest first
    discussions: dict[int, DiscussionInfo] = field(default_factory=dict)
    candidates: tuple[PostItem, ...] = ()  # opening posts of threads nobody else has posted in
    newcomers: tuple[Newcomer, ...] = ()  # members (not staff) who joined in the period, and still are
    prompts: tuple[PromptItem, ...] = ()
    polls: tuple[PollItem, ...] = ()
    note: str = ""
    note_by: str = ""
    library_new: tuple[Entry, ...] = ()  # first shared in the period (library.model.this_week)
    library_top: tuple[Entry, ...] = ()  # the most recommended others
    secret: bytes = field(
        default=b"", repr=False
    )  # the server secret, for the items' discussion-control addresses (none without)


@dataclass(frozen=True)
class Item:
    """A discussion as a digest shows it."""

    discussion_id: int
    subject: str
    started_by: str
    started: str  # day, in the list's zone
    replies: int  # in the period
    participants: int  # in the period
    excerpt: str  # the opening post's own words; "" for a continuing discussion
    reply_mailto: str
    reply_address: str
    latest_by: str = ""
    asked_days: int = 0  # unanswered questions: days since asked
    continuing: bool = False  # started before the period
    said: tuple[Said, ...] = ()  # the period's posts (new discussions: its replies), oldest first
    more_said: int = 0  # the period's posts not quoted
    post_id: int = 0  # the post the reply address answers
    control: str = ""  # its LIST-do+REF address: steer the discussion by reply (docs/engagement.md)
    library: str = ""  # its LIST-library+REF address: curate what the post shared (docs/library.md)


@dataclass(frozen=True)
class Resource:
    name: str  # the URL, or the attachment's file name
    url: str  # "" for an attachment
    shared_by: str
    discussion: str
    reply_mailto: str


@dataclass(frozen=True)
class Digest:
    list_name: str
    list_address: str
    digest_address: str  # a reply to the digest as a whole: to the facilitators
    volume: int
    number: int
    period: str  # "30 Nov – 7 Dec 2026"
    date: datetime  # the end of the period: the Date
    note: str = ""
    note_by: str = ""
    prompts: tuple[PromptItem, ...] = ()
    prompt_mailtos: tuple[str, ...] = ()
    highlights: tuple[Item, ...] = ()  # discussions a facilitator highlighted for this issue
    new: tuple[Item, ...] = ()
    more_new: int = 0
    active: tuple[Item, ...] = ()
    more_active: int = 0
    unanswered: tuple[Item, ...] = ()
    welcome: tuple[str, ...] = ()
    more_welcome: int = 0
    welcomed: tuple[str, ...] = ()  # the addresses of those named in `welcome` (never rendered)
    resources: tuple[Resource, ...] = ()
    more_resources: int = 0
    polls_closed: tuple[PollItem, ...] = ()
    polls_open: tuple[PollItem, ...] = ()
    posts: tuple[PostItem, ...] = ()  # every post of the period, for the MIME and plain digests
    discussions: int = 0
    participants: int = 0
    library_new: tuple[Entry, ...] = ()  # "From the library this week" (docs/library.md)
    library_top: tuple[Entry, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.list_name} summary, Vol {self.volume}, Issue {self.number}"

    @property
    def digest_title(self) -> str:
        return f"{self.list_name} Digest, Vol {self.volume}, Issue {self.number}"

    def worth_sending(self, mode: str, scheduled: bool, reminders: bool) -> bool:
        """Whether this issue is a digest at all. Posts always are; a summary without posts, when
        it carries the facilitator's note or poll results; and a reminder alone (unanswered
        questions, open polls) only on the regular schedule of a list that wants reminders."""
        if self.posts:
            return True
        if mode != SUMMARY:
            return False
        if self.note or self.polls_closed:
            return True
        return scheduled and reminders and bool(self.unanswered or self.polls_open)


def reply_address(lst: ListInfo, post_id: int) -> str:
    """LIST-reply+POST@domain: a reply sent here is posted to the list in reply to that post."""
    return f"{lst.local_part}-{Role.REPLY.value}+{post_id}@{lst.domain}"


def mailto(address: str, subject: str = "", body: str = "") -> str:
    """An RFC 6068 mailto: URI; only subject and body, the two fields every client honours."""
    params = []
    if subject:
        params.append("subject=" + quote(subject, safe=""))
    if body:
        params.append("body=" + quote(body, safe=""))
    return f"mailto:{address}" + ("?" + "&".join(params) if params else "")


def reply_subject(subject: str) -> str:
    return "Re: " + (bare_subject(subject) or "(no subject)")


def reply_mailto(lst: ListInfo, post_id: int, subject: str) -> str:
    return mailto(reply_address(lst, post_id), reply_subject(subject))
