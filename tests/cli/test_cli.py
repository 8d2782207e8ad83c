"""The `listserv` command as operators and scripts use it."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import click
import pytest

from listserv import __version__
from listserv.cli.main import COMMANDS, main
from support.cli import invoke
from support.mail import lmtp_send, make_post
from support.process import ServeProcess

ROOT = Path(__file__).resolve().parent.parent.parent
TEXT_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
JSON_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def listserv(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: bytes = b""
) -> subprocess.CompletedProcess:
    """The real command in a fresh interpreter (what an operator's shell runs), on this checkout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERV_")}
    clean.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "listserv", *args], cwd=cwd, env=clean, input=input,
                          capture_output=True, timeout=120)  # fmt: skip


def test_init_is_idempotent_and_serve_refuses_a_database_without_tables(cli, tmp_path, monkeypatch):
    assert "database ready" in cli("init")
    (tmp_path / "empty.db").touch()  # an empty SQLite database
    monkeypatch.setenv("LISTSERV_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    assert "has no listserv tables: run `listserv init` first" in cli("serve", code=1)


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


def test_times_read_the_same_in_every_command(cli, clock):
    """Text: '2026-03-18 10:00 UTC'; JSON: ISO 8601 in UTC with a Z (cli_context.text_time, json_time)."""
    cli("list", "create", "team", "--name", "Team")
    cli("member", "add", "team", "alice@example.com")
    created = dict(line.split(": ", 1) for line in cli("list", "show", "team").splitlines())["created_at"]
    moment = datetime.strptime(created, "%Y-%m-%d %H:%M UTC")
    assert TEXT_TIME.match(created) and clock.start.replace(second=0, microsecond=0) <= moment <= clock()
    assert JSON_TIME.match(json.loads(cli("list", "show", "team", "--json"))["created_at"])
    assert JSON_TIME.match(json.loads(cli("member", "ls", "team", "--json"))[0]["created_at"])
    cli("inject", "team", "--now", input=make_post(sender="outsider@example.org"))  # held: not a member
    [held] = json.loads(cli("held", "ls", "team", "--json"))
    assert JSON_TIME.match(held["held_at"]) and JSON_TIME.match(held["expires_at"])
    assert TEXT_TIME.match(cli("held", "ls", "team").splitlines()[0].split("\t")[2])


def test_members_are_added_removed_listed_and_imported_with_bad_rows_reported(cli, tmp_path):
    cli("list", "create", "team", "--name", "Team")
    cli("member", "add", "team", "alice@example.com", "--name", "Alice")
    assert "not an address" in cli("member", "add", "team", "alice", code=1)
    rows = "email,name\nbob@example.com,Bob\nnot-an-address,X\nALICE@example.com,Alice\ncarol@ex..com,C\n\n"
    rows += "".join(f"m{i}@example.org\n" for i in range(500))
    (tmp_path / "members.csv").write_text(rows)
    result = invoke(["member", "import", "team", str(tmp_path / "members.csv")])
    assert result.exit_code == 0, result.output
    assert "imported 501 new members (1 already a member, 2 bad rows)" in result.output
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
    assert cli("inject", "team", "--now", input=make_post(to="team@lists.example.test")) == ""
    delivered = list((tmp_path / "outbox" / "new").iterdir())
    assert len(delivered) == 1 and b"Delivered-To: bob@example.com" in delivered[0].read_bytes()
    assert cli("inject", "team", "--now", input=make_post(to="team@lists.example.test")) == ""  # had it: 0
    assert "no such list nosuchlist@lists.example.test" in cli("inject", "nosuchlist", input=make_post(), code=67)
    assert "elsewhere.example is not one of our domains" in cli(
        "inject", "team@elsewhere.example", input=make_post(), code=68
    )
    huge = make_post(extra="X-Junk: " + "j" * 300_000 + "\r\n")
    assert "refused: 552 5.3.4" in cli("inject", "team", input=huge, code=65)
    status = dict(line.split("\t") for line in cli("status").splitlines())
    assert status["inbound-done"] == "1" and status["delivery-sent"] == "1"
    cli("list", "close", "team")
    said = cli("inject", "team", input=make_post(msgid="<closed@example.com>"), code=77)
    assert said.startswith("listserv inject: refused: 550 5.7.1 This list is closed")


def test_inject_now_answers_tempfail_while_processing_fails(cli, tmp_path, monkeypatch):
    """A message that is stored but cannot be processed (here: a broken footer template) is not
    lost: 75 tells the MTA to try again; injected again after the fix, it is processed and 0."""
    cli("list", "create", "team", "--name", "Team")
    cli("member", "add", "team", "alice@example.com")
    cli("member", "add", "team", "bob@example.com")
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "footer.txt.j2").write_text('{% include "no-such-template.j2" %}\n')
    monkeypatch.setenv("LISTSERV_TEMPLATES_DIR", str(broken))
    said = cli("inject", "team", "--now", input=make_post(msgid="<retry@example.com>"), code=75)
    assert "stored but its processing failed: jinja2.exceptions.TemplateNotFound: 'no-such-template.j2'" in said
    assert said.strip().endswith("it waits for a retry") and len(said.strip().splitlines()) == 1
    monkeypatch.setenv("LISTSERV_MAX_TRIES", "1")
    post = make_post(msgid="<quarantine@example.com>")
    said = cli("inject", "team", "--now", input=post, code=75)
    assert "stored but quarantined: jinja2.exceptions.TemplateNotFound" in said and "quarantine retry" in said
    [quarantined] = json.loads(cli("quarantine", "ls", "--json"))
    assert quarantined["message_id"] == "<quarantine@example.com>" and JSON_TIME.match(quarantined["received_at"])
    monkeypatch.delenv("LISTSERV_TEMPLATES_DIR")
    cli("quarantine", "retry", str(quarantined["id"]))
    assert cli("inject", "team", "--now", input=post) == ""  # the MTA's retry: recognised, now processed
    [delivered] = (tmp_path / "outbox" / "new").iterdir()  # to bob; the first waits for its retry
    assert b"Delivered-To: bob@example.com" in delivered.read_bytes()


