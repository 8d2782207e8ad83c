"""engagement: stage thresholds per list, an opt-out per member, the history of stages

`lists.stage_rules` ("key=value ..." thresholds, "" for the defaults), `members.profiled`
(true: the member's stage is worked out and kept), `member_stages` (a row per stage change)
and `engagement_runs` (when each list was last assessed), `engagement_reports` (the facilitators'
weekly reports) and `lists.engagement_report` (weekly | off); docs/engagement.md. Existing members
are profiled; nobody has a history yet. A downgrade drops them all.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_rules', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('engagement_report', sa.String(length=8), nullable=False,
                                      server_default='weekly'))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profiled', sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table('member_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_member_stages_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_stages'))
    )
    op.create_index('ix_member_stages_list_email_since', 'member_stages', ['list_id', 'email', 'since'], unique=False)
    op.create_table('engagement_runs',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('assessed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_engagement_runs_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('list_id', name=op.f('pk_engagement_runs'))
    )
    op.create_table('engagement_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('stuck', sa.Text(), nullable=False),
    sa.Column('ready', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_engagement_reports_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_reports')),
    sa.UniqueConstraint('list_id', 'period_end', name=op.f('uq_engagement_reports_list_id_period_end'))
    )


def downgrade() -> None:
    op.drop_table('engagement_reports')
    op.drop_table('engagement_runs')
    op.drop_index('ix_member_stages_list_email_since', table_name='member_stages')
    op.drop_table('member_stages')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('profiled')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('engagement_report')
        batch_op.drop_column('stage_rules')
