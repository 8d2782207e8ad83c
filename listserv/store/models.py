"""Every table, for Alembic and for create-all in tools: import the feature schemas here.

Core tables are in schema.py; each feature keeps its own tables in store/schema_<feature>.py
(sharing schema.Base) with its own migration branch in migrations/versions/.
"""

from listserv.store.schema import Base

__all__ = ["Base"]
