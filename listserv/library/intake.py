"""A post's resources into its list's library, as the worker records the post (worker/post.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import Message

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listserv.library.harvest import Found, harvest
from listserv.library.store import save_harvest
from listserv.store.schema import Post

log = logging.getLogger(__name__)


def harvest_post(session: Session, list_address: str, post: Post, message: Message, name: str,
                 now: datetime) -> int:  # fmt: skip
    """Record what the post shares, inside the post's transaction; how many resources.
    The library never costs a post: a harvesting bug is logged and the post goes on."""
    try:
        found = harvest(message)
    except Exception:  # a message our harvester cannot read is still a post
        log.exception("library harvest failed list=%s msgid=%s", list_address, post.message_id)
        return 0
    if not found:
        return 0
    for attempt in (1, 2):  # another node may add the same resource at the same moment
        try:
            with session.begin_nested():
                save_harvest(session, post.list_id, post, name, found, now)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    log.info("library list=%s msgid=%s resources=%d %s", list_address, post.message_id, len(found), kinds(found))
    return len(found)


def kinds(found: tuple[Found, ...]) -> str:
    counts: dict[str, int] = {}
    for item in found:
        counts[item.kind.value] = counts.get(item.kind.value, 0) + 1
    return " ".join(f"{kind}={count}" for kind, count in counts.items())
