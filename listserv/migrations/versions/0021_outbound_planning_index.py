"""outbound planning index: the worker's poll finds unfinished fan-outs without reading the table

Before every message it processes, the worker asks for a fan-out still being planned
(`plan_after IS NOT NULL`, a handful of rows at most). Without an index that was a scan of every
outbound row kept, and on SQLite a read of each message's bytes (the column lies after `raw`):
12 ms a poll at 50,000 rows. A partial index holds only the unfinished ones.

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


def upgrade() -> None:
    op.create_index('ix_outbound_planning', 'outbound', ['id'], sqlite_where=UNFINISHED, postgresql_where=UNFINISHED)


def downgrade() -> None:
    op.drop_index('ix_outbound_planning', table_name='outbound')
