"""A real Postfix in front (SMTP -> LMTP to us) and a real Postfix as the outbound relay."""

from __future__ import annotations

import smtplib
from dataclasses import replace

import pytest

from listserv.settings import HostPort, RelaySetting
from support.engine import RunningEngine
from support.mail import make_post, parse
from support.postfix import Postfix, free_port, is_available, make_instance_dir

pytestmark = pytest.mark.skipif(not is_available(), reason="needs Postfix installed and root")
DOMAIN = "lists.example.test"


@pytest.fixture
def mta_chain(settings, make_list):
    lmtp_port = free_port()
    front = Postfix(make_instance_dir(), "front", free_port(), list_domains=(DOMAIN,), lmtp=("127.0.0.1", lmtp_port))
    outbound = Postfix(make_instance_dir(), "outbound", free_port())
    front.start()
    outbound.start()
    settings = replace(
        settings,
        lmtp_listen=HostPort("127.0.0.1", lmtp_port),
        relay=RelaySetting("smtp", host="127.0.0.1", port=outbound.port),
    )
    engine = RunningEngine(settings).start()
    yield front, outbound, engine
    engine.stop()
    front.stop()
    outbound.stop()


def test_a_post_through_postfix_reaches_members_through_postfix(mta_chain, make_list):
    front, outbound, _ = mta_chain
    members = ["alice@example.com", "bob@example.com", "carol@example.org"]
    address = make_list("team", members=members)
    with smtplib.SMTP("127.0.0.1", front.port) as client:
        client.sendmail("alice@example.com", [address], make_post(to=address))
    boxes = outbound.wait_for(2, timeout=30)
    assert sorted(boxes) == ["bob@example.com", "carol@example.org"]
    message = parse(boxes["bob@example.com"][0])
    assert message["Return-Path"] == "<team-bounces@lists.example.test>"
    assert message["List-Id"] == '"Team" <team.lists.example.test>'
    assert message["Subject"] == "[team] Hello"


def test_postfix_refuses_other_domains_and_our_lmtp_refuses_unknown_lists(mta_chain, make_list):
    front, outbound, _ = mta_chain
    make_list("team", members=["alice@example.com"])
    with smtplib.SMTP("127.0.0.1", front.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("x@example.com", ["victim@example.net"], make_post())
    assert refused.value.recipients["victim@example.net"][0] == 554


def test_mail_queued_while_the_engine_was_down_is_delivered_when_it_is_back(settings, make_list):
    lmtp_port = free_port()
    front = Postfix(make_instance_dir(), "front", free_port(), list_domains=(DOMAIN,), lmtp=("127.0.0.1", lmtp_port))
    outbound = Postfix(make_instance_dir(), "outbound", free_port())
    front.start()
    outbound.start()
    try:
        address = make_list("team", members=["alice@example.com", "bob@example.com"])
        with smtplib.SMTP("127.0.0.1", front.port) as client:
            client.sendmail("alice@example.com", [address], make_post(to=address))
        assert "Connection refused" in front.queue() or front.queue().strip()
        settings = replace(
            settings,
            lmtp_listen=HostPort("127.0.0.1", lmtp_port),
            relay=RelaySetting("smtp", host="127.0.0.1", port=outbound.port),
        )
        engine = RunningEngine(settings).start()
        try:
            front.flush()
            assert list(outbound.wait_for(1, timeout=30)) == ["bob@example.com"]
        finally:
            engine.stop()
    finally:
        front.stop()
        outbound.stop()
