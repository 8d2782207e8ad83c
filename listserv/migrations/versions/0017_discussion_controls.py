"""discussion controls: follow and mute per member, closed, highlighted and answered discussions

`discussion_choices` (a member's follow or mute of one discussion), `discussions.closed_at`,
`highlighted_at` and `answered_at`, and `fanout_choices` (those choices copied onto each post's
fan-out when it is released); docs/engagement.md, "Steering a discussion by reply". A downgrade
drops them all.

Revision ID: 0017
Revises: 0016, 0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = ('0016', '0002')  # and the discussions branch (0002), which joins the main line here
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('highlighted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
    op.create_table('discussion_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('discussion_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussions.id'],
                            name=op.f('fk_discussion_choices_discussion_id_discussions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_discussion_choices_list_id_lists'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_discussion_choices_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussion_choices')),
    sa.UniqueConstraint('discussion_id', 'member_id', name=op.f('uq_discussion_choices_discussion_id_member_id'))
    )
    op.create_index(op.f('ix_discussion_choices_member_id'), 'discussion_choices', ['member_id'], unique=False)
    op.create_table('fanout_choices',
    sa.Column('outbound_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('receive', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_fanout_choices_member_id_members'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbound_id'], ['outbound.id'], name=op.f('fk_fanout_choices_outbound_id_outbound'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('outbound_id', 'member_id', name=op.f('pk_fanout_choices'))
    )


def downgrade() -> None:
    op.drop_table('fanout_choices')
    op.drop_index(op.f('ix_discussion_choices_member_id'), table_name='discussion_choices')
    op.drop_table('discussion_choices')
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.drop_column('answered_at')
        batch_op.drop_column('highlighted_at')
        batch_op.drop_column('closed_at')
