"""Load what the rules need from the database: the list's policy and the sender's standing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listserv.moderation.rules import ACTIONS, Action, Policy, SenderRule, parse_patterns
from listserv.store.schema import MailingList, Member
from listserv.moderation.tables import SenderRule as SenderRuleRow


@dataclass(frozen=True)
class Standing:
    """The sender's membership, as the rules see it."""

    is_member: bool = False
    is_facilitator: bool = False
    moderation: str = ""
    posts_approved: int = 0


def action(value: str, default: Action) -> Action:
    return ACTIONS.get(value.strip().lower(), default)


def load_policy(session: Session, list_id: int) -> Policy:
    row = session.get_one(MailingList, list_id)
    rules = session.execute(
        select(SenderRuleRow.pattern, SenderRuleRow.action, SenderRuleRow.reason)
        .where(SenderRuleRow.list_id == list_id).order_by(SenderRuleRow.id)
    ).all()  # fmt: skip
    return Policy(
        nonmember_action=action(row.nonmember_action, Action.HOLD),
        new_member_posts=row.new_member_posts,
        emergency=row.emergency_moderation,
        hold_message_size=row.hold_message_size,
        max_recipients=row.max_recipients,
        require_subject=row.require_subject,
        patterns=parse_patterns(row.hold_patterns),
        spam_action=action(row.spam_action, Action.HOLD),
        sender_rules=tuple(SenderRule(p, action(a, Action.HOLD), r) for p, a, r in rules),
    )  # fmt: skip


def load_standing(session: Session, list_id: int, email: str) -> Standing:
    if not email:
        return Standing()
    row = session.execute(
        select(Member.role, Member.moderation, Member.posts_approved)
        .where(Member.list_id == list_id, Member.email == email)
    ).first()  # fmt: skip
    if row is None:
        return Standing()
    return Standing(True, row[0] == "facilitator", row[1] or "", row[2] or 0)
