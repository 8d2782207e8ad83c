"""The per-list DMARC settings (columns of `lists`, migration 0010) and reading them."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from listserv.dmarc.policy import AuthorReply, DmarcAction, DmarcPolicy, Mitigation
from listserv.store.admin import ListSetting
from listserv.store.queries import LISTS

Choice = TypeVar("Choice", bound=StrEnum)
DMARC_SETTINGS = {
    "dmarc_mitigation": ListSetting(str, tuple(Mitigation), help="send posts From the list: when the author's "
                                    "domain has DMARC p=quarantine or p=reject (policy), always, or never"),
    "dmarc_action": ListSetting(str, tuple(DmarcAction), help="how: rewrite From (munge) or attach the original "
                                "to a message From the list (wrap)"),
    "dmarc_author_reply": ListSetting(str, tuple(AuthorReply), help="how the author stays reachable: Reply-To "
                                      "(Cc when the list sets Reply-To itself), always Cc, or as reply-to with a "
                                      "LIST-author+TOKEN alias that forwards to them"),
}  # fmt: skip
LIST_DMARC = select(LISTS.c.dmarc_mitigation, LISTS.c.dmarc_action, LISTS.c.dmarc_author_reply).where(
    LISTS.c.id == bindparam("list_id")
)


def load_dmarc_policy(session: Session, list_id: int) -> DmarcPolicy:
    """The list's choices; a value the database holds but we do not know reads as the default."""
    mitigation, action, author_reply = session.execute(LIST_DMARC, {"list_id": list_id}).one()
    defaults = DmarcPolicy()
    return DmarcPolicy(
        mitigation=_known(Mitigation, mitigation, defaults.mitigation),
        action=_known(DmarcAction, action, defaults.action),
        author_reply=_known(AuthorReply, author_reply, defaults.author_reply),
    )


def _known(kind: type[Choice], value: str, default: Choice) -> Choice:
    try:
        return kind(value)
    except ValueError:
        return default
