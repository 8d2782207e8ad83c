"""PostgreSQL's own conflict errors, provoked for real, are recognised as "run the step again"
(store/faults.py is_conflict), and nothing else is."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from listserv.store import db
from listserv.store.faults import is_conflict, is_resource_failure


@pytest.fixture
def pg(migrated_url: str):  # type: ignore[no-untyped-def]
    if not migrated_url.startswith("postgresql"):
        pytest.skip("conflicts between transactions are PostgreSQL's (set LISTSERV_TEST_PG_URL)")
    engine = db.open_engine(migrated_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
        connection.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    yield engine
    engine.dispose()


def test_a_deadlock_between_two_transactions_is_a_conflict(pg) -> None:  # type: ignore[no-untyped-def]
    barrier, errors = threading.Barrier(2), []

    def cross(first: int, second: int) -> None:
        try:
            with pg.begin() as connection:
                connection.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
                connection.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
                barrier.wait(timeout=10)
                connection.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})
        except DBAPIError as error:
            errors.append(error)

    threads = [threading.Thread(target=cross, args=order) for order in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1 and is_conflict(errors[0]), errors


def test_a_serialisation_failure_is_a_conflict_and_a_duplicate_key_is_not(pg) -> None:  # type: ignore[no-untyped-def]
    with pg.connect() as first, pg.connect() as second:
        for connection in (first, second):
            connection.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
            connection.execute(text("SELECT n FROM pair WHERE id = 1")).scalar()
        first.execute(text("UPDATE pair SET n = n + 1 WHERE id = 1"))
        first.execute(text("COMMIT"))
        with pytest.raises(DBAPIError) as failed:
            second.execute(text("UPDATE pair SET n = n + 1 WHERE id = 1"))
        second.rollback()
    assert is_conflict(failed.value)
    with pytest.raises(IntegrityError) as duplicate, pg.begin() as connection:
        connection.execute(text("INSERT INTO pair VALUES (1, 0)"))
    assert not is_conflict(duplicate.value) and not is_resource_failure(duplicate.value)
