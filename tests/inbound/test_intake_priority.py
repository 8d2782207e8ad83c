"""Processing gives way to intake: the group commit counts a message as on its way from its MAIL
until its DATA is answered, so the worker does not take the core from a waiting MTA."""

from __future__ import annotations

import smtplib

from support.mail import make_post
from support.waiting import wait_until


def test_a_transaction_counts_as_arriving_from_mail_until_its_reply_or_reset(engine, make_list):
    address = make_list("team", members=["alice@example.com", "bob@example.org"])
    intake = engine.service.intake
    assert intake is not None and not intake.busy()
    with smtplib.LMTP(*engine.lmtp) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail("alice@example.com")[0] == 250
        assert intake.busy()
        assert lmtp.rcpt(address)[0] == 250
        assert intake.busy()
        assert lmtp.data(make_post())[0] == 250
        wait_until(lambda: not intake.busy(), 5, "still busy after the 250")
        assert lmtp.mail("alice@example.com")[0] == 250
        assert intake.busy()
        assert lmtp.rset()[0] == 250
        wait_until(lambda: not intake.busy(), 5, "still busy after RSET")
        assert lmtp.mail("alice@example.com")[0] == 250
        assert intake.busy()
    wait_until(lambda: not intake.busy(), 5, "still busy after the client went away")


def test_a_client_silent_past_the_window_stops_counting_until_its_next_command(engine, make_list):
    address = make_list("team", members=["alice@example.com", "bob@example.org"])
    intake = engine.service.intake
    assert intake is not None
    with smtplib.LMTP(*engine.lmtp) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail("alice@example.com")[0] == 250
        wait_until(lambda: not intake.busy(), 5, "a silent transaction still counts as arriving")
        assert lmtp.rcpt(address)[0] == 250  # however long its list lookup took
        assert intake.busy()
