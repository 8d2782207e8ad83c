"""one-click unsubscribe on by default

`lists.one_click_unsubscribe` becomes yes / no / unset. Unset (NULL, every new list's value) means
on wherever it can count: the server has a public_url and a DKIM key for the list's domain
(docs/deliverability.md). Until now the column defaulted to no, so every `no` becomes unset;
`yes` stays `yes`. A downgrade turns unset back into no.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.alter_column('one_click_unsubscribe', existing_type=sa.Boolean(), nullable=True, server_default=None)
    op.execute(sa.text("UPDATE lists SET one_click_unsubscribe = NULL WHERE NOT one_click_unsubscribe"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE lists SET one_click_unsubscribe = false WHERE one_click_unsubscribe IS NULL"))
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.alter_column('one_click_unsubscribe', existing_type=sa.Boolean(), nullable=False,
                              server_default=sa.false())
