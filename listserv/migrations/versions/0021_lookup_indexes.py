"""lookup indexes: the engine's recurring lookups read an index, not a whole table

- `ix_outbound_planning` (partial, `plan_after IS NOT NULL`): before every message it processes,
  the worker asks for a fan-out still being planned. That was a scan of every outbound row
  kept, and on SQLite a read of each message's bytes (the column lies after `raw`): 12 ms a poll
  at 50,000 rows.
- `ix_outbound_post_id`: a post's outbound row, read for each post of a digest and by moderation.
- Foreign keys whose parent rows the engine deletes, so each delete found the children by a
  scan: `digest_receipts.outbound_id` (retention deletes digests' outbound rows),
  `fanout_choices.member_id` (members leave), `held_posts.inbound_id` (retention deletes
  inbound rows) and `moderation_log.held_id`.
- `ix_members_expires_at` (partial, `expires_at IS NOT NULL`): the expiry and reminder jobs.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

UNFINISHED = sa.text('plan_after IS NOT NULL')
EXPIRING = sa.text('expires_at IS NOT NULL')
PLAIN = (
    ('ix_outbound_post_id', 'outbound', 'post_id'),
    ('ix_digest_receipts_outbound_id', 'digest_receipts', 'outbound_id'),
    ('ix_fanout_choices_member_id', 'fanout_choices', 'member_id'),
    ('ix_held_posts_inbound_id', 'held_posts', 'inbound_id'),
    ('ix_moderation_log_held_id', 'moderation_log', 'held_id'),
)


def upgrade() -> None:
    op.create_index('ix_outbound_planning', 'outbound', ['id'], sqlite_where=UNFINISHED, postgresql_where=UNFINISHED)
    op.create_index('ix_members_expires_at', 'members', ['expires_at'], sqlite_where=EXPIRING,
                    postgresql_where=EXPIRING)
    for name, table, column in PLAIN:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in reversed(PLAIN):
        op.drop_index(name, table_name=table)
    op.drop_index('ix_members_expires_at', table_name='members')
    op.drop_index('ix_outbound_planning', table_name='outbound')
