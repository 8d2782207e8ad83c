"""Load what the rules need from the database: the list's policy and the sender's standing;
and the moderation settings an operator may change (`listserv list set`, `member set`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from listserv.moderation.rules import (
    ACTIONS,
    MEMBER_ACTIONS,
    Action,
    ModerationPolicy,
    SenderPattern,
    parse_patterns,
    pattern_problem,
)
from listserv.moderation.tables import SenderRule as SenderRuleRow
from listserv.store.admin import ListSetting
from listserv.store.queries import LISTS, MEMBERS

HOLD_OR_NOT = ("hold", "reject", "discard", "accept")
MODERATION_SETTINGS = {
    "nonmember_action": ListSetting(str, HOLD_OR_NOT, help="what happens to a post from a non-member"),
    "new_member_posts": ListSetting(int, help="a newcomer's first posts that are reviewed"),
    "emergency_moderation": ListSetting(bool, help="hold every post (but the facilitators')"),
    "hold_message_size": ListSetting(int, help="bytes over which a post is held; 0: off"),
    "max_recipients": ListSetting(int, help="addresses in To and Cc over which a post is held; 0: off"),
    "require_subject": ListSetting(bool, help="hold posts without a subject"),
    "hold_patterns": ListSetting(str, check=pattern_problem, help="'Header: regex' or 'body: regex' lines"),
    "spam_action": ListSetting(str, HOLD_OR_NOT, help="what happens to a post marked as spam"),
    "approve_always_adds": ListSetting(str, ("poster", "member"), help="what 'approve always' makes the sender"),
    "held_expire_days": ListSetting(int, help="days a held post waits before it expires", minimum=1),
}
RULES = cast(Table, SenderRuleRow.__table__)
LIST_POLICY = select(LISTS.c.nonmember_action, LISTS.c.new_member_posts, LISTS.c.emergency_moderation,
                     LISTS.c.hold_message_size, LISTS.c.max_recipients, LISTS.c.require_subject,
                     LISTS.c.hold_patterns, LISTS.c.spam_action).where(LISTS.c.id == bindparam("list_id"))  # fmt: skip
SENDER_RULES = (select(RULES.c.pattern, RULES.c.action, RULES.c.reason)
                .where(RULES.c.list_id == bindparam("list_id")).order_by(RULES.c.id))  # fmt: skip
STANDING = select(MEMBERS.c.role, MEMBERS.c.moderation, MEMBERS.c.posts_approved).where(
    MEMBERS.c.list_id == bindparam("list_id"), MEMBERS.c.email == bindparam("email")
)
MODERATION_MEMBER_SETTINGS = {
    "moderation": ListSetting(str, MEMBER_ACTIONS, help="this member's posts: accept, hold, reject or discard"),
}


@dataclass(frozen=True)
class Standing:
    """The sender's membership, as the rules see it."""

    is_member: bool = False
    is_facilitator: bool = False
    moderation: str = ""
    posts_approved: int = 0


def action(value: str, default: Action) -> Action:
    return ACTIONS.get(value.strip().lower(), default)


def load_moderation_policy(session: Session, list_id: int) -> ModerationPolicy:
    row = session.execute(LIST_POLICY, {"list_id": list_id}).one()
    rules = session.execute(SENDER_RULES, {"list_id": list_id}).all()
    return ModerationPolicy(
        nonmember_action=action(row.nonmember_action, Action.HOLD),
        new_member_posts=row.new_member_posts,
        emergency=row.emergency_moderation,
        hold_message_size=row.hold_message_size,
        max_recipients=row.max_recipients,
        require_subject=row.require_subject,
        patterns=parse_patterns(row.hold_patterns),
        spam_action=action(row.spam_action, Action.HOLD),
        sender_rules=tuple(SenderPattern(p, action(a, Action.HOLD), r) for p, a, r in rules),
    )  # fmt: skip


def load_standing(session: Session, list_id: int, email: str) -> Standing:
    if not email:
        return Standing()
    row = session.execute(STANDING, {"list_id": list_id, "email": email}).first()
    if row is None:
        return Standing()
    return Standing(True, row[0] == "facilitator", row[1] or "", row[2] or 0)
