"""The database is opened durably and its schema is managed by migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from listserv.store import db


def test_sqlite_is_opened_in_wal_mode_with_full_synchronous_writes(tmp_path):
    engine = db.open_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_upgrade_creates_every_table_and_is_idempotent(database_url):
    engine = db.open_engine(database_url)
    assert db.pending_migrations(engine)
    db.upgrade(engine)
    db.upgrade(engine)
    assert not db.pending_migrations(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"lists", "members", "inbound", "posts", "outbound", "batches", "deliveries", "notice_log"} <= tables
    engine.dispose()


def test_a_postgresql_session_without_synchronous_commit_is_refused(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = db.open_engine(database_url.replace("options=", "options=-csynchronous_commit%3Doff%20"))
    with pytest.raises(db.DatabaseError, match="synchronous_commit"):
        db.check_durability(engine)
    engine.dispose()
    engine = db.open_engine(database_url)
    db.check_durability(engine)
    engine.dispose()
