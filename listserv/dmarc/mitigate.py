"""The one call the release makes: gather (the list's choices, the author's DMARC policy), decide,
then rewrite. DNS trouble never fails or stalls the post: the lookup is bounded by dns_timeout,
and an unknown policy is mitigated (the safe side), with one log line."""

from __future__ import annotations

import logging
from email.message import Message

from sqlalchemy.orm import Session

from listserv.dmarc.alias import issue_alias
from listserv.dmarc.discover import AuthorPolicy, discover_policy
from listserv.dmarc.policy import AuthorReply, Mitigation, needs_mitigation
from listserv.dmarc.rewrite import author_of, mitigated
from listserv.dmarc.store import load_dmarc_policy
from listserv.dns import resolver_of
from listserv.mail.message import ListInfo
from listserv.mail.parse import first_message_id, header_value
from listserv.work import Work

log = logging.getLogger(__name__)


def mitigate_dmarc(work: Work, session: Session, lst: ListInfo, message: Message) -> Message:
    """The post as it should go out: unchanged, or From the list (docs/dmarc.md)."""
    policy = load_dmarc_policy(session, lst.id)
    address, _ = author_of(message)
    if policy.mitigation is Mitigation.NEVER or not address:
        return message
    msgid = first_message_id(header_value(message, "Message-ID"))
    author: AuthorPolicy | None = None
    if policy.mitigation is Mitigation.POLICY:
        author = discover_policy(resolver_of(work.settings).txt, address.rpartition("@")[2])
        if not author.known:
            log.warning("dmarc policy unknown, mitigating list=%s msgid=%s domain=%s reason=%s; "
                        "check dns_resolver if this repeats", lst.address, msgid, author.domain, author.reason)  # fmt: skip
    if not needs_mitigation(policy, author):
        return message
    found = "-" if author is None else author.disposition if author.known else "unknown"
    log.info("dmarc mitigated list=%s msgid=%s action=%s policy=%s", lst.address, msgid, policy.action, found)
    alias = ""
    if policy.author_reply is AuthorReply.ALIAS:
        alias = issue_alias(session, work.secret(), lst, address, work.now())
    return mitigated(message, lst, policy.action, policy.author_reply, alias)
