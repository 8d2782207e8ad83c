"""discussions: threads and their containers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = ('discussions',)
depends_on = None


def upgrade() -> None:
    op.create_table('discussions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('subject_key', sa.String(length=64), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.Column('first_activity', sa.DateTime(), nullable=True),
    sa.Column('last_activity', sa.DateTime(), nullable=True),
    sa.Column('post_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_discussions_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussions')),
    sa.UniqueConstraint('list_id', 'key', name=op.f('uq_discussions_list_id_key'))
    )
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.create_index('ix_discussions_activity', ['list_id', 'last_activity'], unique=False)
        batch_op.create_index('ix_discussions_subject', ['list_id', 'subject_key', 'last_activity'], unique=False)

    op.create_table('thread_containers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('discussion_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.String(length=255), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('posted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussions.id'], name=op.f('fk_thread_containers_discussion_id_discussions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_thread_containers_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_thread_containers_post_id_posts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_containers')),
    sa.UniqueConstraint('list_id', 'message_id', name=op.f('uq_thread_containers_list_id_message_id')),
    sa.UniqueConstraint('post_id', name=op.f('uq_thread_containers_post_id'))
    )
    with op.batch_alter_table('thread_containers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_containers_discussion_id'), ['discussion_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('thread_containers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_containers_discussion_id'))

    op.drop_table('thread_containers')
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.drop_index('ix_discussions_subject')
        batch_op.drop_index('ix_discussions_activity')

    op.drop_table('discussions')
