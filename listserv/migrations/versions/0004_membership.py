"""membership: joining, leaving and belonging

Per-list membership settings on `lists`, vacation and expiry on `members`, and the
membership tables (tokens, history, wait-list, steps done, replies sent).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def list_columns() -> list[sa.Column[object]]:  # fresh Column objects for every run
    return [
        sa.Column('subscription_policy', sa.String(length=16), nullable=False, server_default='open'),
        sa.Column('guidelines', sa.Text(), nullable=False, server_default=''),
        sa.Column('max_members', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('when_full', sa.String(length=16), nullable=False, server_default='refuse'),
        sa.Column('membership_days', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('allow_who', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('confirm_unsubscribe', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('onboarding', sa.Text(), nullable=False, server_default='0:welcome 3:introduce 10:discussions'),
        sa.Column('one_click_unsubscribe', sa.Boolean(), nullable=False, server_default=sa.false()),
    ]


def member_columns() -> list[sa.Column[object]]:
    return [
        sa.Column('vacation_until', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    # Adding columns is a plain ALTER TABLE ... ADD COLUMN on both databases (no table copy).
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.add_column(column)
    with op.batch_alter_table('members', schema=None) as batch_op:
        for column in member_columns():
            batch_op.add_column(column)

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

    op.create_table('membership_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_membership_events_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_events'))
    )
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.create_index('ix_membership_events_list_id_email', ['list_id', 'email'], unique=False)

    op.create_table('waitlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_waitlist_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist')),
    sa.UniqueConstraint('list_id', 'email', name=op.f('uq_waitlist_list_id_email'))
    )

    op.create_table('member_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_member_steps_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_steps')),
    sa.UniqueConstraint('list_id', 'email', 'step', name=op.f('uq_member_steps_list_id_email_step'))
    )

    op.create_table('membership_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_mail'))
    )
    with op.batch_alter_table('membership_mail', schema=None) as batch_op:
        batch_op.create_index('ix_membership_mail_address_at', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_table('membership_mail')
    op.drop_table('member_steps')
    op.drop_table('waitlist')
    op.drop_table('membership_events')
    op.drop_table('membership_tokens')
    # ALTER TABLE ... DROP COLUMN directly (SQLite >= 3.35): a batch table copy of `lists`
    # would drop the old table, and with foreign keys on that cascades into `members`.
    for table, columns in (('members', member_columns()), ('lists', list_columns())):
        for column in reversed(columns):
            op.execute(sa.text(f'ALTER TABLE {table} DROP COLUMN {column.name}'))
