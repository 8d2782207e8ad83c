"""members in id order per list: the fan-out plans its next chunk by index, whatever the list's size

Planning reads a list's next receiving members in id order (`id > plan_after ORDER BY id LIMIT`).
With only the (list_id, email) unique index, SQLite and PostgreSQL read and sort every member
of the list for each chunk: ~350 ms at 100,000 members, before the first delivery. An index on
(list_id, id) makes it a range read of the chunk alone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_members_list_id_id', 'members', ['list_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_members_list_id_id', table_name='members')
