"""Every table, for Alembic and for create-all in tools: import the feature schemas here.

Core tables are in schema.py; each feature keeps its own tables in store/schema_<feature>.py
(sharing schema.Base) with its own migration branch in migrations/versions/.
"""

from listserv.digest import tables as schema_digest# noqa: F401  (digests and facilitation, migration 0005)
from listserv.discussions import tables as schema_discussions
from listserv.membership import tables as schema_membership# noqa: F401  (membership tables, migration 0004)
from listserv.moderation import tables as schema_moderation# noqa: F401  (moderation tables, migration 0003)
from listserv.store.schema import Base

__all__ = ["Base", "schema_discussions"]
