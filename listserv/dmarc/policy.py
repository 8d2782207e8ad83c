"""A list's DMARC choices and whether a post needs mitigating. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from listserv.dmarc.discover import AuthorPolicy


class Mitigation(StrEnum):
    POLICY = "policy"  # only when the author's domain publishes p=quarantine or p=reject (or unknown)
    ALWAYS = "always"
    NEVER = "never"


class DmarcAction(StrEnum):
    MUNGE = "munge"  # From becomes the list, with the author's name
    WRAP = "wrap"  # a new message From the list, the original attached whole (message/rfc822)


class AuthorReply(StrEnum):
    REPLY_TO = "reply-to"  # the author in Reply-To; in Cc when the list sets Reply-To itself
    CC = "cc"
    ALIAS = "alias"  # as reply-to, but with LIST-author+TOKEN@domain, which forwards to the author


@dataclass(frozen=True)
class DmarcPolicy:
    mitigation: Mitigation = Mitigation.POLICY
    action: DmarcAction = DmarcAction.MUNGE
    author_reply: AuthorReply = AuthorReply.REPLY_TO


def needs_mitigation(policy: DmarcPolicy, author: AuthorPolicy | None) -> bool:
    """`author` is the looked-up policy (None when none was looked up). An unknown policy counts
    as strict: a copy junked or refused is worse than one From the list."""
    if policy.mitigation is Mitigation.NEVER:
        return False
    if policy.mitigation is Mitigation.ALWAYS:
        return True
    return author is not None and (author.strict or not author.known)
