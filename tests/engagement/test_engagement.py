"""A scripted community over simulated weeks, through the real engine (LMTP in, posts threaded),
assessed by `listserv engagement` and recorded by the daily job; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from listserv.engagement.jobs import run_engagement
from listserv.engagement.rules import Stage
from listserv.engagement.store import PAGE, assess_list, latest_stages, stage_counts_at
from listserv.engagement.tables import MemberStage
from listserv.render import Templates
from listserv.settings import Settings
from listserv.store import db
from listserv.store.schema import MailingList, Member
from listserv.work import Work
from support.clock import TestClock
from support.digest_helpers import LIST, World
from support.engagement import weeks_of_a_community


def stages(found: dict[str, object]) -> dict[str, int]:
    members = found["members"]
    assert isinstance(members, list)
    return {row["email"]: row["stage"] for row in members}


def test_members_move_through_the_stages_and_the_history_shows_it(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    found = json.loads(cli("engagement", LIST, "--json"))
    assert stages(found) == {"ann@example.com": 5, "bob@example.com": 3, "cat@example.com": 5, "dan@example.com": 3,
                             "eve@example.com": 3, "fay@example.com": 1, "gus@example.com": 2}  # fmt: skip
    assert found["counts"] == {"1": 1, "2": 1, "3": 3, "4": 0, "5": 2}
    rows = {row["email"]: row for row in found["members"]}
    assert rows["fay@example.com"]["stuck"] is True and rows["gus@example.com"]["stuck"] is False
    assert rows["cat@example.com"]["reasons"] == ["started 3 discussions that others joined", "answered 1 newcomer"]
    assert rows["fay@example.com"]["reasons"][0].endswith("no post in the last 26 weeks")

    cat = json.loads(cli("engagement", LIST, "--member", "CAT@example.com", "--json"))["members"][0]
    assert [step["stage"] for step in cat["history"]] == [1, 2, 4, 5]
    start = world.work.clock.start  # type: ignore[attr-defined]
    weeks = [round((fromiso(step["since"]) - start) / timedelta(weeks=1)) for step in cat["history"]]
    assert weeks == [0, 1, 3, 6] and fromiso(cat["since"]) == fromiso(cat["history"][-1]["since"])
    assert cat["history"][2]["reasons"] == [
        "kept up 2 exchanges of three or more people",
        "drew replies from 3 members",
    ]

    text = cli("engagement", LIST)
    assert "7 members" in text and "  5 development: 2" in text and "  1 access and motivation: 1" in text
    assert "fay@example.com\t1\t" in text


def fromiso(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None)  # the JSON says UTC with a Z


def test_the_window_and_thresholds_are_the_lists_to_set(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    cli("list", "set", LIST, "stage_rules", "window_weeks=2")
    found = stages(json.loads(cli("engagement", LIST, "--json")))
    assert found["cat@example.com"] == 3 and found["eve@example.com"] == 1  # only weeks 5 and 6 count
    out = cli("list", "set", LIST, "stage_rules", "window=2", code=1)
    assert "unknown stage rule 'window'" in out


def test_a_member_who_opts_out_is_not_profiled_and_their_history_goes(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    cli("member", "set", LIST, "cat@example.com", "profiled", "no")
    found = json.loads(cli("engagement", LIST, "--json"))
    assert "cat@example.com" not in stages(found) and found["opted_out"] == 1
    assert "not a profiled member" in cli("engagement", LIST, "--member", "cat@example.com", code=1)
    world.at(timedelta(days=1))
    run_engagement(world.work)
    with world.sessions() as session:
        kept = set(session.scalars(select(MemberStage.email).distinct()))
    assert "cat@example.com" not in kept and "dan@example.com" in kept


def test_two_nodes_assessing_at_once_record_each_change_once(world: World, settings: Settings) -> None:
    world.at(timedelta(weeks=1))
    world.post("bob@example.com", "Hello from Bob", "Hi all.\n", "<b1@example.com>")
    nodes = []
    for _ in range(2):
        sql = db.open_engine(settings.database_url)
        nodes.append((sql, replace(world.work, sessions=db.sessions(sql))))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def node(work: Work) -> None:
        barrier.wait()
        results.append(run_engagement(work))

    threads = [threading.Thread(target=node, args=(work,)) for _, work in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for sql, _ in nodes:
        sql.dispose()
    assert sorted(results) == [0, 1]  # bob moved to stage 2, recorded by one node
    with world.sessions() as session:
        assert session.scalar(select(func.count()).where(MemberStage.email == "bob@example.com")) == 2


def test_assessing_needs_no_listserv_engine_of_its_own(settings: Settings, make_list: Callable[..., str],
                                                      clock: TestClock) -> None:  # fmt: skip
    make_list("quiet", members=["a@example.com"])
    sql = db.open_engine(settings.database_url)
    work = Work(db.sessions(sql), settings, Templates(settings.templates_dir), clock)
    assert run_engagement(work) == 1 and run_engagement(work) == 0  # the next run is tomorrow's
    clock.advance(timedelta(days=1, seconds=1))
    assert run_engagement(work) == 0  # nothing changed
    sql.dispose()


def test_the_daily_job_pages_through_a_large_list_as_one_assessment_would(
    settings: Settings, make_list: Callable[..., str], clock: TestClock
) -> None:
    """The job reads members PAGE at a time (bounded memory at any list size): across pages it
    records exactly the stages one whole-list assessment gives, and forgets the opted-out."""
    members = [f"m{index:04d}@example.com" for index in range(2 * PAGE + 7)]
    address = make_list("large", members=members)
    sql = db.open_engine(settings.database_url)
    work = Work(db.sessions(sql), settings, Templates(settings.templates_dir), clock)
    assert run_engagement(work) == len(members)  # everyone's first stage
    with work.sessions() as session, session.begin():
        list_id = session.scalar(select(MailingList.id).where(MailingList.address == address))
        session.execute(update(Member).where(Member.email.in_(members[PAGE - 1 : PAGE + 2])).values(profiled=False))
    clock.advance(timedelta(days=1, seconds=1))
    assert run_engagement(work) == 0
    with work.sessions() as session:
        expected = {
            item.facts.email: int(item.assessment.stage) for item in assess_list(session, list_id, clock()).members
        }
        recorded = {email: row.stage for email, row in latest_stages(session, list_id).items()}
    assert recorded == expected and len(recorded) == len(members) - 3
    sql.dispose()


def test_the_reports_weeks_count_each_members_latest_stage_then(world: World, cli: Callable[..., str]) -> None:
    weeks_of_a_community(world, cli)
    list_id = world.list_id()
    with world.sessions() as session:
        rows = session.execute(select(MemberStage.email, MemberStage.stage, MemberStage.since)
                               .where(MemberStage.list_id == list_id).order_by(MemberStage.since)).all()  # fmt: skip
        seen = []
        for back in range(8):
            moment = world.now() - timedelta(weeks=back, hours=1)
            latest = {email: stage for email, stage, since in rows if since <= moment}
            expected = {stage: list(latest.values()).count(int(stage)) for stage in Stage}
            assert stage_counts_at(session, list_id, moment) == expected
            seen.append(sum(1 for count in expected.values() if count))
    assert max(seen) >= 3 and min(seen) == 0  # several stages at once, and a time before any history
