"""The `listserv` command as operators and scripts use it."""

from __future__ import annotations

import json
import subprocess
import sys

from support.cli import invoke
from support.mail import make_post


def test_init_is_idempotent_and_serve_refuses_an_unmigrated_database(cli, tmp_path, monkeypatch):
    assert "database ready" in cli("init")
    monkeypatch.setenv("LISTSERV_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    assert "needs migrating: run `listserv init`" in cli("serve", code=1)


def test_lists_are_created_listed_shown_and_changed(cli):
    cli(
        "list", "create", "team", "--name", "Team", "--description", "Practitioners", "--facilitator", "Fac@Example.COM"
    )
    [row] = json.loads(cli("list", "ls", "--json"))
    assert row["address"] == "team@lists.example.test" and row["members"] == 1
    cli("list", "set", "team", "reply_to", "list")
    cli("list", "set", "team@lists.example.test", "subject_prefix", "[cop]")
    shown = json.loads(cli("list", "show", "team", "--json"))
    assert shown["reply_to"] == "list" and shown["subject_prefix"] == "[cop]"
    assert "must be one of" in cli("list", "set", "team", "reply_to", "sometimes", code=1)
    assert "unknown setting" in cli("list", "set", "team", "colour", "blue", code=1)
    assert "exists already" in cli("list", "create", "team", "--name", "Again", code=1)
    [facilitator] = json.loads(cli("member", "ls", "team", "--json"))
    assert (facilitator["email"], facilitator["role"]) == ("fac@example.com", "facilitator")


def test_members_are_added_removed_listed_and_imported_with_bad_rows_reported(cli, tmp_path):
    cli("list", "create", "team", "--name", "Team")
    cli("member", "add", "team", "alice@example.com", "--name", "Alice")
    assert "not an address" in cli("member", "add", "team", "alice", code=1)
    rows = "email,name\nbob@example.com,Bob\nnot-an-address,X\nALICE@example.com,Alice\ncarol@ex..com,C\n\n"
    rows += "".join(f"m{i}@example.org\n" for i in range(500))
    (tmp_path / "members.csv").write_text(rows)
    result = invoke(["member", "import", "team", str(tmp_path / "members.csv")])
    assert result.exit_code == 0, result.output
    assert "imported 501 new members (1 already members, 2 bad rows)" in result.output
    assert "line 3: not-an-address" in result.output and "line 5: carol@ex..com" in result.output
    emails = [m["email"] for m in json.loads(cli("member", "ls", "team", "--json"))]
    assert len(emails) == 502 and emails[:2] == ["alice@example.com", "bob@example.com"]
    cli("member", "rm", "team", "m0@example.org")
    assert "is not a member" in cli("member", "rm", "team", "m0@example.org", code=1)
    cli("member", "set", "team", "alice@example.com", "receive_own_posts", "yes")
    alice = json.loads(cli("member", "ls", "team", "--json"))[0]
    assert alice["receive_own_posts"] is True


def test_inject_exits_with_codes_an_mta_understands(cli, tmp_path):
    cli("list", "create", "team", "--name", "Team")
    cli("member", "add", "team", "alice@example.com")
    cli("member", "add", "team", "bob@example.com")
    cli("inject", "team", "--now", input=make_post(to="team@lists.example.test"))
    delivered = list((tmp_path / "outbox" / "new").iterdir())
    assert len(delivered) == 1 and b"Delivered-To: bob@example.com" in delivered[0].read_bytes()
    cli("inject", "nosuchlist", input=make_post(), code=67)
    huge = make_post(extra="X-Junk: " + "j" * 300_000 + "\r\n")
    cli("inject", "team", input=huge, code=65)
    status = dict(line.split("\t") for line in cli("status").splitlines())
    assert status["inbound-done"] == "1" and status["delivery-sent"] == "1"


def test_inject_answers_tempfail_when_the_database_is_unreachable(tmp_path):
    env = {"LISTSERV_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "listserv", "inject", "team@lists.example.test"],
        input=make_post(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 75, result.stderr
    assert b"temporary failure" in result.stderr


def test_bad_configuration_fails_at_start_with_a_clear_message(tmp_path, monkeypatch):
    config = tmp_path / "listserv.toml"
    config.write_text('database_url = "sqlite:///x.db"\ncolour = "blue"\n')
    result = invoke(["--config", str(config), "init"])
    assert result.exit_code == 1 and "unknown key(s) in" in result.output and "colour" in result.output
    monkeypatch.setenv("LISTSERV_LMTP_LISTEN", "localhost")
    result = invoke(["list", "ls"])
    assert result.exit_code == 1 and "expected host:port" in result.output
