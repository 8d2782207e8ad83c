"""what ARC sealing of a post needs

`outbound.arc_seal`: for a post, the chain status as received and our own DKIM results, as JSON
(`{"chain": "pass", "results": ["dkim=pass header.d=example.org"]}`, or `{}` for a held post
approved later: sealed with what the trusted Authentication-Results say); NULL for mail the
list writes itself (notices, digests), which is not sealed. The sender seals each batch's
message once with the list domain's DKIM key (docs/authentication.md). A downgrade drops it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arc_seal', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound', schema=None) as batch_op:
        batch_op.drop_column('arc_seal')
