"""moderation: the hold queue worked by replying to a mail

Per-list moderation settings on `lists`, per-member moderation on `members`, and the
tables held_posts, moderation_tokens, moderation_log, sender_rules, moderation_attempts.
Existing members keep posting freely (moderation ""); existing lists hold non-members'
posts from now on (nonmember_action "hold").

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def list_columns() -> list[sa.Column[Any]]:  # fresh Column objects for every run
    return [
        sa.Column('nonmember_action', sa.String(length=16), nullable=False, server_default='hold'),
        sa.Column('new_member_posts', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('emergency_moderation', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('hold_message_size', sa.Integer(), nullable=False, server_default=str(5 * 1024 * 1024)),
        sa.Column('max_recipients', sa.Integer(), nullable=False, server_default='10'),
        sa.Column('require_subject', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column('hold_patterns', sa.Text(), nullable=False, server_default=''),
        sa.Column('spam_action', sa.String(length=16), nullable=False, server_default='hold'),
        sa.Column('approve_always_adds', sa.String(length=16), nullable=False, server_default='poster'),
        sa.Column('held_expire_days', sa.Integer(), nullable=False, server_default='14'),
    ]


def member_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column('moderation', sa.String(length=16), nullable=False, server_default=''),
        sa.Column('posts_approved', sa.Integer(), nullable=False, server_default='0'),
    ]


def upgrade() -> None:
    # Adding columns is a plain ALTER TABLE ... ADD COLUMN on both databases (no table copy).
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.add_column(column)
    with op.batch_alter_table('members', schema=None) as batch_op:
        for column in member_columns():
            batch_op.add_column(column)

    op.create_table('held_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('verb', sa.String(length=16), nullable=False),
    sa.Column('handled_by', sa.String(length=254), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound.id'], name=op.f('fk_held_posts_inbound_id_inbound'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_held_posts_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_held_posts_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_posts')),
    sa.UniqueConstraint('post_id', name=op.f('uq_held_posts_post_id'))
    )
    with op.batch_alter_table('held_posts', schema=None) as batch_op:
        batch_op.create_index('ix_held_posts_status_list', ['status', 'list_id', 'created_at'], unique=False)

    op.create_table('moderation_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('held_id', sa.Integer(), nullable=False),
    sa.Column('facilitator', sa.String(length=254), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['held_id'], ['held_posts.id'], name=op.f('fk_moderation_tokens_held_id_held_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_moderation_tokens_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_moderation_tokens_token_hash'))
    )
    with op.batch_alter_table('moderation_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_tokens_held_id'), ['held_id'], unique=False)

    op.create_table('moderation_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('held_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('verb', sa.String(length=32), nullable=False),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['held_id'], ['held_posts.id'], name=op.f('fk_moderation_log_held_id_held_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_moderation_log_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_log'))
    )
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_log_list_at', ['list_id', 'at'], unique=False)

    op.create_table('sender_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('pattern', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_sender_rules_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sender_rules')),
    sa.UniqueConstraint('list_id', 'pattern', name=op.f('uq_sender_rules_list_id_pattern'))
    )

    op.create_table('moderation_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_moderation_attempts_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_attempts'))
    )
    with op.batch_alter_table('moderation_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_attempts_who', ['list_id', 'address', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('moderation_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_attempts_who')
    op.drop_table('moderation_attempts')
    op.drop_table('sender_rules')
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_log_list_at')
    op.drop_table('moderation_log')
    with op.batch_alter_table('moderation_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_tokens_held_id'))
    op.drop_table('moderation_tokens')
    with op.batch_alter_table('held_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_held_posts_status_list')
    op.drop_table('held_posts')
    with op.batch_alter_table('members', schema=None) as batch_op:
        for column in reversed(member_columns()):
            batch_op.drop_column(column.name)
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in reversed(list_columns()):
            batch_op.drop_column(column.name)
