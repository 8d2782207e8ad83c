"""the web archive: who may read a list's archive

`lists.archive_access`: public (anyone), members (a signed, expiring link each member asks for
by mail; the default) or private (no archive pages at all). docs/archive.md. A downgrade drops it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archive_access', sa.String(length=16), nullable=False,
                                      server_default='members'))


def downgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('archive_access')
