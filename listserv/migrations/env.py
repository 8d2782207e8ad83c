"""Alembic environment: listserv passes its own engine (see store/db.py)."""

from alembic import context
from sqlalchemy import Engine

from listserv.migrations.tables import Base

engine: Engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
