"""digest reminders: whether a scheduled summary without posts still goes out

`lists.digest_reminders` (default no): on the regular schedule, a period without posts sends the
summary readers the unanswered questions and open polls when this is yes; otherwise such a
period is recorded as empty and nothing is sent (docs/digest.md). A downgrade drops it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_reminders', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('digest_reminders')
