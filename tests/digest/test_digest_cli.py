"""`listserv digest` run, preview and ls from the command line (no server running)."""

from __future__ import annotations

import json

from support.mail import make_post


def test_preview_then_run_now_then_nothing_more(cli, tmp_path):
    cli("list", "create", "team", "--name", "Team", "--facilitator", "fac@example.org")
    cli("member", "add", "team", "alice@example.com", "--name", "Alice")
    cli("member", "add", "team", "bob@example.com", "--delivery", "summary")
    cli("member", "add", "team", "carol@example.com", "--delivery", "plain-digest")
    cli(
        "inject",
        "team",
        "--now",
        input=make_post("alice@example.com", subject="How do you run retros?", msgid="<cli@example.com>"),
    )
    preview = cli("digest", "preview", "team")
    assert "NEW DISCUSSIONS" in preview and "How do you run retros?" in preview
    assert "<h1" in cli("digest", "preview", "team", "--html")
    cli("digest", "preview", "team", "--mode", "mime-digest", "-o", str(tmp_path / "d.eml"))
    assert b"multipart/digest" in (tmp_path / "d.eml").read_bytes()
    assert "\tsent\tvol 1 no 1\tposts=1\trecipients=2" in cli("digest", "run", "--list", "team", "--now", "--deliver")
    assert "\twaiting\t" in cli("digest", "run")
    issues = json.loads(cli("digest", "ls", "team", "--json"))
    assert [(i["status"], i["volume"], i["number"], i["recipients"]) for i in issues] == [("sent", 1, 1, 2)]
    outbox = [p.read_bytes() for p in (tmp_path / "outbox" / "new").iterdir()]
    assert sum(b"Team summary, Vol 1, Issue 1" in m for m in outbox) == 1
    assert sum(b"Team Digest, Vol 1, Issue 1" in m for m in outbox) == 1
    assert "unknown time zone" in cli("list", "set", "team", "timezone", "Mars/Base", code=1)
    cli("list", "set", "team", "timezone", "Europe/Paris")
