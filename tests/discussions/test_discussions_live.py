"""Threading in the live pipeline: posts in over the real LMTP listener, discussions read back with
`listserv thread ls/show --json`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta, timezone
from email.utils import format_datetime

from sqlalchemy import func, select

from listserv.discussions.tables import ThreadContainer
from listserv.store import db
from listserv.store.schema import Post
from support.cli import invoke
from support.clock import start_moment
from support.mail import lmtp_send

MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org"]
TEAM = "team@lists.example.test"


def thread_cli(settings, *args: str) -> str:
    env = {"LISTSERV_DATABASE_URL": settings.database_url, "LISTSERV_DOMAIN": settings.domain}
    result = invoke(["thread", *args], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def discussions(settings, address: str = TEAM) -> list[dict]:
    return json.loads(thread_cli(settings, "ls", address, "--json"))


def wait_threaded(settings, count: int, address: str = TEAM, timeout: float = 20.0) -> list[dict]:
    """The list's discussions once `count` posts are threaded."""
    deadline = time.monotonic() + timeout
    while True:
        found = discussions(settings, address)
        if sum(len(d["message_ids"]) for d in found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def groups(found: list[dict]) -> set[frozenset[str]]:
    return {frozenset(d["message_ids"]) for d in found}


BASE = (start_moment() - timedelta(days=1)).replace(tzinfo=timezone.utc)  # the day before the engine's now


def post(engine, msgid: str, subject: str = "Hello", sender: str = "alice@example.com", irt: str = "",
         refs: str = "", to: tuple[str, ...] = (TEAM,), body: str = "Hi all\n", minute: int = 0) -> bytes:  # fmt: skip
    """A post dated `minute` minutes after BASE, in over LMTP."""
    headers = [
        f"From: {sender}",
        f"To: {', '.join(to)}",
        f"Subject: {subject}",
        f"Message-ID: {msgid}",
        f"Date: {format_datetime(BASE + timedelta(minutes=minute))}",
    ]
    headers += [f"In-Reply-To: {irt}"] if irt else []
    headers += [f"References: {refs}"] if refs else []
    data = ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()
    replies = lmtp_send(engine.lmtp, sender, list(to), data)
    assert all(reply.startswith("250") for reply in replies.values()), replies
    return data


def test_replies_to_a_missing_message_share_a_discussion_and_the_late_parent_relinks(engine, settings, make_list):
    make_list("team", members=MEMBERS)
    post(engine, "<r1@example.com>", "Re: Plans", "bob@example.com", "<p@example.com>", "<p@example.com>", minute=10)
    post(engine, "<r2@example.com>", "Re: Plans", "carol@example.org", "<p@example.com>", "<p@example.com>", minute=20)
    [only] = wait_threaded(settings, 2)
    assert set(only["message_ids"]) == {"r1@example.com", "r2@example.com"}
    assert only["key"] == "p@example.com" and only["post_count"] == 2
    shown = json.loads(thread_cli(settings, "show", TEAM, str(only["id"]), "--json"))
    assert [(m["message_id"], m["placeholder"], m["method"]) for m in shown["messages"]] == [
        ("p@example.com", True, None), ("r1@example.com", False, "placeholder"),
        ("r2@example.com", False, "placeholder")]  # fmt: skip

    post(engine, "<p@example.com>", "Plans", "alice@example.com")  # the parent, late
    [only] = wait_threaded(settings, 3)
    assert only["message_ids"][0] == "p@example.com" and len(only["message_ids"]) == 3
    assert only["started_by"] == "alice@example.com" and only["subject"] == "Plans"
    shown = json.loads(thread_cli(settings, "show", TEAM, "<r2@example.com>", "--json"))
    assert [(m["message_id"], m["parent"], m["depth"], m["placeholder"]) for m in shown["messages"]] == [
        ("p@example.com", None, 0, False), ("r1@example.com", "p@example.com", 1, False),
        ("r2@example.com", "p@example.com", 1, False)]  # fmt: skip
    assert shown["participants"] == 3


def test_a_late_message_joining_two_discussions_merges_them(engine, settings, make_list):
    make_list("team", members=MEMBERS)
    post(engine, "<a1@example.com>", "Re: x", "bob@example.com", "<gone-a@example.com>", "<gone-a@example.com>")
    post(engine, "<b1@example.com>", "Re: x", "bob@example.com", "<gone-b@example.com>", "<gone-b@example.com>")
    assert len(wait_threaded(settings, 2)) == 2
    # gone-b (never received) replied to gone-a: the chain proves one discussion
    post(
        engine,
        "<c1@example.com>",
        "Re: x",
        "carol@example.org",
        "<gone-b@example.com>",
        "<gone-a@example.com> <gone-b@example.com>",
    )
    time.sleep(0.5)
    found = wait_threaded(settings, 3)
    assert groups(found) == {frozenset({"a1@example.com", "b1@example.com", "c1@example.com"})}
    assert found[0]["key"] == "gone-a@example.com" and found[0]["post_count"] == 3


def test_the_subject_fallback_is_guarded(engine, settings, make_list):
    make_list("team", members=MEMBERS)
    post(engine, "<q1@example.com>", "Retro formats", "alice@example.com")
    post(engine, "<q2@example.com>", "Retro formats", "bob@example.com", minute=5)  # unrelated, same title
    assert len(wait_threaded(settings, 2)) == 2
    # a client that drops In-Reply-To and References, replying to the list's copy
    post(engine, "<r@example.com>", "RE: [team] retro formats", "carol@example.org", minute=10)
    found = wait_threaded(settings, 3)
    assert groups(found) == {frozenset({"q1@example.com"}), frozenset({"q2@example.com", "r@example.com"})}
    shown = json.loads(thread_cli(settings, "show", TEAM, "r@example.com", "--json"))
    assert [(m["message_id"], m["parent"], m["method"]) for m in shown["messages"]] == [
        ("q2@example.com", None, "root"), ("r@example.com", "q2@example.com", "subject")]  # fmt: skip
    post(engine, "<fwd@example.com>", "Fwd: Retro formats", "carol@example.org", minute=20)  # a forward is no reply
    assert len(wait_threaded(settings, 4)) == 3


def test_a_cross_post_is_one_post_per_list_and_a_redelivery_is_threaded_once(engine, settings, make_list):
    make_list("team", members=MEMBERS)
    make_list("other", members=MEMBERS)
    other = "other@lists.example.test"
    data = post(engine, "<x@example.com>", "Both lists", to=(TEAM, other))
    again = b"Received: from mx2.example.com by mx.example.test; Mon, 30 Nov 2026\r\n" + data
    assert lmtp_send(engine.lmtp, "alice@example.com", [TEAM], again)[TEAM].startswith("250")  # delivered again
    post(
        engine,
        "<y@example.com>",
        "Re: Both lists",
        "bob@example.com",
        "<x@example.com>",
        "<x@example.com>",
        to=(TEAM, other),
    )
    assert groups(wait_threaded(settings, 2)) == {frozenset({"x@example.com", "y@example.com"})}
    assert groups(wait_threaded(settings, 2, other)) == {frozenset({"x@example.com", "y@example.com"})}
    time.sleep(0.5)
    engine_db = db.open_engine(settings.database_url)
    with db.sessions(engine_db)() as session:
        per_list = session.execute(select(Post.list_id, func.count()).group_by(Post.list_id)).all()
        containers = session.scalar(select(func.count()).select_from(ThreadContainer))
    engine_db.dispose()
    assert sorted(n for _, n in per_list) == [2, 2] and containers == 4


def test_a_reused_message_id_with_other_content_is_threaded_next_to_the_first(engine, settings, make_list):
    make_list("team", members=MEMBERS)
    post(engine, "<same@example.com>", "First", body="one\n")
    post(engine, "<same@example.com>", "First", body="two\n")  # distributed too (core behaviour)
    found = wait_threaded(settings, 2)
    ids = sorted(i for d in found for i in d["message_ids"])
    assert ids[0] == "same@example.com" and ids[1].startswith("same@example.com#duplicate-")


def test_threading_a_post_twice_changes_nothing(engine, settings, make_list):
    from email import policy
    from email.parser import BytesParser

    from listserv.discussions.store import thread_post
    from listserv.store import queries
    from listserv.store.schema import Inbound

    make_list("team", members=MEMBERS)
    post(engine, "<once@example.com>", "Once")
    before = wait_threaded(settings, 1)
    engine_db = db.open_engine(settings.database_url)
    with db.sessions(engine_db)() as session, session.begin():
        row = session.scalars(select(Post)).one()
        raw = session.get_one(Inbound, row.inbound_id).raw
        lst = queries.load_list_by_id(session, row.list_id)
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        plan = thread_post(session, lst, row.id, row.sender, message, raw, engine.work.now())
        assert not plan.inserts and not plan.relinks and [s.reason.value for s in plan.skipped] == ["already-threaded"]
    engine_db.dispose()
    assert discussions(settings) == before
