"""tokens: one table for every capability mailed out (moderation, membership, digests)

Replaces moderation_tokens (0003), membership_tokens (0004) and digest_tokens (0005) by
`tokens`; their rows are copied with the hashes they had, so tokens in mail sent before
the upgrade keep working until they expire (listserv/tokens.py finds both forms).
A downgrade recreates the three tables empty: tokens in flight are then forgotten.

Revision ID: 0006
Revises: 0003, 0004, 0005
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = ('0003', '0004', '0005')
branch_labels = None
depends_on = None

COLUMNS = ('token_hash', 'purpose', 'list_id', 'address', 'target_id', 'requested_by', 'detail', 'created_at',
           'expires_at', 'used_at')


def upgrade() -> None:
    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=254), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_tokens_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tokens_token_hash'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_list_address_purpose', ['list_id', 'address', 'purpose'], unique=False)
        batch_op.create_index('ix_tokens_address_created_at', ['address', 'created_at'], unique=False)
        batch_op.create_index('ix_tokens_requested_by_created_at', ['requested_by', 'created_at'], unique=False)
        batch_op.create_index('ix_tokens_target', ['purpose', 'target_id'], unique=False)
    copy_old_tokens()
    with op.batch_alter_table('moderation_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_tokens_held_id'))
    op.drop_table('moderation_tokens')
    with op.batch_alter_table('membership_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_tokens_email_created_at')
        batch_op.drop_index('ix_membership_tokens_requested_by_created_at')
        batch_op.drop_index('ix_membership_tokens_list_id_email_kind')
    op.drop_table('membership_tokens')
    op.drop_table('digest_tokens')


def copy_old_tokens() -> None:
    bind = op.get_bind()
    rows = []
    for r in bind.execute(sa.text('SELECT token_hash, purpose, list_id, facilitator, held_id, created_at, expires_at, '
                                  'used_at FROM moderation_tokens')):
        rows.append((r[0], r[1], r[2], r[3], r[4], '', '{}', r[5], r[6], r[7]))
    for r in bind.execute(sa.text('SELECT token_hash, kind, list_id, email, requested_by, delivery, display_name, '
                                  'created_at, expires_at, used_at FROM membership_tokens')):
        detail = json.dumps({'delivery': r[5], 'display_name': r[6]})
        rows.append((r[0], r[1], r[2], r[3], None, r[4], detail, r[7], r[8], r[9]))
    for r in bind.execute(sa.text('SELECT token_hash, purpose, list_id, facilitator, target_id, created_at, '
                                  'expires_at, used_at FROM digest_tokens')):
        rows.append((r[0], r[1], r[2], r[3], r[4], '', '{}', r[5], r[6], r[7]))
    if rows:
        insert = sa.text(f"INSERT INTO tokens ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})")
        bind.execute(insert, [dict(zip(COLUMNS, row)) for row in rows])


def downgrade() -> None:
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
    op.create_table('membership_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_membership_tokens_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_membership_tokens_token_hash'))
    )
    with op.batch_alter_table('membership_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_membership_tokens_email_created_at', ['email', 'created_at'], unique=False)
        batch_op.create_index('ix_membership_tokens_requested_by_created_at', ['requested_by', 'created_at'], unique=False)
        batch_op.create_index('ix_membership_tokens_list_id_email_kind', ['list_id', 'email', 'kind'], unique=False)
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
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_tokens_target')
        batch_op.drop_index('ix_tokens_requested_by_created_at')
        batch_op.drop_index('ix_tokens_address_created_at')
        batch_op.drop_index('ix_tokens_list_address_purpose')
    op.drop_table('tokens')
