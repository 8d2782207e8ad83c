"""`listserv archive import`: real corpora in mbox and Maildir form, compared with notmuch's thread
forest; re-runs, malformed messages, compressed and pipermail archives; nothing is ever sent."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from listserv.store import db
from listserv.store.schema import Inbound, Post
from support.cli import invoke
from support.corpora import LKML_YES_SPLIT, corpora
from support.mail import lmtp_send, make_post

SUMMARY = re.compile(r"read (\d+) messages .*: (\d+) imported, (\d+) already stored, (\d+) duplicate Message-IDs, "
                     r"(\d+) malformed .* has (\d+) discussions")  # fmt: skip


@pytest.fixture
def cli(cli):
    """The real `listserv` command, with an empty list `corpus` to import into."""
    cli("list", "create", "corpus", "--name", "Corpus")
    return cli


def counts(output: str) -> tuple[int, ...]:
    found = SUMMARY.search(output)
    assert found, output
    return tuple(int(n) for n in found.groups())


def groups(cli, address: str = "corpus") -> set[frozenset[str]]:
    return {frozenset(d["message_ids"]) for d in json.loads(cli("thread", "ls", address, "--json"))}


def mbox_quote(raw: bytes) -> bytes:
    """mboxrd: every line that is ">*From " gets one more ">"."""
    lines = raw.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    return b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines) + b"\n"


def corpus_files(name: str) -> list[Path]:
    folder = corpora() / "notmuch_test_corpora" / "test" / "corpora" / name
    if not folder.is_dir():
        pytest.skip(f"no notmuch corpus {name} in LISTSERV_CORPORA")
    return sorted(p for p in folder.rglob("*") if p.is_file())


def write_mbox(files: list[Path], path: Path) -> Path:
    with open(path, "wb") as out:
        for file in files:
            out.write(b"From archive@example.org Mon Nov 30 10:00:00 2009\n" + mbox_quote(file.read_bytes()) + b"\n")
    return path


def write_maildir(files: list[Path], path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    for index, file in enumerate(files):
        (path / "cur" / f"{1259000000 + index}.M{index}P1.archive:2,S").write_bytes(file.read_bytes())
    return path


def notmuch_groups(name: str) -> set[frozenset[str]]:
    data = json.loads((corpora() / "notmuch_test_corpora" / "reference" / f"{name}-notmuch-0.37-show.json")
                      .read_text())  # fmt: skip
    found = set()
    for thread in data:
        ids, pending = set(), list(thread)
        while pending:  # each node is [message, [replies...]]
            message, replies = pending.pop()
            ids.add(message["id"])
            pending.extend(replies)
        found.add(frozenset(ids))
    return found


@pytest.mark.parametrize("form", ["mbox", "maildir"])
def test_the_default_corpus_imports_into_exactly_notmuchs_threads(cli, tmp_path, form):
    files = corpus_files("default")
    path = write_mbox(files, tmp_path / "default.mbox") if form == "mbox" else write_maildir(files, tmp_path / "md")
    read, imported, already, duplicates, malformed, discussions = counts(cli("archive", "import", "corpus", str(path)))
    assert (read, imported, already + duplicates, malformed) == (53, 52, 1, 0)
    theirs = notmuch_groups("default")
    assert len(theirs) == 24 and groups(cli) == theirs and discussions == 24


@pytest.mark.parametrize("form", ["mbox", "maildir"])
def test_the_lkml_corpus_matches_notmuch_except_the_bogus_yes_id(cli, tmp_path, form):
    files = corpus_files("lkml")
    path = write_mbox(files, tmp_path / "lkml.mbox") if form == "mbox" else write_maildir(files, tmp_path / "md")
    read, imported, already, duplicates, malformed, _ = counts(cli("archive", "import", "corpus", str(path)))
    assert (read, imported, already + duplicates, malformed) == (210, 176, 34, 0)
    ours, theirs = groups(cli), notmuch_groups("lkml")
    (fused,) = [group for group in theirs if len(group) == 48]
    assert theirs - ours == {fused} and len(theirs & ours) == 6
    assert ours - theirs == {group for group in ours if group <= fused}
    listed = json.loads(cli("thread", "ls", "corpus", "--json"))
    assert {
        d["key"]: len(set(d["message_ids"]) & fused) for d in listed if set(d["message_ids"]) & fused
    } == LKML_YES_SPLIT
    deep = max(listed, key=lambda d: d["post_count"])  # the 100-message kernel thread, one discussion
    assert deep["post_count"] == 100 and len(deep["message_ids"]) == 100


def test_every_notmuch_folder_imports_without_a_fatal_error_and_loops_terminate(cli, tmp_path):
    files = corpus_files("broken")
    root = files[0].parents[1]
    everything = sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "corpora")
    output = cli("archive", "import", "corpus", str(write_mbox(everything, tmp_path / "all.mbox")))
    read, imported, already, duplicates, malformed, _ = counts(output)
    assert read == len(everything) and imported + already + duplicates + malformed == read
    loop = {"mid-loop-12@example.org", "mid-loop-21@example.org"}
    assert any(loop <= group for group in groups(cli))


def test_a_re_run_imports_nothing_and_changes_no_discussion(cli, tmp_path):
    path = write_mbox(corpus_files("default"), tmp_path / "default.mbox")
    cli("archive", "import", "corpus", str(path))
    before = cli("thread", "ls", "corpus", "--json")
    read, imported, already, duplicates, malformed, _ = counts(cli("archive", "import", "corpus", str(path)))
    assert (read, imported, already, duplicates, malformed) == (53, 0, 53, 0, 0)
    assert cli("thread", "ls", "corpus", "--json") == before


def test_rethreading_an_archive_imported_in_any_order_gives_the_batch_forest(cli, tmp_path):
    """`thread repair --rethread` threads in date order: exactly build_forest's grouping, though
    the import (in file order, reversed here) placed some replies before their parents."""
    from listserv.discussions.headers import first_values, message_date, own_message_id, thread_input
    from listserv.discussions.jwz import build_forest
    from listserv.mail.parse import parse_bytes

    files = corpus_files("lkml") + corpus_files("default")
    cli("archive", "import", "corpus", str(write_mbox(files[::-1], tmp_path / "reversed.mbox")))
    inputs = {}
    for file in files:
        headers = first_values(parse_bytes(file.read_bytes()))
        own = own_message_id(headers)
        inputs.setdefault(own, thread_input(headers, own, message_date(headers)))
    batch = {frozenset(thread.message_ids()) for thread in build_forest(inputs.values()).threads}
    out = cli("thread", "repair", "corpus", "--rethread")
    assert out.startswith("re-threaded 228 posts:") and groups(cli) == batch
    again = cli("thread", "repair", "corpus", "--rethread")
    assert f"{len(batch)} discussions unchanged (same numbers), 0 new, 0 replaced" in again


MALFORMED = (
    b"From a@example.org Mon Nov 30 10:00:00 2009\n"
    b"From: Alice <a@example.org>\nSubject: fine\nMessage-ID: <ok@example.org>\nDate: Mon, 30 Nov 2009 10:00:00 +0000\n"
    b"\nhello\n\n"
    b"From b@example.org Mon Nov 30 10:01:00 2009\n\n"  # empty
    b"From c@example.org Mon Nov 30 10:02:00 2009\nthis is not mail at all, just text\n\n"
    b"From d@example.org Mon Nov 30 10:03:00 2009\nFrom: d@example.org\nSubject: Re: fine\n"
    b"In-Reply-To: <ok@example.org>\n\nno Message-ID\n\n"
    b"From e@example.org Mon Nov 30 10:04:00 2009\nFrom: \xff\xfe <e@example.org>\nSubject: \x00\xc3(\n"
    b"Message-ID: <" + b"x" * 5000 + b"@example.org>\nReferences: <ok@example.org> <yes> <a\x00b@c>\n"
    b"Date: Thu, 31 Feb 2009 99:99:99 +9999\n\nbinary junk \x00\xff\n\n"
    b"From f@example.org Mon Nov 30 10:05:00 2009\nMessage-ID: <ok@example.org>\nSubject: same id, other text\n\n"
    b"different\n"
)  # fmt: skip


def test_malformed_messages_are_each_reported_kept_and_never_fatal(cli, tmp_path, database_url):
    path = tmp_path / "bad.mbox"
    path.write_bytes(MALFORMED)
    result = invoke(["archive", "import", "corpus", str(path)])
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.output  # the reports (stderr) and the summary
    assert counts(text) == (6, 3, 0, 1, 2, 1)
    assert "message 2 (byte" in text and "empty message; kept as inbound" in text
    assert "message 3 (byte" in text and "no header block; kept as inbound" in text
    assert "message 4 (byte" in text and "no usable Message-ID; threaded as <no-message-id-" in text
    [discussion] = json.loads(cli("thread", "ls", "corpus", "--json"))
    assert discussion["message_ids"][0] == "ok@example.org" and len(discussion["message_ids"]) == 3
    engine = db.open_engine(database_url)
    with db.sessions(engine)() as session:
        rows = session.execute(select(Inbound.status, Inbound.error)).all()
        posts = session.scalars(select(Post.decision)).all()
    engine.dispose()
    assert [status for status, _ in rows] == ["archived"] * 6  # every message kept, raw
    assert sum("already a post of this list" in error for _, error in rows) == 1
    assert posts == ["imported"] * 3
    again = cli("archive", "import", "corpus", str(path))
    assert counts(again) == (6, 0, 6, 0, 0, 1) and "Message-ID" not in again.replace("duplicate Message-IDs", "")


def test_gzip_pipermail_archives_and_several_files_import_in_one_run(cli, tmp_path):
    november = (
        b"From alice at example.org  Mon Nov 30 10:00:00 2009\nFrom: alice at example.org (Alice)\n"
        b"Subject: [corpus] Welcome\nMessage-ID: <w@example.org>\nDate: Mon, 30 Nov 2009 10:00:00 +0000\n\n"
        b"Hello\nFrom the start, we said\n\n"
    )  # an unquoted From in the body, as pipermail writes it
    december = (b"From bob at example.org  Tue Dec  1 09:00:00 2009\nFrom: bob at example.org (Bob)\n"
                b"Subject: Re: [corpus] Welcome\nMessage-ID: <r@example.org>\nIn-Reply-To: <w@example.org>\n"
                b"Date: Tue, 1 Dec 2009 09:00:00 +0000\n\nThanks\n")  # fmt: skip
    (tmp_path / "2009-November.txt.gz").write_bytes(gzip.compress(november))
    (tmp_path / "2009-December.txt").write_bytes(december)
    output = cli(
        "archive", "import", "corpus", str(tmp_path / "2009-November.txt.gz"), str(tmp_path / "2009-December.txt")
    )
    assert counts(output) == (2, 2, 0, 0, 0, 1)
    [discussion] = json.loads(cli("thread", "ls", "corpus", "--json"))
    assert discussion["message_ids"] == ["w@example.org", "r@example.org"]
    assert discussion["started_by"] == "alice@example.org" and discussion["participants"] == 2
    assert discussion["first_activity"] == "2009-11-30T10:00:00Z"
    assert "no such file" in cli("archive", "import", "corpus", str(tmp_path / "nope.mbox"), code=1)
    (tmp_path / "folder").mkdir()
    assert "must be a Maildir" in cli("archive", "import", "corpus", str(tmp_path / "folder"), code=1)
    assert "no list" in cli("archive", "import", "nosuch", str(tmp_path / "2009-December.txt"), code=1)


def test_thousands_of_messages_import_in_seconds(cli, tmp_path, database_url):
    with open(tmp_path / "big.mbox", "wb") as out:
        for index in range(5000):
            parent = f"<m{index // 5 * 5}@example.org>" if index % 5 else ""
            headers = f"From: u{index % 97}@example.org\nSubject: {'Re: ' if parent else ''}topic {index // 5}\n"
            headers += f"Message-ID: <m{index}@example.org>\nDate: Mon, 30 Nov 2009 10:{index % 60:02d}:00 +0000\n"
            headers += f"In-Reply-To: {parent}\nReferences: {parent}\n" if parent else ""
            out.write(f"From u@example.org Mon Nov 30 10:00:00 2009\n{headers}\nbody {index}\n\n".encode())
    started = time.monotonic()
    assert counts(cli("archive", "import", "corpus", str(tmp_path / "big.mbox"))) == (5000, 5000, 0, 0, 0, 1000)
    assert time.monotonic() - started < 60  # ~2 s here; bench/threads.py measures it properly
    if database_url.startswith("postgresql"):  # the import keeps the planner's statistics fresh
        from sqlalchemy import text

        engine = db.open_engine(database_url)
        with engine.connect() as connection:
            ids = ", ".join(f"'m{i}@example.org'" for i in range(0, 5000, 500))  # a message's chain
            plan = "\n".join(
                row[0]
                for row in connection.execute(
                    text(f"EXPLAIN SELECT * FROM thread_containers WHERE list_id = 1 AND message_id IN ({ids})")
                )
            )
        engine.dispose()
        assert "message_id" in "".join(line for line in plan.splitlines() if "Index Cond" in line), plan


def test_an_import_sends_nothing_and_live_replies_join_imported_discussions(engine, sink, settings, make_list,
                                                                            tmp_path, monkeypatch):  # fmt: skip
    make_list("team", members=["alice@example.com", "bob@example.com"])
    (tmp_path / "old.mbox").write_bytes(
        b"From alice@example.com Mon Nov 30 10:00:00 2009\nFrom: alice@example.com\nSubject: Old topic\n"
        b"Message-ID: <old@example.com>\nDate: Mon, 30 Nov 2009 10:00:00 +0000\n\nfrom the archive\n")  # fmt: skip
    monkeypatch.setenv("LISTSERV_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LISTSERV_DOMAIN", settings.domain)
    result = invoke(["archive", "import", "team", str(tmp_path / "old.mbox")], engine.work.clock)
    assert result.exit_code == 0 and counts(result.output)[1] == 1, result.output
    reply = make_post(
        "bob@example.com",
        subject="Re: Old topic",
        msgid="<new@example.com>",
        extra="In-Reply-To: <old@example.com>\r\nReferences: <old@example.com>\r\n",
    )
    lmtp_send(engine.lmtp, "bob@example.com", ["team@lists.example.test"], reply)
    [(rcpt, data)] = sink.wait_for(1)  # the live reply is distributed; the imported post never was
    assert rcpt == "alice@example.com" and b"<new@example.com>" in data
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = json.loads(invoke(["thread", "ls", "team", "--json"], engine.work.clock).output)
        if sum(len(d["message_ids"]) for d in found) == 2:
            break
        time.sleep(0.1)
    assert [d["message_ids"] for d in found] == [["old@example.com", "new@example.com"]]
    time.sleep(0.5)
    assert len(sink.deliveries()) == 1
