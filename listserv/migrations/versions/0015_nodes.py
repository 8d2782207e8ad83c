"""nodes: several `listserv serve` processes on one database

`nodes` holds one row per serving process (its heartbeat: started, last seen, version, pid,
what it is doing); `inbound.lease_node` and `batches.lease_node` name the node holding a
claim, so `listserv status` can say who holds what and which leases a dead node left
(docs/scaling.md). A downgrade drops them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'nodes',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=253), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.Column('stopped_at', sa.DateTime(), nullable=True),
        sa.Column('doing', sa.Text(), nullable=False, server_default=''),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_nodes')),
    )
    for table in ('inbound', 'batches'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lease_node', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in ('batches', 'inbound'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lease_node')
    op.drop_table('nodes')