def test_inject_answers_tempfail_when_the_database_is_unreachable(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = listserv("inject", "team@lists.example.test", cwd=tmp_path, env={"LISTSERV_DATABASE_URL": url},
                      input=make_post())  # fmt: skip
    assert result.returncode == 75, result.stderr
    [line] = result.stderr.decode().splitlines()
    assert line.startswith("listserv inject: temporary failure: cannot reach the database postgresql+psycopg://")


def test_bad_configuration_fails_at_start_with_a_clear_message(tmp_path, monkeypatch):
    config = tmp_path / "listserv.toml"
    config.write_text('database_url = "sqlite:///x.db"\ncolour = "blue"\n')
    result = invoke(["--config", str(config), "init"])
    assert result.exit_code == 1 and "unknown key(s) in" in result.output and "colour" in result.output
    monkeypatch.setenv("LISTSERV_LMTP_LISTEN", "localhost")
    result = invoke(["list", "ls"])
    assert result.exit_code == 1 and "expected host:port" in result.output


def test_commands_print_no_library_chatter(tmp_path):
    """alembic and aiosmtpd log INFO lines; an operator's commands print only their own output."""
    env = {"LISTSERV_DOMAIN": "lists.example.test", "LISTSERV_LOG_LEVEL": "INFO"}
    for args in (["init"], ["init"], ["list", "create", "team", "--name", "Team"], ["list", "ls"], ["status"]):
        result = listserv(*args, cwd=tmp_path, env=env)
        assert (result.returncode, result.stderr) == (0, b""), (args, result.stderr)


def test_serve_logs_no_aiosmtpd_chatter(settings, tmp_path):
    """`listserv serve` logs its own INFO lines, and none of aiosmtpd's per-connection ones."""
    served = ServeProcess(settings, tmp_path / "serve.log").start()
    try:
        replies = lmtp_send(served.lmtp, "alice@example.com", ["nobody@lists.example.test"], make_post())
    finally:
        served.stop()
    assert replies["nobody@lists.example.test"].startswith("550")
    log = (tmp_path / "serve.log").read_text()
    assert "INFO listserv.service: listening LMTP" in log
    assert "mail.log" not in log and "mail.debug" not in log and "alembic" not in log, log


def test_help_and_version_import_no_command_module(tmp_path):
    """`listserv --help` lists every command from the summaries in cli/main.py, without importing
    them (and so SQLAlchemy, aiosmtpd, jinja2): its output is the same as with every command loaded."""
    probe = (
        "import sys; from click.testing import CliRunner; from listserv.cli.main import main\n"
        "lazy = CliRunner().invoke(main, ['--help']).output\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'aiosmtpd', 'jinja2', 'alembic', 'asyncio') if m in sys.modules)\n"
        "[main.commands[name] for name in main.commands]\n"
        "print(heavy, lazy == CliRunner().invoke(main, ['--help']).output)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    assert result.stdout.strip() == "[] True", result.stderr
    version = listserv("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.decode()) == (0, f"listserv, version {__version__}\n")


def test_every_lazy_command_is_what_its_summary_says():
    for name, lazy in COMMANDS.items():
        command = main.commands[name]
        assert isinstance(command, click.Command) and command.name == name
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert lazy.summary == " ".join(first.split()), f"update the summary of {name} in cli/main.py"
    assert set(main.list_commands(click.Context(main))) == set(COMMANDS) | {"init", "serve"}


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_need_no_configuration(tmp_path, args):
    result = listserv(*args, cwd=tmp_path, env={"LISTSERV_LMTP_LISTEN": "not a host:port"})
    assert result.returncode == 0 and result.stderr == b""
