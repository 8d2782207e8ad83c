"""digest: weekly summaries, digests, prompts, polls and nudges

Per-list digest settings on `lists`, an index on `outbound` to find a period's posts, and
the tables digest_issues, digest_receipts, digest_tokens, digest_prompts,
digest_prompt_posts, digest_polls, digest_votes, digest_nudges.
At run time the digest reads the discussions (0002) and membership (0004) tables; it
creates nothing that refers to them, so no `depends_on` (alembic's head bookkeeping
fails on a branch from 0001 that also depends on sibling branches: KeyError '0001').

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def list_columns() -> list[sa.Column[Any]]:  # fresh Column objects for every run
    return [
        sa.Column('digest_period', sa.String(length=8), nullable=False, server_default='weekly'),
        sa.Column('digest_day', sa.String(length=9), nullable=False, server_default='monday'),
        sa.Column('digest_hour', sa.Integer(), nullable=False, server_default='8'),
        sa.Column('timezone', sa.String(length=64), nullable=False, server_default='UTC'),
        sa.Column('digest_size_threshold', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('digest_preview_hours', sa.Integer(), nullable=False, server_default='24'),
        sa.Column('unanswered_days', sa.Integer(), nullable=False, server_default='2'),
        sa.Column('nudge_weeks', sa.Integer(), nullable=False, server_default='0'),
    ]


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.add_column(column)
    op.create_index('ix_outbound_list_kind_created', 'outbound', ['list_id', 'kind', 'created_at'], unique=False)

    op.create_table('digest_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('note_by', sa.String(length=254), nullable=False),
    sa.Column('note_state', sa.String(length=16), nullable=False),
    sa.Column('preview_sent_at', sa.DateTime(), nullable=True),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_issues_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_issues')),
    sa.UniqueConstraint('list_id', 'period_start', name=op.f('uq_digest_issues_list_id_period_start'))
    )
    op.create_index('ix_digest_issues_list_status', 'digest_issues', ['list_id', 'status'], unique=False)

    op.create_table('digest_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('outbound_id', sa.Integer(), nullable=True),
    sa.Column('partial', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['digest_issues.id'], name=op.f('fk_digest_receipts_issue_id_digest_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_receipts_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbound_id'], ['outbound.id'], name=op.f('fk_digest_receipts_outbound_id_outbound'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_receipts')),
    sa.UniqueConstraint('issue_id', 'email', name=op.f('uq_digest_receipts_issue_id_email'))
    )

    op.create_table('digest_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('facilitator', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_tokens_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_digest_tokens_token_hash'))
    )

    op.create_table('digest_prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('every', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('posted', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_prompts_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_prompts'))
    )
    op.create_index('ix_digest_prompts_status_next', 'digest_prompts', ['status', 'next_at'], unique=False)

    op.create_table('digest_prompt_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.DateTime(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['prompt_id'], ['digest_prompts.id'], name=op.f('fk_digest_prompt_posts_prompt_id_digest_prompts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_prompt_posts_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_prompt_posts')),
    sa.UniqueConstraint('prompt_id', 'occurrence', name=op.f('uq_digest_prompt_posts_prompt_id_occurrence'))
    )
    op.create_index('ix_digest_prompt_posts_list_at', 'digest_prompt_posts', ['list_id', 'posted_at'], unique=False)

    op.create_table('digest_polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('opens_at', sa.DateTime(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_polls_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_polls'))
    )
    op.create_index('ix_digest_polls_status', 'digest_polls', ['status', 'opens_at'], unique=False)

    op.create_table('digest_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('choice', sa.Integer(), nullable=False),
    sa.Column('voted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['digest_polls.id'], name=op.f('fk_digest_votes_poll_id_digest_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_votes')),
    sa.UniqueConstraint('poll_id', 'email', name=op.f('uq_digest_votes_poll_id_email'))
    )

    op.create_table('digest_nudges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_digest_nudges_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_nudges')),
    sa.UniqueConstraint('list_id', 'email', 'period', name=op.f('uq_digest_nudges_list_id_email_period'))
    )
    op.create_index('ix_digest_nudges_list_email_at', 'digest_nudges', ['list_id', 'email', 'sent_at'], unique=False)


def downgrade() -> None:
    for table in ('digest_nudges', 'digest_votes', 'digest_polls', 'digest_prompt_posts', 'digest_prompts',
                  'digest_tokens', 'digest_receipts', 'digest_issues'):
        op.drop_table(table)
    op.drop_index('ix_outbound_list_kind_created', table_name='outbound')
    # ALTER TABLE ... DROP COLUMN directly (SQLite >= 3.35): a batch copy of `lists` would cascade.
    for column in reversed(list_columns()):
        op.execute(sa.text(f'ALTER TABLE lists DROP COLUMN {column.name}'))
