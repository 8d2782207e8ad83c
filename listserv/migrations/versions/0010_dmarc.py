"""DMARC mitigation settings per list

`lists.dmarc_mitigation` (policy | always | never, default policy), `lists.dmarc_action`
(munge | wrap, default munge) and `lists.dmarc_author_reply` (reply-to | cc, default reply-to);
docs/dmarc.md. Existing lists get the defaults. A downgrade drops the columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN on both databases; the server defaults fill existing rows.
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dmarc_mitigation', sa.String(length=16), nullable=False,
                                      server_default='policy'))
        batch_op.add_column(sa.Column('dmarc_action', sa.String(length=16), nullable=False, server_default='munge'))
        batch_op.add_column(sa.Column('dmarc_author_reply', sa.String(length=16), nullable=False,
                                      server_default='reply-to'))


def downgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('dmarc_author_reply')
        batch_op.drop_column('dmarc_action')
        batch_op.drop_column('dmarc_mitigation')
