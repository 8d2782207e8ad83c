"""The schema as migrated: every foreign key the engine deletes parents of can find its children
through an index, so a delete (retention, a member leaving) never scans the child table."""

from __future__ import annotations

from sqlalchemy import inspect

from listserv.store import db

# Parents deleted once in a long while (a list), or never (posts are the archive): a scan then is fine.
RARELY_DELETED = {"lists", "posts"}


def test_every_foreign_key_to_a_table_the_engine_prunes_has_an_index(migrated_url: str) -> None:
    engine = db.open_engine(migrated_url)
    schema = inspect(engine)
    unindexed, checked = [], 0
    for table in schema.get_table_names():
        leading = [index["column_names"] for index in schema.get_indexes(table)]
        leading += [unique["column_names"] for unique in schema.get_unique_constraints(table)]
        leading.append(schema.get_pk_constraint(table)["constrained_columns"])
        for key in schema.get_foreign_keys(table):
            if key["referred_table"] in RARELY_DELETED:
                continue
            checked += 1
            columns = key["constrained_columns"]
            if not any(list(found[: len(columns)]) == columns for found in leading):
                unindexed.append(f"{table}.{','.join(columns)} -> {key['referred_table']}")
    engine.dispose()
    assert checked >= 10 and unindexed == []
