"""archive search: the full-text index of each list's archived posts

`archive_search` holds one row per archived post (subject, author, readable text). SQLite:
the FTS5 table `archive_search_fts` indexes it as external content, kept in step by
triggers. PostgreSQL: a generated `document` tsvector with a GIN index. The posts already
archived are indexed here; docs/archive-search.md. A downgrade drops the index.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from listserv.archive.search import document_of

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

FTS = ("CREATE VIRTUAL TABLE archive_search_fts USING fts5(subject, author, body, list_id, content='archive_search', "
       "content_rowid='post_id', tokenize='porter unicode61 remove_diacritics 2')")
TRIGGERS = (
    "CREATE TRIGGER archive_search_ai AFTER INSERT ON archive_search BEGIN INSERT INTO archive_search_fts"
    "(rowid, subject, author, body, list_id) VALUES (new.post_id, new.subject, new.author, new.body, new.list_id); END",
    "CREATE TRIGGER archive_search_ad AFTER DELETE ON archive_search BEGIN INSERT INTO archive_search_fts"
    "(archive_search_fts, rowid, subject, author, body, list_id) VALUES ('delete', old.post_id, old.subject, "
    "old.author, old.body, old.list_id); END",
    "CREATE TRIGGER archive_search_au AFTER UPDATE ON archive_search BEGIN INSERT INTO archive_search_fts"
    "(archive_search_fts, rowid, subject, author, body, list_id) VALUES ('delete', old.post_id, old.subject, "
    "old.author, old.body, old.list_id); INSERT INTO archive_search_fts(rowid, subject, author, body, list_id) "
    "VALUES (new.post_id, new.subject, new.author, new.body, new.list_id); END",
)
DOCUMENT = ("setweight(to_tsvector('english'::regconfig, subject), 'A') || "
            "setweight(to_tsvector('english'::regconfig, author), 'B') || "
            "setweight(to_tsvector('english'::regconfig, body), 'C')")  # fmt: skip
BACKFILL = 500


def upgrade() -> None:
    bind = op.get_bind()
    columns: list[sa.schema.SchemaItem] = [
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('author', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
    ]
    if bind.dialect.name == 'postgresql':
        columns.append(sa.Column('document', postgresql.TSVECTOR(), sa.Computed(DOCUMENT, persisted=True)))
    op.create_table('archive_search', *columns,
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_archive_search_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_archive_search_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', name=op.f('pk_archive_search'))
    )
    op.create_index(op.f('ix_archive_search_list_id'), 'archive_search', ['list_id'], unique=False)
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE INDEX ix_archive_search_document ON archive_search USING gin (document)")
    else:
        op.execute(FTS)
        for trigger in TRIGGERS:
            op.execute(trigger)
    backfill(bind)


def backfill(bind: sa.Connection) -> None:
    """Index the posts already archived, BACKFILL at a time (only those rows in memory)."""
    last = 0
    select = sa.text("SELECT p.id, p.list_id, p.subject, i.raw FROM posts p JOIN inbound i ON i.id = p.inbound_id "
                     "JOIN thread_containers c ON c.post_id = p.id WHERE p.id > :last ORDER BY p.id LIMIT :n")
    insert = sa.text("INSERT INTO archive_search (post_id, list_id, subject, author, body) "
                     "VALUES (:post_id, :list_id, :subject, :author, :body)")
    while True:
        rows = bind.execute(select, {"last": last, "n": BACKFILL}).all()
        if not rows:
            return
        values = []
        for post_id, list_id, subject, raw in rows:
            document = document_of(bytes(raw), subject or "")
            values.append({"post_id": post_id, "list_id": list_id, "subject": document.subject,
                           "author": document.author, "body": document.body})
        bind.execute(insert, values)
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('archive_search_ai', 'archive_search_ad', 'archive_search_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS archive_search_fts")
    op.drop_index(op.f('ix_archive_search_list_id'), table_name='archive_search')
    op.drop_table('archive_search')
