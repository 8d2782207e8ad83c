"""IMAP intake: the mailbox settings of a list and the state of each mailbox

Per-list settings on `lists` (imap_host, imap_port, imap_tls, imap_ca_file, imap_user,
imap_password_file, imap_password_env, imap_folder, imap_processed_folder, imap_failed_folder;
docs/imap.md) and the table imap_mailboxes (UIDVALIDITY, last UID, backlog, connection state
and last error of each mailbox). Existing lists get no IMAP intake. A downgrade drops them all.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def list_columns() -> list[sa.Column[Any]]:  # fresh Column objects for every run
    return [
        sa.Column('imap_host', sa.String(length=253), nullable=False, server_default=''),
        sa.Column('imap_port', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('imap_tls', sa.String(length=16), nullable=False, server_default='implicit'),
        sa.Column('imap_ca_file', sa.String(length=500), nullable=False, server_default=''),
        sa.Column('imap_user', sa.String(length=254), nullable=False, server_default=''),
        sa.Column('imap_password_file', sa.String(length=500), nullable=False, server_default=''),
        sa.Column('imap_password_env', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('imap_folder', sa.String(length=200), nullable=False, server_default='INBOX'),
        sa.Column('imap_processed_folder', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('imap_failed_folder', sa.String(length=200), nullable=False, server_default='listserv-failed'),
    ]


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.add_column(column)

    op.create_table('imap_mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=700), nullable=False),
    sa.Column('lists', sa.Text(), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('backlog', sa.Integer(), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('taken', sa.BigInteger(), nullable=False),
    sa.Column('failed', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_error_at', sa.DateTime(), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_mailboxes')),
    sa.UniqueConstraint('key', name=op.f('uq_imap_mailboxes_key'))
    )


def downgrade() -> None:
    op.drop_table('imap_mailboxes')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        for column in list_columns():
            batch_op.drop_column(column.name)
