"""The pipelined SMTP client against a real (scripted) SMTP server on 127.0.0.1, and the
sender's personalised path end to end. No mocks: the server below speaks SMTP over TCP and
checks the client keeps RFC 2920's rules (DATA ends a group; no body before the 354)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from listserv.outbound.smtp_client import (
    SMTPConnection,
    SMTPError,
    Transaction,
    to_wire,
)
from listserv.store.schema import Delivery
from support.mail import lmtp_send, make_post

BODY = b"Subject: hi\r\n\r\nline one\r\n.starts with a dot\r\nlast\r\n"


def ok(_: str) -> str:
    return "250 2.1.0 Ok"


@dataclass
class Script:
    """How the server answers. Each hook gets the argument of its command."""

    pipelining: bool = True
    mail: Callable[[str], str] = ok
    rcpt: Callable[[str], str] = ok
    data: Callable[[list[str]], str] = lambda rcpts: "354 go ahead" if rcpts else "554 5.5.1 no valid recipients"
    lenient_data: bool = False  # answer 354 even with no recipient (some servers do)
    hang_up_after: int = 0  # close without answering the Nth final dot
    silent_after: int = 0  # stop answering after the Nth final dot


@dataclass
class Delivered:
    mail_from: str
    rcpts: list[str]
    body: bytes


@dataclass
class ScriptedServer(asyncio.Protocol):
    script: Script
    log: "ServerLog"
    buffer: bytearray = field(default_factory=bytearray)
    in_data: bool = False
    mail_from: str = ""
    rcpts: list[str] = field(default_factory=list)
    transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.log.connections += 1
        transport.write(b"220 test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and not self.transport.is_closing():
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if self.buffer.startswith(b".\r\n"):
                    end = -2
                if end == -1:
                    return
                body, self.buffer = bytes(self.buffer[: end + 2]), self.buffer[end + 5 :]
                self.in_data = False
                self._final(body)
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end].decode(), self.buffer[end + 2 :]
            self.log.commands.append(line)
            self._command(line)

    def _say(self, reply: str) -> None:
        if self.transport is not None and not self.log.silent:
            self.transport.write(reply.encode() + b"\r\n")

    def _command(self, line: str) -> None:
        verb, _, argument = line.partition(":") if line[:4] in ("MAIL", "RCPT") else (line[:4], "", line[5:])
        address = argument.strip().partition(">")[0].lstrip("<")
        if verb.startswith("EHLO"):
            self._say(
                "250-test\r\n250-8BITMIME\r\n"
                + ("250-PIPELINING\r\n" if self.script.pipelining else "")
                + "250 SIZE 1000000"
            )
        elif verb == "MAIL FROM":
            reply = self.script.mail(address)
            self.mail_from, self.rcpts = (address, []) if reply.startswith("2") else ("", [])
            self._say(reply)
        elif verb == "RCPT TO":
            reply = self.script.rcpt(address) if self.mail_from else "503 5.5.1 need MAIL"
            if reply.startswith("2"):
                self.rcpts.append(address)
            self._say(reply)
        elif verb == "DATA":
            if self.buffer:  # RFC 2920: DATA is the last command of a group
                self.log.violations.append(f"bytes after DATA in the same group: {bytes(self.buffer[:40])!r}")
            reply = self.script.data(self.rcpts) if self.mail_from else "503 5.5.1 need MAIL"
            if self.script.lenient_data and self.mail_from:
                reply = "354 go ahead"
            self.in_data = reply.startswith("354")
            self._say(reply)
        elif verb == "RSET":
            self.mail_from, self.rcpts = "", []
            self.log.resets += 1
            self._say("250 2.0.0 Ok")
        elif verb == "QUIT":
            self._say("221 bye")
            assert self.transport is not None
            self.transport.close()
        else:
            self._say("502 5.5.2 unknown command")

    def _final(self, body: bytes) -> None:
        self.log.finals += 1
        if self.script.hang_up_after and self.log.finals == self.script.hang_up_after:
            assert self.transport is not None
            self.transport.abort()
            return
        if self.script.silent_after and self.log.finals >= self.script.silent_after:
            self.log.silent = True
            return
        if self.rcpts:
            self.log.delivered.append(Delivered(self.mail_from, list(self.rcpts), body))
            self._say(f"250 2.0.0 queued for {','.join(self.rcpts)}")
        else:
            self._say("554 5.5.1 nothing to deliver")
        self.mail_from, self.rcpts = "", []


@dataclass
class ServerLog:
    commands: list[str] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    connections: int = 0
    finals: int = 0
    resets: int = 0
    silent: bool = False


def run(script: Script, client: Callable[[SMTPConnection], object]) -> tuple[object, ServerLog]:
    """Start the scripted server on port 0, run client(connection), stop both."""
    log = ServerLog()

    async def main() -> object:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: ScriptedServer(script, log), "127.0.0.1", 0)
        connection = SMTPConnection("127.0.0.1", server.sockets[0].getsockname()[1], timeout=2, helo="client.test")
        try:
            return await client(connection)  # type: ignore[misc]
        finally:
            await connection.close()
            server.close()
            await server.wait_closed()

    result = asyncio.run(main())
    assert log.violations == []
    return result, log


def personalised(count: int, body: bytes = BODY) -> list[Transaction]:
    return [
        Transaction(f"list-bounces+m{i}=example.com@lists.test", (f"m{i}@example.com",), body) for i in range(count)
    ]


def codes(results: list[dict[str, object]]) -> list[dict[str, int]]:
    return [{rcpt: reply.code for rcpt, reply in result.items()} for result in results]  # type: ignore[attr-defined]


def test_personalised_transactions_are_each_delivered_and_answered_for_their_own_recipient():
    results, log = run(Script(), lambda c: c.send_many(personalised(50)))
    assert [list(r) for r in results] == [[f"m{i}@example.com"] for i in range(50)]
    for result in results:
        [(rcpt, reply)] = result.items()
        assert reply.code == 250 and reply.text.endswith(f"queued for {rcpt}")
    assert [(d.mail_from, d.rcpts) for d in log.delivered] == [
        (f"list-bounces+m{i}=example.com@lists.test", [f"m{i}@example.com"]) for i in range(50)
    ]
    assert log.connections == 1 and log.resets == 0
    assert log.delivered[0].body + b".\r\n" == to_wire(BODY)


def test_the_body_and_the_next_transaction_share_one_write_so_each_costs_one_round_trip():
    chunks: list[bytes] = []

    class Recording(ScriptedServer):
        def data_received(self, data: bytes) -> None:
            chunks.append(data)
            super().data_received(data)

    log = ServerLog()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Recording(Script(), log), "127.0.0.1", 0)
        connection = SMTPConnection("127.0.0.1", server.sockets[0].getsockname()[1], helo="client.test")
        await connection.send_many(personalised(3))
        await connection.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    groups = [c for c in chunks if b"MAIL FROM" in c]
    assert len(groups) == 3 and all(c.endswith(b"DATA\r\n") for c in groups)
    assert groups[1].startswith(b"Subject: hi") and groups[2].startswith(b"Subject: hi")
    assert log.violations == [] and len(log.delivered) == 3


def test_a_refused_rcpt_mid_pipeline_fails_only_its_transaction_and_the_session_recovers():
    script = Script(rcpt=lambda a: "550 5.1.1 no such user" if a in ("m3@example.com", "m7@example.com") else ok(a))
    results, log = run(script, lambda c: c.send_many(personalised(10)))
    assert codes(results) == [{f"m{i}@example.com": 550 if i in (3, 7) else 250} for i in range(10)]
    assert sorted(d.rcpts[0] for d in log.delivered) == sorted(
        f"m{i}@example.com" for i in range(10) if i not in (3, 7)
    )
    assert log.resets == 2
    for result in results:  # each final reply names its own recipient: nothing is shifted
        for rcpt, reply in result.items():
            assert reply.code == 550 or reply.text.endswith(rcpt)


def test_a_refused_mail_from_answers_for_all_its_recipients_and_later_transactions_go_through():
    script = Script(mail=lambda a: "451 4.3.0 sender busy" if "m1=" in a else ok(a))
    transactions = personalised(3) + [Transaction("list-bounces@lists.test", ("a@x.test", "b@x.test"), BODY)]
    results, log = run(script, lambda c: c.send_many(transactions))
    assert codes(results) == [
        {"m0@example.com": 250},
        {"m1@example.com": 451},
        {"m2@example.com": 250},
        {"a@x.test": 250, "b@x.test": 250},
    ]
    assert [d.rcpts for d in log.delivered] == [["m0@example.com"], ["m2@example.com"], ["a@x.test", "b@x.test"]]


def test_some_recipients_of_a_shared_transaction_refused_the_others_get_the_final_reply():
    script = Script(rcpt=lambda a: "452 4.2.2 mailbox full" if a.startswith("full") else ok(a))
    rcpts = ["a@x.test", "full@x.test", "b@x.test"]
    result, log = run(script, lambda c: c.send("list-bounces@lists.test", rcpts, BODY))
    assert {r: (reply.code, reply.text) for r, reply in result.items()} == {
        "a@x.test": (250, "2.0.0 queued for a@x.test,b@x.test"),
        "full@x.test": (452, "4.2.2 mailbox full"),
        "b@x.test": (250, "2.0.0 queued for a@x.test,b@x.test"),
    }


def test_a_refused_data_answers_for_the_accepted_recipients():
    script = Script(data=lambda rcpts: "451 4.3.0 queue full" if "m1@example.com" in rcpts else "354 go")
    results, log = run(script, lambda c: c.send_many(personalised(3)))
    assert codes(results) == [{"m0@example.com": 250}, {"m1@example.com": 451}, {"m2@example.com": 250}]
    assert log.resets == 1


def test_a_server_that_says_354_without_recipients_gets_an_empty_message_and_a_reset():
    script = Script(rcpt=lambda a: "550 5.1.1 no" if a == "m1@example.com" else ok(a), lenient_data=True)
    results, log = run(script, lambda c: c.send_many(personalised(3)))
    assert codes(results) == [{"m0@example.com": 250}, {"m1@example.com": 550}, {"m2@example.com": 250}]
    assert [d.rcpts for d in log.delivered] == [["m0@example.com"], ["m2@example.com"]]


def test_without_pipelining_commands_go_one_at_a_time_with_the_same_results():
    script = Script(pipelining=False, rcpt=lambda a: "550 5.1.1 no" if a == "m1@example.com" else ok(a))
    results, log = run(script, lambda c: c.send_many(personalised(3)))
    assert codes(results) == [{"m0@example.com": 250}, {"m1@example.com": 550}, {"m2@example.com": 250}]
    assert len(log.delivered) == 2


def test_a_hang_up_after_a_final_dot_keeps_what_was_answered_and_marks_the_rest_unknown():
    async def client(connection: SMTPConnection) -> tuple[SMTPError, dict[str, object]]:
        with pytest.raises(SMTPError) as failed:
            await connection.send_many(personalised(5))
        again = await connection.send("list-bounces@lists.test", ["z@x.test"], BODY)  # reconnects
        return failed.value, again

    (error, again), log = run(Script(hang_up_after=3), client)
    assert codes(error.replies) == [{"m0@example.com": 250}, {"m1@example.com": 250}, {}, {}, {}]
    assert again["z@x.test"].code == 250 and log.connections == 2


def test_a_relay_that_stops_answering_times_out():
    async def client(connection: SMTPConnection) -> SMTPError:
        connection.timeout = 0.2
        with pytest.raises(SMTPError) as failed:
            await asyncio.wait_for(connection.send_many(personalised(3)), 5)
        return failed.value

    error, _ = run(Script(silent_after=2), client)
    assert "no reply within" in str(error) and codes(error.replies)[0] == {"m0@example.com": 250}


def test_an_address_with_cr_or_lf_is_refused_locally_and_never_reaches_the_server():
    evil = "victim@x.test>\r\nRCPT TO:<other@x.test"
    result, log = run(Script(), lambda c: c.send("list-bounces@lists.test", ["a@x.test", evil], BODY))
    assert result[evil].code == 553 and result["a@x.test"].code == 250
    assert not any("other@x.test" in command for command in log.commands)


def test_bare_line_ends_become_crlf_and_leading_dots_are_stuffed():
    assert to_wire(b"a\nb\r.c\r\n..d\n") == b"a\r\nb\r\n..c\r\n...d\r\n.\r\n"


def test_a_personalised_list_sends_one_transaction_per_member_with_its_verp_sender(engine, sink, make_list):
    members = ["alice@example.com", "bob@example.com", "carol@example.org", "dan@reject.example.test"]
    sink.handler.rcpt_replies = {"reject.example.test": "550 5.1.1 No such user"}
    address = make_list("team", members=members, personalize="yes")
    lmtp_send(engine.lmtp, "alice@example.com", [address], make_post())
    sink.wait_for(2)
    states: dict[str, str] = {}
    for _ in range(200):
        with engine.engine.connect() as connection:
            states = dict(connection.execute(select(Delivery.rcpt, Delivery.status)).all())
        if states and all(s != "pending" for s in states.values()):
            break
        time.sleep(0.05)
    assert states == {"bob@example.com": "sent", "carol@example.org": "sent", "dan@reject.example.test": "failed"}
    assert sorted((m.mail_from, tuple(m.rcpts)) for m in sink.messages) == [
        ("team-bounces+bob=example.com@lists.example.test", ("bob@example.com",)),
        ("team-bounces+carol=example.org@lists.example.test", ("carol@example.org",)),
    ]
