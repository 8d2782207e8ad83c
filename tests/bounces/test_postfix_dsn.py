"""Postfix's own bounces: a real Postfix as the relay refuses one member at RCPT and accepts, then
bounces, another; its DSN (to the VERP sender) comes back to us over LMTP as a front MTA hands it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from listserv.bounces.jobs import run_bounces
from listserv.settings import RelaySetting
from support.conversation import run_job, send, settle, sql
from support.engine import RunningEngine
from support.mail import lmtp_send
from support.postfix import Postfix, free_port, is_available, make_instance_dir

pytestmark = pytest.mark.skipif(not is_available(), reason="needs Postfix installed and root")
DOMAIN = "lists.example.test"
VERP = f"team-bounces+dan=bounce.example.test@{DOMAIN}"


@pytest.fixture
def relay_chain(settings, clock):
    outbound = Postfix(make_instance_dir(), "outbound", free_port())
    outbound.start()
    engine = RunningEngine(replace(settings, relay=RelaySetting("smtp", host="127.0.0.1", port=outbound.port)),
                           clock).start()  # fmt: skip
    yield outbound, engine
    engine.stop()
    outbound.stop()


def test_postfix_dsns_and_refusals_count_against_the_members(relay_chain, settings, make_list, clock):
    outbound, engine = relay_chain
    members = ["alice@example.com", "bob@example.com", "dan@bounce.example.test", "erin@reject.example.test"]
    make_list("team", members=members, personalize="yes")
    send(engine.lmtp, "alice@example.com", f"team@{DOMAIN}", "Hello all")
    boxes = outbound.wait_for(2, timeout=30)  # bob's copy, and Postfix's DSN for dan to his VERP address
    assert sorted(boxes) == ["bob@example.com", VERP]
    (report,) = boxes[VERP]
    assert b"report-type=delivery-status" in report
    assert lmtp_send(engine.lmtp, "", [VERP], report)[VERP].startswith("250")
    settle(settings)
    assert sql(settings, "SELECT email, kind, source FROM bounce_events") == [
        ("dan@bounce.example.test", "hard", "report")]  # fmt: skip
    assert run_job(clock, settings, run_bounces, clock()) == 1  # erin: 550 at RCPT, from the ledger
    assert sql(settings, "SELECT email, kind, source FROM bounce_events ORDER BY id") == [
        ("dan@bounce.example.test", "hard", "report"), ("erin@reject.example.test", "hard", "relay")]  # fmt: skip
