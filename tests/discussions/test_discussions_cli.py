"""`listserv thread ls/show/merge/split`: the JSON shapes the issue specifies, the text tree, and
the moderator's repairs, on a small imported archive."""

from __future__ import annotations

import json

import pytest

SUMMARY_FIELDS = {"id", "key", "subject", "started_by", "post_count", "participants", "first_activity",
                  "last_activity"}  # fmt: skip
MESSAGE_FIELDS = {"message_id", "parent", "depth", "placeholder", "author", "date", "subject", "method"}


def message(mid: str, sender: str, subject: str, hour: int, parent: str = "", refs: str = "") -> bytes:
    headers = (
        f"From: {sender}\nSubject: {subject}\nMessage-ID: <{mid}>\nDate: Mon, 30 Nov 2009 {hour:02d}:00:00 +0000\n"
    )
    if parent:
        headers += f"In-Reply-To: <{parent}>\nReferences: {refs or f'<{parent}>'}\n"
    return f"From {sender} Mon Nov 30 {hour:02d}:00:00 2009\n{headers}\nbody\n\n".encode()


ARCHIVE = b"".join([
    message("a@x.org", "alice@x.org", "Retrospectives", 1),
    message("a1@x.org", "bob@x.org", "Re: Retrospectives", 2, "a@x.org"),
    message("a2@x.org", "carol@x.org", "Re: Retrospectives", 3, "a1@x.org", "<a@x.org> <a1@x.org>"),
    message("a3@x.org", "alice@x.org", "Re: Retrospectives", 4, "a@x.org"),
    message("b@x.org", "bob@x.org", "Facilitation", 5),
    message("b1@x.org", "alice@x.org", "Re: Facilitation", 6, "b@x.org"),
    message("c1@x.org", "dan@x.org", "Re: Lost", 7, "gone@x.org"),
    message("c2@x.org", "erin@x.org", "Re: Lost", 8, "gone@x.org"),
])  # fmt: skip


@pytest.fixture
def cli(cli, tmp_path):
    """The real `listserv` command, with the archive above imported into `team`."""
    cli("list", "create", "team", "--name", "Team")
    (tmp_path / "team.mbox").write_bytes(ARCHIVE)
    cli("archive", "import", "team", str(tmp_path / "team.mbox"))
    return cli


def listed(cli) -> list[dict]:
    return json.loads(cli("thread", "ls", "team", "--json"))


def by_key(cli) -> dict[str, dict]:
    return {d["key"]: d for d in listed(cli)}


def shown(cli, ref: str) -> dict:
    return json.loads(cli("thread", "show", "team", ref, "--json"))


def test_thread_ls_json_lists_discussions_newest_first_with_ids_in_thread_order(cli):
    found = listed(cli)
    assert [set(d) for d in found] == [SUMMARY_FIELDS | {"message_ids"}] * 3
    assert [d["key"] for d in found] == ["gone@x.org", "b@x.org", "a@x.org"]  # by last activity
    a = found[2]
    assert a["message_ids"] == ["a@x.org", "a1@x.org", "a2@x.org", "a3@x.org"]
    assert (a["subject"], a["started_by"], a["post_count"], a["participants"]) == (
        "Retrospectives",
        "alice@x.org",
        4,
        3,
    )
    assert (a["first_activity"], a["last_activity"]) == ("2009-11-30T01:00:00Z", "2009-11-30T04:00:00Z")
    assert isinstance(a["id"], int)
    lost = found[0]
    assert lost["message_ids"] == ["c1@x.org", "c2@x.org"] and lost["started_by"] == "dan@x.org"


def test_thread_ls_text_has_a_line_per_discussion(cli):
    lines = cli("thread", "ls", "team").splitlines()
    assert len(lines) == 3
    assert lines[2].split("\t")[1:] == ["4 posts", "3 people", "2009-11-30 01:00 UTC .. 2009-11-30 04:00 UTC",
                                        "alice@x.org", "Retrospectives"]  # fmt: skip


def test_thread_show_json_gives_the_tree_with_parent_links(cli):
    a = shown(cli, "a2@x.org")  # any Message-ID of the discussion, with or without <>
    assert set(a) == SUMMARY_FIELDS | {"messages"} and shown(cli, "<a2@x.org>") == a == shown(cli, str(a["id"]))
    assert [set(m) for m in a["messages"]] == [MESSAGE_FIELDS] * 4
    assert [(m["message_id"], m["parent"], m["depth"]) for m in a["messages"]] == [
        ("a@x.org", None, 0),
        ("a1@x.org", "a@x.org", 1),
        ("a2@x.org", "a1@x.org", 2),
        ("a3@x.org", "a@x.org", 1),
    ]
    first = a["messages"][0]
    assert (first["author"], first["date"], first["subject"], first["method"], first["placeholder"]) == (
        "alice@x.org",
        "2009-11-30T01:00:00Z",
        "Retrospectives",
        "root",
        False,
    )
    assert a["messages"][1]["method"] == "reference"
    lost = shown(cli, "gone@x.org")  # a placeholder's id finds its discussion too
    assert [(m["message_id"], m["parent"], m["placeholder"], m["author"], m["method"]) for m in lost["messages"]] \
        == [("gone@x.org", None, True, None, None), ("c1@x.org", "gone@x.org", False, "dan@x.org", "placeholder"),
            ("c2@x.org", "gone@x.org", False, "erin@x.org", "placeholder")]  # fmt: skip


