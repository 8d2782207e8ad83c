"""Migration 0009 both ways, on a database with a list made before it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from listserv.store import db


def test_migration_0009_gives_existing_lists_the_defaults_and_goes_back_cleanly(database_url, request):
    engine = db.open_engine(database_url)
    try:
        command.upgrade(db._alembic_config(engine), "0008")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO lists (address, name, description, subject_prefix, reply_to, reply_to_address, "
                "max_message_size, personalize, archive_url, created_at) VALUES "
                "('old@lists.example.test', 'Old', '', '', 'leave', '', 0, false, '', '2026-01-01 00:00:00')"
            ))  # fmt: skip
    finally:
        engine.dispose()
    cli = request.getfixturevalue("cli")  # `listserv init`: upgrades to the newest revisions
    shown = cli("list", "show", "old")
    assert "bounce_threshold: 5" in shown and "bounce_half_life_days: 7" in shown and "bounce_remove_days: 14" in shown
    assert cli("bounce", "ls", "old") == ""
    engine = db.open_engine(database_url)
    try:
        command.downgrade(db._alembic_config(engine), "0008")
        tables = set(inspect(engine).get_table_names())
        columns = {column["name"] for column in inspect(engine).get_columns("lists")}
        assert not {"bounce_events", "member_bounces", "bounce_scan"} & tables
        assert not {"bounce_threshold", "bounce_half_life_days", "bounce_remove_days"} & columns
        with engine.connect() as connection:
            assert connection.execute(text("SELECT address FROM lists")).all() == [("old@lists.example.test",)]
    finally:
        engine.dispose()
