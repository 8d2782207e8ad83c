"""Hostile and broken mail gets a definite answer and never takes the server down (RELIABILITY 6-7)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from listserv.store import db
from listserv.store.schema import Inbound, Post
from support.corpora import corpora
from support.mail import lmtp_send, make_post, parse

MEMBERS = ["alice@example.com", "bob@example.com"]


def nested(depth: int) -> bytes:
    head = b"From: alice@example.com\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"
    parts = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    return head + parts + b"Content-Type: text/plain\r\n\r\nbottom\r\n"


CASES = {
    "megabyte header line": (make_post(extra="X-Big: " + "a" * 1_000_000 + "\r\n"), "500 5.5.2"),
    "header block over the cap": (make_post(extra="X-Big: a\r\n" * 40_000), "552 5.3.4"),
    "5000 nested multiparts": (nested(5000), "554"),
    "8-bit junk in headers": (
        make_post(subject="caf\xe9 JUNK", msgid="<junk@x>").replace(b"JUNK", b"\xff\xfe\x80"),
        "250",
    ),
    "unknown charset": (
        make_post(
            subject="=?x-klingon?Q?qapla=27?=", msgid="<kl@x>", extra="Content-Type: text/plain; charset=x-klingon\r\n"
        ),
        "250",
    ),
    "encoded header injection": (
        make_post(subject="=?utf-8?Q?hi=0D=0ABcc:_victim@example.net?=", msgid="<inj@x>"),
        "250",
    ),
    "no headers at all": (b"just a body\r\n", "250"),
    "NUL bytes in threading headers": (
        make_post(msgid="<nul@x>", extra="References: <a\x00b@x> <c@x>\r\nIn-Reply-To: <a\x00b@x>\r\n"),
        "250",
    ),
    "empty group address": (make_post(msgid="<grp@x>", extra="Cc: unlisted-recipients:;\r\n"), "250"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_a_definite_answer_and_the_server_stays_up(case, engine, sink, make_list, settings):
    address = make_list("team", members=MEMBERS)
    data, expected = CASES[case]
    reply = lmtp_send(engine.lmtp, "alice@example.com", [address], data)[address]
    assert reply.startswith(expected), reply
    sink_before = len(sink.deliveries())
    assert lmtp_send(engine.lmtp, "alice@example.com", [address], make_post(msgid="<after@x>"))[address].startswith(
        "250"
    )
    found = sink.wait_for(sink_before + 1)
    if case == "encoded header injection":
        message = parse(next(d for _, d in found if b"<inj@x>" in d))
        assert message["Bcc"] is None and "Bcc: victim" in message["Subject"]


def test_every_corpus_message_is_distributed_or_refused_with_a_recorded_reason(engine, sink, make_list, settings):
    root = corpora("flanker_fixtures").parent
    address = make_list("team", members=MEMBERS)
    files = sorted(p for p in Path(root, "flanker_fixtures", "messages").rglob("*") if p.is_file())
    answers = {}
    for path in files:
        reply = lmtp_send(engine.lmtp, "alice@example.com", [address], path.read_bytes())[address]
        answers[path.name] = reply
        assert reply[:3] in ("250", "552", "554"), (path, reply)
    sql = db.open_engine(settings.database_url)
    deadline = time.monotonic() + 60
    with db.sessions(sql)() as session:
        while time.monotonic() < deadline:
            waiting = session.scalars(select(Inbound).where(Inbound.status == "received")).all()
            session.rollback()
            if not waiting:
                break
            time.sleep(0.2)
        stored = session.scalars(select(Inbound)).all()
        assert all(row.status in ("done", "quarantined") for row in stored)
        assert all(row.error for row in stored if row.status == "quarantined")
        decided = session.scalars(select(Post)).all()
        assert all(post.decision in ("accept", "hold", "reject", "discard") for post in decided)
    sql.dispose()
    assert len(stored) >= len(files) // 2, answers