def test_thread_show_prints_an_indented_tree_with_authors_and_dates(cli):
    text = cli("thread", "show", "team", "a@x.org").splitlines()
    assert text[0].endswith(" Retrospectives") and text[1].startswith("4 posts, 3 people")
    assert text[2:] == [
        "alice@x.org, 2009-11-30 01:00 UTC: Retrospectives  <a@x.org>",
        "  bob@x.org, 2009-11-30 02:00 UTC: Re: Retrospectives  <a1@x.org>",
        "    carol@x.org, 2009-11-30 03:00 UTC: Re: Retrospectives  <a2@x.org>",
        "  alice@x.org, 2009-11-30 04:00 UTC: Re: Retrospectives  <a3@x.org>",
    ]
    assert "(not received) <gone@x.org>" in cli("thread", "show", "team", "c1@x.org")
    assert "no discussion" in cli("thread", "show", "team", "nope@x.org", code=1)
    assert "no discussion" in cli("thread", "show", "team", "99999", code=1)


def test_merge_moves_a_discussion_under_anothers_first_post(cli):
    keys = by_key(cli)
    output = cli("thread", "merge", "team", str(keys["b@x.org"]["id"]), "a1@x.org")
    assert "moved 2 posts into" in output
    after = by_key(cli)
    assert set(after) == {"a@x.org", "gone@x.org"}
    merged = after["a@x.org"]
    assert (
        merged["post_count"] == 6
        and merged["participants"] == 3
        and merged["last_activity"].startswith("2009-11-30T06")
    )
    tree = {m["message_id"]: m for m in shown(cli, "a@x.org")["messages"]}
    assert tree["b@x.org"]["parent"] == "a@x.org" and tree["b@x.org"]["method"] == "moderator"
    assert tree["b1@x.org"]["parent"] == "b@x.org" and tree["b1@x.org"]["method"] == "reference"
    assert "one discussion already" in cli("thread", "merge", "team", "a@x.org", "b1@x.org", code=1)
    # a placeholder-topped discussion merges too: its placeholder is pruned from the tree
    cli("thread", "merge", "team", "c2@x.org", "a@x.org")
    tree = {m["message_id"]: m for m in shown(cli, "a@x.org")["messages"]}
    assert tree["c1@x.org"]["parent"] == "a@x.org" and "gone@x.org" not in tree and len(tree) == 8


def test_split_makes_a_post_and_its_replies_a_discussion_of_their_own(cli, tmp_path):
    output = cli("thread", "split", "team", "<a1@x.org>")
    assert "(2 posts): Re: Retrospectives" in output and "keeps 2 posts: Retrospectives" in output
    after = by_key(cli)
    assert after["a1@x.org"]["message_ids"] == ["a1@x.org", "a2@x.org"]
    assert after["a1@x.org"]["started_by"] == "bob@x.org" and after["a1@x.org"]["post_count"] == 2
    assert after["a@x.org"]["message_ids"] == ["a@x.org", "a3@x.org"] and after["a@x.org"]["post_count"] == 2
    split_off = shown(cli, "a1@x.org")["messages"]
    assert (split_off[0]["parent"], split_off[0]["method"]) == (None, "moderator")
    # a later reply to the split-off part goes where the moderator put it
    (tmp_path / "late.mbox").write_bytes(message("a4@x.org", "dan@x.org", "Re: Retrospectives", 9, "a2@x.org",
                                                 "<a@x.org> <a1@x.org> <a2@x.org>"))  # fmt: skip
    cli("archive", "import", "team", str(tmp_path / "late.mbox"))
    assert by_key(cli)["a1@x.org"]["message_ids"] == ["a1@x.org", "a2@x.org", "a4@x.org"]
    assert "whole discussion already" in cli("thread", "split", "team", "a1@x.org", code=1)
    assert "no post <gone@x.org>" in cli("thread", "split", "team", "gone@x.org", code=1)
    assert "no post <nope@x.org>" in cli("thread", "split", "team", "nope@x.org", code=1)


