"""IMAP intake against a real Dovecot on loopback: a message in the mailbox reaches the members
through the same commit and worker as LMTP, nothing is lost or taken twice (restarts, a
UIDVALIDITY reset, a connection cut in the middle of a FETCH), failures go to their folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select, text

from listserv.inbound.imap.tables import ImapMailbox
from listserv.store.schema import Inbound
from listserv.work import Work
from support.dovecot import Dovecot
from support.engine import RunningEngine
from support.imap import imap_settings, take_once
from support.mail import make_post, parse
from support.tcpproxy import TcpProxy
from support.waiting import wait_until

MEMBERS = ["bob@example.com", "carol@example.org"]  # they get alice's posts
POSTER = "alice@example.com"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


def inbound_count(work: Work) -> int:
    with work.sessions() as session:
        return session.scalar(select(func.count()).select_from(Inbound)) or 0


def mailbox_row(work: Work) -> ImapMailbox:
    with work.sessions() as session:
        return session.scalars(select(ImapMailbox)).one()


def connected(work: Work) -> bool:
    with work.sessions() as session:
        return bool(session.scalar(select(ImapMailbox.connected)))


def last_error(work: Work) -> str:
    with work.sessions() as session:
        return session.scalar(select(ImapMailbox.last_error)) or ""


def message_ids(sink) -> list[str]:
    return sorted(str(parse(data)["Message-ID"]) for _, data in sink.deliveries())


def test_a_post_in_the_mailbox_reaches_the_members_and_is_marked_seen_only_after(
    dovecot, make_list, settings, sink, work, tmp_path
):
    dovecot.deliver(make_post(msgid="<first@example.com>"))
    make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path))
    running = RunningEngine(settings).start()
    try:
        found = sink.wait_for(2)
        assert sorted(rcpt for rcpt, _ in found) == MEMBERS
        assert parse(found[0][1])["List-Id"] is not None  # the whole pipeline ran
        wait_until(lambda: dovecot.flags() == ["\\Seen"])
        # IDLE: a message that arrives while connected is taken without a poll interval
        wait_until(lambda: connected(work))
        dovecot.deliver(make_post(msgid="<second@example.com>", subject="Later"))
        sink.wait_for(4, timeout=10)
    finally:
        running.stop()
    assert message_ids(sink) == ["<first@example.com>"] * 2 + ["<second@example.com>"] * 2
    row = mailbox_row(work)
    assert (row.connected, row.backlog, row.taken, row.last_error) == (False, 0, 2, "")


def test_taken_mail_goes_to_the_processed_folder_and_what_cannot_be_taken_to_the_failed_one(
    dovecot, make_list, work, tmp_path, caplog
):
    shared = imap_settings(dovecot, tmp_path, imap_processed_folder="Done", imap_failed_folder="Failed")
    team = make_list("team", members=[POSTER, *MEMBERS], max_message_size="5000", **shared)
    make_list("news", members=[POSTER, *MEMBERS], **shared)  # the same mailbox feeds two lists
    dovecot.deliver(make_post(msgid="<ok@example.com>"))
    dovecot.deliver(make_post(to="news@lists.example.test", msgid="<news@example.com>"))
    dovecot.deliver(make_post(msgid="<big@example.com>", body="x" * 9000))  # over team's max_message_size
    dovecot.deliver(make_post(to="someone@elsewhere.example", msgid="<lost@example.com>"))
    dovecot.deliver(make_post(msgid="<ok@example.com>"))  # the same message again
    dovecot.deliver(make_post(msgid="<both@example.com>", extra="Cc: news@lists.example.test\r\n"))
    with caplog.at_level(logging.WARNING, logger="listserv.inbound.imap"):
        summary = take_once(work, team)
    assert (summary.taken, summary.failed, summary.left) == (4, 2, 0)
    assert dovecot.count(folder="INBOX") == 0
    assert dovecot.count(folder="Done") == 4 and dovecot.count(folder="Failed") == 2
    assert inbound_count(work) == 4  # ok to team, news's own, both to each list; the copy recognised
    logged = caplog.text
    assert "<big@example.com> failed: team@lists.example.test: 552 5.3.4" in logged
    assert "addressed to none of" in logged
    assert take_once(work, team).taken == 0  # nothing is taken twice


def test_a_server_restart_while_polling_loses_nothing_and_is_recorded(
    dovecot, make_list, settings, sink, work, tmp_path
):
    make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path))
    running = RunningEngine(settings).start()
    try:
        wait_until(lambda: connected(work))
        dovecot.stop()
        wait_until(lambda: last_error(work) != "")
        dovecot.drop(make_post(msgid="<while-down@example.com>"))  # mail keeps arriving
        dovecot.start()
        sink.wait_for(2, timeout=30)  # reconnected after its backoff, took the message
        dovecot.deliver(make_post(msgid="<after@example.com>"))
        sink.wait_for(4, timeout=30)
    finally:
        running.stop()
    assert message_ids(sink) == ["<after@example.com>"] * 2 + ["<while-down@example.com>"] * 2
    assert "IMAP server 127.0.0.1" in mailbox_row(work).last_error


def append_seen(dovecot: Dovecot, folder: str, raw: bytes) -> None:
    """A message someone already read in webmail: \\Seen before we ever saw it."""
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login("list", "secret")
    client.append(folder, raw, flags=[b"\\Seen"])
    client.logout()


def test_a_uidvalidity_reset_neither_skips_nor_reposts(dovecot, make_list, work, tmp_path):
    dovecot.doveadm("mailbox", "create", "-u", "list", "Lists")
    team = make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path, imap_folder="Lists"))
    for n in (1, 2, 3):
        dovecot.deliver(make_post(msgid=f"<old{n}@example.com>"), folder="Lists")
    assert take_once(work, team).taken == 3
    before = mailbox_row(work)
    # the folder is deleted and made again (a provider's migration): new UIDVALIDITY, UIDs from 1
    dovecot.doveadm("mailbox", "delete", "-u", "list", "Lists")
    dovecot.doveadm("mailbox", "create", "-u", "list", "Lists")
    dovecot.deliver(make_post(msgid="<old1@example.com>"), folder="Lists")  # the same mail, back again
    append_seen(dovecot, "Lists", make_post(msgid="<read-in-webmail@example.com>"))  # UID 2, below last_uid 3
    summary = take_once(work, team)
    after = mailbox_row(work)
    assert after.uidvalidity != before.uidvalidity and (before.last_uid, after.last_uid) == (3, 2)
    assert summary.taken == 2 and inbound_count(work) == 4  # the new one taken, the old one recognised
    assert dovecot.flags(folder="Lists") == ["\\Seen", "\\Seen"]


def test_a_connection_cut_in_the_middle_of_a_fetch_loses_nothing_and_posts_nothing_twice(
    dovecot, make_list, settings, sink, work, tmp_path
):
    proxy = TcpProxy(dovecot.port)
    for n in range(40):
        dovecot.deliver(make_post(msgid=f"<m{n}@example.com>", body=f"message {n}\n" + "y" * 20000))
    proxy.cut_after(b"BODY.PEEK[]", 300_000)  # well inside the first batch's answer
    plain = imap_settings(dovecot, tmp_path, port=proxy.port, imap_tls="none")  # so the proxy sees the FETCH
    make_list("team", members=[POSTER, MEMBERS[0]], **plain)
    running = RunningEngine(settings).start()
    try:
        sink.wait_for(40, timeout=60)
        wait_until(lambda: dovecot.count(query="unseen") == 0)
    finally:
        running.stop()
        proxy.close()
    assert proxy.cuts == 1 and proxy.connections >= 2
    assert message_ids(sink) == sorted(f"<m{n}@example.com>" for n in range(40))
    assert inbound_count(work) == 40
    assert "connection" in mailbox_row(work).last_error.lower()


def test_a_stored_message_whose_seen_flag_was_lost_is_recognised_not_posted_again(dovecot, make_list, work, tmp_path):
    team = make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path))
    dovecot.deliver(make_post(msgid="<once@example.com>"))
    assert take_once(work, team).taken == 1
    # as if we were killed between the commit and the \Seen: the flag is gone, the row is there
    dovecot.doveadm("flags", "remove", "-u", "list", "\\Seen", "mailbox", "INBOX", "all")
    assert take_once(work, team).taken == 1  # taken again: recognised by Message-ID + content hash
    assert inbound_count(work) == 1 and dovecot.flags() == ["\\Seen"]


def test_a_large_backlog_is_taken_in_batches(dovecot, make_list, work, tmp_path: Path):
    team = make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path))
    for n in range(450):  # more than two batches of 200
        dovecot.deliver(make_post(msgid=f"<b{n}@example.com>"))
    summary = take_once(work, team)
    assert (summary.taken, summary.left) == (450, 0) and inbound_count(work) == 450
    assert mailbox_row(work).last_uid == 450


def test_without_move_taken_mail_is_copied_then_expunged(dovecot, make_list, work, tmp_path):
    proxy = TcpProxy(dovecot.port, hide=b" MOVE")  # the server as one without RFC 6851
    try:
        plain = imap_settings(dovecot, tmp_path, port=proxy.port, imap_tls="none", imap_processed_folder="Done")
        team = make_list("team", members=[POSTER, *MEMBERS], **plain)
        dovecot.deliver(make_post(msgid="<a@example.com>"))
        dovecot.deliver(make_post(msgid="<b@example.com>"))
        assert take_once(work, team).taken == 2
    finally:
        proxy.close()
    assert b"UID MOVE" not in proxy.commands and b"UID COPY" in proxy.commands and b"UID EXPUNGE" in proxy.commands
    assert dovecot.count(folder="INBOX") == 0 and dovecot.count(folder="Done") == 2


def rename_inbound(work: Work, old: str, new: str) -> None:
    with work.sessions() as session, session.begin():
        session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_a_database_failure_leaves_the_mail_in_the_mailbox_for_the_next_pass(dovecot, make_list, work, tmp_path):
    team = make_list("team", members=[POSTER, *MEMBERS], **imap_settings(dovecot, tmp_path))
    dovecot.deliver(make_post(msgid="<a@example.com>"))
    rename_inbound(work, "inbound", "inbound_away")  # the commit fails as with a database that is down
    try:
        summary = take_once(work, team)
    finally:
        rename_inbound(work, "inbound_away", "inbound")
    assert (summary.taken, summary.failed, summary.left) == (0, 0, 1)
    assert "\\Seen" not in dovecot.flags()[0] and dovecot.count(folder="listserv-failed") == 0
    assert take_once(work, team).taken == 1 and inbound_count(work) == 1


def test_a_fetch_that_hangs_is_noticed_by_its_timeout_and_the_next_pass_takes_the_mail(
    dovecot, make_list, work, tmp_path
):
    proxy = TcpProxy(dovecot.port)
    try:
        plain = imap_settings(dovecot, tmp_path, port=proxy.port, imap_tls="none")
        team = make_list("team", members=[POSTER, *MEMBERS], **plain)
        dovecot.deliver(make_post(msgid="<a@example.com>"))
        proxy.freeze_after(b"BODY.PEEK[]")  # the connection stays open, the answer never comes
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            take_once(work, team, timeout=2)
        assert time.monotonic() - started < 30
        assert "did not answer within 2 s" in last_error(work)
        assert "\\Seen" not in dovecot.flags()[0] and inbound_count(work) == 0
        assert take_once(work, team).taken == 1  # a new connection
    finally:
        proxy.close()
