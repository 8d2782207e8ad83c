"""A large fan-out is planned a few batches first, then chunk by chunk as the senders catch up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, text

from listserv.store import admin, queries
from listserv.store.schema import Batch, BatchStatus, Delivery, Outbound


def planned(session, outbound_id: int) -> tuple[int, int]:
    deliveries = session.scalar(select(func.count()).where(Delivery.outbound_id == outbound_id))
    batches = session.scalar(select(func.count()).where(Batch.outbound_id == outbound_id))
    return deliveries, batches


def finish_batches(session, outbound_id: int, keep: int) -> None:
    """The senders got through every pending batch of the fan-out but `keep`."""
    ids = session.scalars(select(Batch.id).where(Batch.outbound_id == outbound_id).order_by(Batch.id)).all()
    for batch_id in ids[: len(ids) - keep]:
        queries.finish_batch(session, batch_id, None)


def test_the_first_batches_are_planned_with_the_post_and_the_rest_as_senders_catch_up(work, make_list):
    members = 2 * queries.PLAN_CHUNK + 1000
    address, now, size = make_list("big"), work.now(), 100
    with work.sessions() as session, session.begin():
        list_id = admin.get_list(session, address).id
        admin.insert_members(session, list_id, [(f"m{i:05d}@example.org", "") for i in range(members)], now)
        outbound_id = queries.insert_outbound(session, dict(
            list_id=list_id, kind="post", mail_from=f"big-bounces@{address.split('@')[1]}", raw=b"x",
            personalized=False, created_at=now))  # fmt: skip
        first = queries.plan_fanout(session, outbound_id, list_id, "m00007@example.org", size, now)
    assert first == queries.FIRST_BATCHES * size  # only these wait for the post's own commit
    with work.sessions() as session, session.begin():
        assert not queries.continue_fanout(session, size, now)  # nothing more before the first batch is out
        assert queries.claim_batch(session, now, timedelta(minutes=5)) is not None
    with work.sessions() as session, session.begin():
        assert queries.continue_fanout(session, size, now)
        assert planned(session, outbound_id) == (first + queries.PLAN_CHUNK, queries.FIRST_BATCHES + 50)
    with work.sessions() as session, session.begin():
        assert not queries.continue_fanout(session, size, now)  # enough left to send: no planning yet
        finish_batches(session, outbound_id, keep=queries.LOW_WATER_BATCHES - 1)
    with work.sessions() as session, session.begin():
        assert queries.continue_fanout(session, size, now)
    while True:
        with work.sessions() as session, session.begin():
            finish_batches(session, outbound_id, keep=0)
            if not queries.continue_fanout(session, size, now):
                break
    with work.sessions() as session:
        rcpts = session.scalars(select(Delivery.rcpt).where(Delivery.outbound_id == outbound_id)).all()
        assert len(rcpts) == len(set(rcpts)) == members - 1 and "m00007@example.org" not in rcpts
        assert not queries.fanout_unplanned(session)
        assert session.scalar(select(func.count()).where(Batch.status == BatchStatus.PENDING)) == 0


def test_the_workers_poll_for_unfinished_fan_outs_reads_their_index_not_the_kept_mail(work, make_list):
    """Every message processed starts with that poll: a scan of outbound grew with the archive."""
    address, now = make_list("big"), work.now()
    with work.sessions() as session, session.begin():
        list_id = admin.get_list(session, address).id
        row = dict(list_id=list_id, kind="post", mail_from="big-bounces@x", raw=b"x" * 5000, personalized=False,
                   created_at=now)  # fmt: skip
        session.execute(insert(Outbound), [row] * 3000)  # delivered long ago: plan_after is NULL
        unfinished = queries.insert_outbound(session, dict(row, plan_after=0))
    with work.sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE outbound"))
        assert session.execute(queries.UNPLANNED_FANOUT).scalar() == unfinished
        sqlite = session.get_bind().dialect.name == "sqlite"
        for query, parameters in ((queries.UNPLANNED_FANOUT, {}), (queries.NEXT_FANOUT, {"ahead": 3})):
            compiled = query.compile(session.get_bind())
            values = compiled.construct_params(parameters)
            arguments = tuple(values[name] for name in compiled.positiontup or ()) if compiled.positional else values
            explain = ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + str(compiled)
            plan = " ".join(str(line[-1]) for line in session.connection().exec_driver_sql(explain, arguments))
            assert "ix_outbound_planning" in plan, plan