def test_splitting_off_the_post_a_discussion_is_keyed_by_renames_the_rest(cli, tmp_path):
    # r replies to the missing p, so the discussion is keyed p; p arrives replying to the missing
    # x, and w replies to x too: x holds p's subtree and w together
    (tmp_path / "late.mbox").write_bytes(b"".join([
        message("r@y.org", "bob@x.org", "Re: Key", 1, "p@y.org"),
        message("p@y.org", "alice@x.org", "Key", 2, "x@y.org"),
        message("w@y.org", "carol@x.org", "Re: Key", 3, "x@y.org"),
    ]))  # fmt: skip
    cli("archive", "import", "team", str(tmp_path / "late.mbox"))
    before = by_key(cli)["p@y.org"]
    assert set(before["message_ids"]) == {"p@y.org", "r@y.org", "w@y.org"}
    cli("thread", "split", "team", "p@y.org")
    after = by_key(cli)
    assert after["p@y.org"]["message_ids"] == ["p@y.org", "r@y.org"] and after["p@y.org"]["id"] != before["id"]
    assert after["w@y.org"]["id"] == before["id"] and after["w@y.org"]["message_ids"] == ["w@y.org"]


def test_repair_threads_posts_that_were_left_unthreaded(cli, database_url):
    from sqlalchemy import delete

    from listserv.discussions.tables import Discussion, ThreadContainer
    from listserv.store import db

    before = listed(cli)
    engine = db.open_engine(database_url)
    with db.sessions(engine)() as session, session.begin():  # as if threading had failed for every post
        session.execute(delete(ThreadContainer))
        session.execute(delete(Discussion))
    engine.dispose()
    assert listed(cli) == []
    assert cli("thread", "repair", "team") == "threaded 8 posts\n"
    after = listed(cli)
    strip = [{k: v for k, v in d.items() if k != "id"} for d in before]
    assert [{k: v for k, v in d.items() if k != "id"} for d in after] == strip
    assert cli("thread", "repair", "team") == "threaded 0 posts\n"


MH_REPLY = (
    b"From dan@x.org Mon Nov 30 09:00:00 2009\nFrom: Dan <dan@x.org>\nSubject: Re: Facilitation\n"
    b"Message-ID: <9.1259571600@x.org>\nDate: Mon, 30 Nov 2009 09:00:00 +0000\n"
    b'In-Reply-To: Message from Bob <bob@x.org>\n   of "Mon, 30 Nov 2009 05:00:00 +0000." <b@x.org>\n\nbody\n\n'
)


def _misthread(database_url: str, message_id: str, ghost: str) -> None:
    """Put one post where the old rules put it: alone under a placeholder for ``ghost``."""
    from datetime import datetime

    from sqlalchemy import select, update

    from listserv.discussions.tables import Discussion, ThreadContainer
    from listserv.store import db

    engine = db.open_engine(database_url)
    with db.sessions(engine)() as session, session.begin():
        box = session.scalars(select(ThreadContainer).where(ThreadContainer.message_id == message_id)).one()
        made = Discussion(list_id=box.list_id, key=ghost, subject="Re: Facilitation", post_count=1,
                          created_at=datetime(2009, 11, 30))  # fmt: skip
        session.add(made)
        session.flush()
        session.execute(update(ThreadContainer).where(ThreadContainer.id == box.id)
                        .values(discussion_id=made.id, parent_id=ghost, method="placeholder"))  # fmt: skip
        session.add(ThreadContainer(list_id=box.list_id, discussion_id=made.id, message_id=ghost, placeholder=True))
    engine.dispose()


def test_rethread_fixes_old_links_and_keeps_numbers_where_posts_are_unchanged(cli, tmp_path, database_url):
    (tmp_path / "mh.mbox").write_bytes(MH_REPLY)
    cli("archive", "import", "team", str(tmp_path / "mh.mbox"))
    assert set(by_key(cli)["b@x.org"]["message_ids"]) == {"b@x.org", "b1@x.org", "9.1259571600@x.org"}
    _misthread(database_url, "9.1259571600@x.org", "bob@x.org")
    before = by_key(cli)
    assert before["bob@x.org"]["message_ids"] == ["9.1259571600@x.org"]  # the ghost of the old rules
    assert cli("thread", "repair", "team", "--rethread") == (
        "re-threaded 9 posts: 2 discussions unchanged (same numbers), 1 new, 2 replaced, 0 moderated and kept\n"
    )
    after = by_key(cli)
    assert "bob@x.org" not in after
    assert set(after["b@x.org"]["message_ids"]) == {"b@x.org", "b1@x.org", "9.1259571600@x.org"}
    assert after["a@x.org"]["id"] == before["a@x.org"]["id"]  # unchanged posts, same number
    assert after["gone@x.org"]["id"] == before["gone@x.org"]["id"]
    assert after["b@x.org"]["id"] != before["b@x.org"]["id"]
    again = cli("thread", "repair", "team", "--rethread")
    assert again.startswith("re-threaded 9 posts: 3 discussions unchanged (same numbers), 0 new, 0 replaced")
    assert by_key(cli) == after


def test_rethread_keeps_what_a_moderator_split(cli):
    cli("thread", "split", "team", "a1@x.org")
    before = by_key(cli)
    out = cli("thread", "repair", "team", "--rethread")
    assert out.endswith("1 moderated and kept\n")
    assert by_key(cli) == before
