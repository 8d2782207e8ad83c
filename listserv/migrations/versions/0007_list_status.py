"""list status: open, closed or removed

`lists.status`: `open` (the default, and what every existing list becomes), `closed` (no new
posts or members; members may leave; the archive stays) or `removed` (no mail at all; only the
archive is left). A downgrade drops the column: closed and removed lists are open again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-13
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN on both databases; the server default fills existing rows.
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='open'))


def downgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('status')
