"""Relay faults, poison messages and database failures (RELIABILITY.md 1, 3, 4)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, text

from listserv import service
from listserv.features import Job
from listserv.store import db
from listserv.store.schema import Delivery
from support.cli import invoke
from support.engine import RunningEngine
from support.mail import lmtp_send, make_post
from support.waiting import wait_until

MEMBERS = ["alice@example.com", "bob@example.com", "dave@defer.example.test", "erin@reject.example.test"]


def delivery_states(settings) -> dict[str, str]:
    engine = db.open_engine(settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Delivery.rcpt, Delivery.status)).all()
    engine.dispose()
    return dict(rows)


def test_4xx_is_retried_until_delivered_and_5xx_fails_that_recipient_only(engine, sink, make_list, settings):
    sink.handler.rcpt_replies = {
        "defer.example.test": "450 4.2.1 Mailbox busy",
        "reject.example.test": "550 5.1.1 No such user",
    }
    address = make_list("team", members=MEMBERS)
    lmtp_send(engine.lmtp, "alice@example.com", [address], make_post())
    sink.wait_for(1)
    wait_until(lambda: delivery_states(settings).get("dave@defer.example.test") == "deferred")
    states = delivery_states(settings)
    assert states["bob@example.com"] == "sent" and states["erin@reject.example.test"] == "failed"
    sink.handler.rcpt_replies = {}  # the mailbox is free again
    wait_until(lambda: delivery_states(settings)["dave@defer.example.test"] == "sent", timeout=30)
    assert sorted(r for r, _ in sink.deliveries()) == ["bob@example.com", "dave@defer.example.test"]


def test_a_relay_that_is_down_delays_delivery_but_not_intake(settings, sink, make_list):
    address = make_list("team", members=MEMBERS[:2])
    sink.stop(hold_port=True)  # refuses connections; the port stays ours
    running = RunningEngine(settings).start()
    try:
        reply = lmtp_send(running.lmtp, "alice@example.com", [address], make_post())
        assert reply[address].startswith("250")
        wait_until(lambda: delivery_states(settings).get("bob@example.com") == "deferred")
        sink.start()  # same port
        sink.wait_for(1, timeout=30)
    finally:
        running.stop()
    assert delivery_states(settings)["bob@example.com"] == "sent"


def test_jobs_that_take_long_do_not_hold_up_a_post(settings, sink, make_list, monkeypatch):
    """A week's digests, a first pass over a large list: the periodic jobs have threads of their own."""
    address = make_list("team", members=MEMBERS[:2])
    release = threading.Event()

    def slow(work: object) -> int:
        release.wait(60)
        return 0

    monkeypatch.setattr(service, "JOBS", tuple(Job(f"slow-{n}", timedelta(hours=1), slow) for n in range(12)))
    running = RunningEngine(settings).start()
    try:
        wait_until(lambda: "slow-11" in running.service.running)  # every job started, and waiting
        reply = lmtp_send(running.lmtp, "alice@example.com", [address], make_post())
        assert reply[address].startswith("250")
        sink.wait_for(1, timeout=10)
    finally:
        release.set()
        running.stop()


def test_a_message_that_keeps_failing_is_quarantined_and_can_be_retried(
    settings, sink, make_list, tmp_path, monkeypatch
):
    templates = tmp_path / "templates"
    templates.mkdir()
    footer = templates / "footer.txt.j2"
    footer.write_text("{% if list.name == 'Broken' %}{{ list.missing.attribute }}{% endif %}Footer\n")
    settings = replace(settings, templates_dir=str(templates))
    broken = make_list("broken", members=MEMBERS[:2])
    fine = make_list("fine", members=MEMBERS[:2])
    running = RunningEngine(settings).start()
    try:
        lmtp_send(running.lmtp, "alice@example.com", [broken], make_post(to=broken, msgid="<poison@x>"))
        lmtp_send(running.lmtp, "alice@example.com", [fine], make_post(to=fine, msgid="<fine@x>"))
        sink.wait_for(1)  # the message behind the poison one is not blocked
        CliRunner()
        monkeypatch.setenv("LISTSERV_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("LISTSERV_TEMPLATES_DIR", str(templates))

        def quarantined() -> list[dict[str, object]]:
            return json.loads(invoke(["quarantine", "ls", "--json"]).output)

        wait_until(lambda: len(quarantined()) == 1, timeout=30)
        entry = quarantined()[0]
        assert entry["message_id"] == "<poison@x>" and "UndefinedError" in str(entry["error"])
        assert entry["attempts"] == settings.max_tries
        footer.write_text("Footer\n")  # the facilitator fixes the template
        result = invoke(["quarantine", "retry", str(entry["id"])])
        assert result.exit_code == 0, result.output
        sink.wait_for(2, timeout=30)
    finally:
        running.stop()
    assert quarantined() == []


def test_a_database_failure_answers_451_never_250_or_5xx(engine, make_list, settings):
    address = make_list("team", members=MEMBERS[:2])
    sql = db.open_engine(settings.database_url)
    core = ("deliveries", "batches", "outbound", "posts", "inbound")  # feature tables refer to these
    if sql.dialect.name == "postgresql":
        with sql.begin() as connection:
            connection.execute(text(f"DROP TABLE {', '.join(core)} CASCADE"))
    else:
        raw = sql.raw_connection()  # autocommit: the PRAGMA only works outside a transaction
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in core:
                cursor.execute(f"DROP TABLE {table}")
            cursor.close()
        finally:
            raw.close()
    sql.dispose()
    reply = lmtp_send(engine.lmtp, "alice@example.com", [address], make_post())
    assert reply[address].startswith("451 4.3.0"), reply
