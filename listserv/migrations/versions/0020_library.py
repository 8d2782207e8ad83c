"""library: the resources members share in posts, and what they did with them

`library_resources` (one row per list and normalised URL, DOI, ISBN or document hash),
`library_events` (shared, shared again, added, recommended, tagged, described, flagged,
removed; who and in which post) and `lists.library_fetch_titles` (off); docs/library.md.
A downgrade drops them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('library_fetch_titles', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('library_resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=2048), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('recommendations', sa.Integer(), nullable=False),
    sa.Column('outdated', sa.Boolean(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_library_resources_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_library_resources_post_id_posts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_resources')),
    sa.UniqueConstraint('list_id', 'key', name=op.f('uq_library_resources_list_id_key'))
    )
    op.create_table('library_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('said', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['library_resources.id'], name=op.f('fk_library_events_resource_id_library_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_library_events_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_library_events_post_id_posts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_events'))
    )
    op.create_index(op.f('ix_library_events_resource_id'), 'library_events', ['resource_id'], unique=False)
    op.create_index('ix_library_events_list_email', 'library_events', ['list_id', 'email'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_library_events_list_email', table_name='library_events')
    op.drop_index(op.f('ix_library_events_resource_id'), table_name='library_events')
    op.drop_table('library_events')
    op.drop_table('library_resources')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('library_fetch_titles')
