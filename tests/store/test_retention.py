"""Retention: the ledger, service mail, bounces and notice_log go after their days, at the work context's
moment; the archive (posts, their raw mail, discussions) and whatever still waits stay."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from listserv.features import JOBS, prune_old_records
from listserv.store import db, retention
from support.conversation import run_job, sql
from support.mail import make_post

DOMAIN = "lists.example.test"
TABLES = ("posts", "discussions", "held_posts", "inbound", "outbound", "batches", "deliveries", "notice_log")
BOUNCE = (b"From: MAILER-DAEMON@mx.example.com\r\nTo: team-bounces@lists.example.test\r\nSubject: Undelivered\r\n"
          b"Message-ID: <b1@mx.example.com>\r\n\r\nbob@example.com: mailbox full\r\n")  # fmt: skip


@pytest.fixture
def mailed(cli, clock) -> datetime:
    """team has had a post, a request answered by mail, a held post (with its notices) and a bounce,
    all processed and delivered (inject --now: no job runs meanwhile). Returns when."""
    cli("list", "create", "team", "--name", "Team", "--facilitator", "fac@example.org")
    cli("member", "add", "team", "alice@example.com")
    cli("member", "add", "team", "bob@example.com")
    cli("inject", "team", "--now", input=make_post())
    cli("inject", "team-request", "--now", input=make_post("bob@example.com", subject="help", msgid="<p2@x>"))
    cli("inject", "team", "--now", input=make_post("carol@example.org", subject="Offer", msgid="<p3@x>"))
    cli("inject", "team-bounces", "--sender", "", "--now", input=BOUNCE)
    return clock()


def counts(settings) -> dict[str, int]:
    return {table: sql(settings, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def roles(settings) -> list[str]:
    return [row[0] for row in sql(settings, "SELECT role FROM inbound ORDER BY id")]


def test_the_job_is_registered_and_runs_hourly():
    [job] = [job for job in JOBS if job.name == "retention"]
    assert job.run is prune_old_records and job.every == timedelta(hours=1)


def test_the_ledger_and_service_mail_go_after_30_days_bounces_after_90_the_archive_never(mailed, clock, settings, cli):
    before = counts(settings)
    assert before["deliveries"] >= 4 and before["notice_log"] >= 1 and before["outbound"] >= 3
    assert roles(settings) == ["post", "request", "post", "bounces"]

    assert run_job(clock, settings, prune_old_records, mailed + timedelta(days=29, hours=23)) == 0
    assert counts(settings) == before

    removed = run_job(clock, settings, prune_old_records, mailed + timedelta(days=30, minutes=5))
    after = counts(settings)
    assert removed == sum(before.values()) - sum(after.values()) > 0
    assert (after["deliveries"], after["batches"], after["notice_log"]) == (0, 0, before["notice_log"])
    assert sql(settings, "SELECT kind FROM outbound") == [("post",)]  # the post as sent stays
    assert roles(settings) == ["post", "post", "bounces"]  # the request went; posts' raw mail and the bounce stay
    assert (after["posts"], after["discussions"], after["held_posts"]) == (2, 1, 1)
    assert "Hello" in cli("thread", "ls", "team")
    assert run_job(clock, settings, prune_old_records, mailed + timedelta(days=31)) == before["notice_log"]  # by day

    assert run_job(clock, settings, prune_old_records, mailed + timedelta(days=89)) == 0
    assert run_job(clock, settings, prune_old_records, mailed + timedelta(days=90, minutes=5)) == 1
    assert roles(settings) == ["post", "post"]
    assert run_job(clock, settings, prune_old_records, mailed + timedelta(days=400)) == 0
    assert counts(settings)["posts"] == 2


def test_what_still_waits_is_never_pruned_however_old(mailed, clock, settings):
    sql(settings, "UPDATE deliveries SET status = 'deferred' WHERE rcpt = 'fac@example.org' "
                  "AND outbound_id IN (SELECT id FROM outbound WHERE kind <> 'post')")  # fmt: skip
    sql(settings, "UPDATE batches SET status = 'pending' WHERE outbound_id IN "
                  "(SELECT outbound_id FROM deliveries WHERE status = 'deferred')")  # fmt: skip
    sql(settings, "UPDATE inbound SET status = 'quarantined' WHERE role = 'bounces'")
    waiting = sql(settings, "SELECT id, outbound_id FROM deliveries WHERE status = 'deferred' ORDER BY id")
    pending = sql(settings, "SELECT id FROM batches WHERE status = 'pending' ORDER BY id")
    assert waiting and pending

    run_job(clock, settings, prune_old_records, mailed + timedelta(days=365))
    assert sql(settings, "SELECT id, outbound_id FROM deliveries ORDER BY id") == waiting
    assert sql(settings, "SELECT id FROM batches ORDER BY id") == pending
    kept = {outbound_id for _, outbound_id in waiting}
    assert {row[0] for row in sql(settings, "SELECT id FROM outbound WHERE kind <> 'post'")} == kept
    assert roles(settings) == ["post", "post", "bounces"]  # a quarantined message waits for the operator


def test_zero_days_keeps_everything_forever(mailed, clock, settings):
    before = counts(settings)
    forever = replace(settings, keep_deliveries_days=0, keep_service_mail_days=0, keep_bounces_days=0)
    assert run_job(clock, forever, prune_old_records, mailed + timedelta(days=3650)) == 0
    assert counts(settings) == before


def test_rows_go_in_small_batches_and_a_run_stops_after_its_share(mailed, settings):
    total = counts(settings)["deliveries"]
    engine = db.open_engine(settings.database_url)
    sessions = db.sessions(engine)
    later = mailed + timedelta(days=31)
    try:
        first = retention.prune(sessions, retention.Policy(), later, batch=1, max_batches=2)
        assert first["deliveries"] == 2 and counts(settings)["deliveries"] == total - 2
        while retention.prune(sessions, retention.Policy(), later, batch=1, max_batches=2):
            pass
    finally:
        engine.dispose()
    assert counts(settings)["deliveries"] == 0 and counts(settings)["posts"] == 2


def test_several_nodes_pruning_at_once_remove_each_row_once(mailed, settings):
    before = counts(settings)
    later = mailed + timedelta(days=91)
    engines = [db.open_engine(settings.database_url) for _ in range(3)]
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def node(engine) -> None:
        try:
            results.append(retention.prune(db.sessions(engine), retention.Policy(), later, batch=1))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=node, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    after = counts(settings)
    assert sum(sum(result.values()) for result in results) == sum(before.values()) - sum(after.values())
    assert (after["deliveries"], after["batches"], after["notice_log"], after["posts"]) == (0, 0, 0, 2)


def test_cutoffs_are_days_before_now_and_zero_means_never():
    now = datetime(2026, 3, 18, 10, 0)
    assert retention.cutoff_of(30, now) == datetime(2026, 2, 16, 10, 0)
    assert retention.cutoff_of(0, now) is None
