"""bounces: events, per-member state and score, list settings

Per-list settings on `lists` (bounce_threshold, bounce_half_life_days, bounce_remove_days) and
the tables bounce_events, member_bounces and bounce_scan (docs/bounces.md). Existing lists get
the defaults; nobody has a bounce history yet. A downgrade drops them all: members disabled for
bouncing keep delivery `none` until they or an operator set it back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-27
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def list_columns() -> list[sa.Column[Any]]:  # fresh Column objects for every run
    return [
        sa.Column('bounce_threshold', sa.Integer(), nullable=False, server_default='5'),
        sa.Column('bounce_half_life_days', sa.Integer(), nullable=False, server_default='7'),
        sa.Column('bounce_remove_days', sa.Integer(), nullable=False, server_default='14'),
    ]


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.add_column(column)

    op.create_table('bounce_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_bounce_events_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bounce_events')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_bounce_events_delivery_id'))
    )
    op.create_index('ix_bounce_events_list_id_email_at', 'bounce_events', ['list_id', 'email', 'at'], unique=False)

    op.create_table('member_bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('last_bounce_at', sa.DateTime(), nullable=True),
    sa.Column('counted_from', sa.DateTime(), nullable=True),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('delivery_before', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_member_bounces_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_bounces')),
    sa.UniqueConstraint('list_id', 'email', name=op.f('uq_member_bounces_list_id_email'))
    )
    op.create_index('ix_member_bounces_state', 'member_bounces', ['state'], unique=False)

    op.create_table('bounce_scan',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_bounce_scan'))
    )


def downgrade() -> None:
    op.drop_table('bounce_scan')
    op.drop_index('ix_member_bounces_state', table_name='member_bounces')
    op.drop_table('member_bounces')
    op.drop_index('ix_bounce_events_list_id_email_at', table_name='bounce_events')
    op.drop_table('bounce_events')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.drop_column(column.name)
