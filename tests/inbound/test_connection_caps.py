"""Slow clients face caps: 300 connections that hold on do not keep anyone else out.

Clients come from several loopback addresses (127.0.1.x: all of 127/8 is this machine), so the
cap per client address is tested as it works on the Internet. Timeouts are shortened for the
test; no assertion depends on how fast the machine is, only on what the server answers.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from dataclasses import replace

import pytest

from support.engine import RunningEngine
from support.mail import lmtp_send, make_post
from support.sockets import connect_from
from support.waiting import wait_until

TEAM = "team@lists.example.test"


def read_line(sock: socket.socket) -> str:
    """One reply line; empty once the server has closed the connection."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode().rstrip("\r\n")


def smtp_post(address: tuple[str, int], source: str = "127.0.0.1") -> str:
    with smtplib.SMTP(*address, timeout=60, source_address=(source, 0)) as client:
        client.ehlo("client.example")
        refused = client.sendmail("alice@example.com", [TEAM], make_post())
        assert refused == {}
        return "250"


@pytest.fixture
def capped(settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    settings = replace(settings, smtp_max_connections=100, smtp_max_connections_per_client=20)
    running = RunningEngine(settings, clock).start()
    yield running
    running.stop()


def test_300_slow_clients_are_capped_per_address_and_in_all_while_new_clients_are_served(capped, caplog):
    caplog.set_level(logging.INFO, logger="listserv")
    held: list[socket.socket] = []
    answers: dict[str, list[str]] = {}
    try:
        for index in range(300):  # three clients, 100 connections each, each sending one byte and waiting
            source = f"127.0.1.{index % 3 + 1}"
            sock = connect_from(source, capped.smtp)
            answers.setdefault(source, []).append(read_line(sock))
            sock.send(b"E")
            held.append(sock)
        for source, lines in answers.items():
            assert sum(line.startswith("220") for line in lines) == 20, source
            assert [line for line in lines if not line.startswith("220")] == [
                "421 4.7.0 Too many connections from your address, try again later"
            ] * 80
        assert smtp_post(capped.smtp) == "250"  # a normal post, at once, while 60 are held
        assert lmtp_send(capped.lmtp, "alice@example.com", [TEAM], make_post(msgid="<l@x>"))[TEAM][:3] == "250"

        for index in range(40):  # two more clients take the listener to its cap of 100
            sock = connect_from(f"127.0.1.{index % 2 + 4}", capped.smtp)
            assert read_line(sock).startswith("220")
            held.append(sock)
        late = connect_from("127.0.1.9", capped.smtp)
        assert read_line(late) == "421 4.7.0 Too many connections, try again later"
        assert read_line(late) == ""  # and closed
        late.close()
        assert "SMTP refused a connection from 127.0.1.9: too many connections (cap 100; 100 open)" in caplog.text
        assert "refused a connection from 127.0.1.1: too many connections from this address (cap 20" in caplog.text
    finally:
        for sock in held:
            sock.close()

    def served() -> bool:
        sock = connect_from("127.0.1.9", capped.smtp)
        with sock:
            return read_line(sock).startswith("220")

    wait_until(served)  # the held connections closed: their places are free again


def test_an_idle_or_dripping_client_is_told_421_and_closed_but_a_slow_sender_of_data_is_not(
    settings, make_list, clock, caplog
):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    settings = replace(settings, smtp_command_timeout=3.0)
    caplog.set_level(logging.INFO, logger="listserv")
    running = RunningEngine(settings, clock).start()
    try:
        dripping = connect_from("127.0.0.1", running.smtp)
        assert read_line(dripping).startswith("220")
        idle = connect_from("127.0.0.1", running.lmtp)
        assert read_line(idle).startswith("220")

        with smtplib.SMTP(*running.smtp, timeout=60) as active:  # commands keep a session alive
            active.ehlo("client.example")
            for _ in range(25):  # 5 s in all, longer than the timeout
                assert active.noop()[0] == 250
                time.sleep(0.2)
            active.mail("alice@example.com")
            active.rcpt(TEAM)
            assert active.docmd("DATA")[0] == 354
            for line in make_post().split(b"\r\n"):  # a message coming in slowly: 5 s for its lines
                active.send(line + b"\r\n")
                time.sleep(0.75)
            assert active.docmd(".")[0] == 250

        for byte in b"EHLO dripping.example":  # one byte at a time never makes a command
            try:
                dripping.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        assert read_line(dripping) == "421 4.4.2 Timeout waiting for your command, closing connection"
        assert read_line(idle) == "421 4.4.2 Timeout waiting for your command, closing connection"
        assert read_line(idle) == ""
        dripping.close()
        idle.close()
        assert "closing an idle session from" in caplog.text
    finally:
        running.stop()
