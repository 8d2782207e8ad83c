"""Alembic environment: listserv passes its own engine (see store/db.py)."""

from typing import Any

from alembic import context
from sqlalchemy import Engine

from listserv.migrations.tables import Base

engine: Engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"


def foreign_keys(connection: Any, on: bool) -> None:
    """SQLite only, and outside a transaction: a batch migration copies a table and drops the old one,
    which with foreign keys on would first delete every row that refers to it (posts, members ...)."""
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    if sqlite:
        foreign_keys(connection, on=False)
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if sqlite:
            foreign_keys(connection, on=True)
