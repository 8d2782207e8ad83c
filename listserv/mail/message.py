"""Frozen values passed between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What an address of a list is for."""

    POST = "post"  # LIST@domain: a post to the members
    OWNER = "owner"  # LIST-owner@domain: forwarded to the facilitators
    REQUEST = "request"  # LIST-request@domain: help and unsubscribe by mail
    BOUNCES = "bounces"  # LIST-bounces@domain (and +VERP): delivery reports
    MODERATE = "moderate"  # LIST-moderate+TOKEN@domain: facilitators' replies to hold notices
    JOIN = "join"  # LIST-join@domain: a subscription request (membership)
    LEAVE = "leave"  # LIST-leave@domain: leave the list (membership)
    CONFIRM = "confirm"  # LIST-confirm+TOKEN@domain: replies to confirmations (membership)
    REPLY = "reply"  # LIST-reply+POST@domain: a reply from a digest, posted in that discussion (digest)
    DIGEST = "digest"  # LIST-digest@domain (+TOKEN): replies to digests and previews, to the facilitators
    PROMPTS = "prompts"  # LIST-prompts@domain (+TOKEN): facilitators schedule prompts and polls (digest)
    VOTE = "vote"  # LIST-vote+POLL@domain: members' votes (digest)
    AUTHOR = "author"  # LIST-author+TOKEN@domain: replies forwarded to an author whose From was rewritten (dmarc)
    REPORT = "report"  # LIST-report+TOKEN@domain: facilitators' replies to the weekly report, invitations (engagement)
    LIBRARY = "library"  # LIST-library+REF@domain: members curate the resources a post shared (library)
    CONTROL = "do"  # LIST-do+REF@domain: one-word commands steering a post's discussion (engagement/controls.py)


class ListStatus(StrEnum):
    """A list's lifecycle (lists.status, migration 0007; docs/storage.md)."""

    OPEN = "open"
    CLOSED = "closed"  # no new posts or members; members may leave; the archive stays
    REMOVED = "removed"  # no mail at all (no such list); only its archive is left


@dataclass(frozen=True)
class Recipient:
    list_address: str
    role: Role
    tag: str = ""  # what followed "+" in the local part (VERP, tokens)


@dataclass(frozen=True)
class ListInfo:
    """A list's settings as the pure stages need them."""

    id: int
    address: str
    name: str
    description: str = ""
    subject_prefix: str = ""
    reply_to: str = "leave"  # leave | list | explicit
    reply_to_address: str = ""
    max_message_size: int = 0
    personalize: bool = False
    archive_url: str = ""
    status: ListStatus = ListStatus.OPEN
    library_address: str = ""  # LIST-library+REF@domain in one post's footer (library/mailin.py), else ""
    archive_access: str = "members"  # public | members | private (docs/archive.md)

    @property
    def local_part(self) -> str:
        return self.address.partition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2]

    def service(self, role: Role) -> str:
        """The address for one of the list's roles, e.g. LIST-owner@domain."""
        if role is Role.POST:
            return self.address
        return f"{self.local_part}-{role.value}@{self.domain}"


@dataclass(frozen=True)
class ParsedMessage:
    """What the pipeline needs to know about a message, read once."""

    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    sender: str  # normalised From address ("" when there is none)
    sender_name: str
    auto_submitted: str
    precedence: str
    list_ids: tuple[str, ...]
    been_there: tuple[str, ...]
    defects: tuple[str, ...]
