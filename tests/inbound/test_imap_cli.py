"""`listserv imap test`, `listserv imap poll`, the IMAP settings of `list set` and the mailbox lines
of `listserv status`, against a real Dovecot on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from support.dovecot import Dovecot
from support.imap import imap_settings, password_file
from support.mail import make_post
from support.postfix import free_port


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def team(cli, dovecot, tmp_path) -> str:
    cli("list", "create", "team", "--name", "Team")
    for member in ("alice@example.com", "bob@example.com"):
        cli("member", "add", "team", member)
    for key, value in imap_settings(dovecot, tmp_path).items():
        cli("list", "set", "team", key, value)
    return "team"


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_imap_test_reports_what_the_mailbox_holds_and_changes_nothing(cli, team, dovecot):
    dovecot.deliver(make_post(msgid="<a@example.com>"))
    dovecot.deliver(make_post(msgid="<b@example.com>"))
    out = cli("imap", "test", team)
    assert f"logged in as list at 127.0.0.1:{dovecot.port} (starttls TLS)" in out
    assert "server: IDLE yes, MOVE yes, UIDPLUS yes" in out
    assert "folder INBOX: 2 messages" in out and "2 waiting to be taken" in out
    assert "folder listserv-failed: missing (made on the first poll)" in out
    assert dovecot.flags() == ["\\Recent", "\\Recent"] or dovecot.flags() == ["", ""]  # not \Seen


def test_imap_poll_takes_the_mail_delivers_it_with_now_and_status_shows_the_mailbox(cli, team, dovecot, tmp_path):
    dovecot.deliver(make_post(msgid="<a@example.com>"))
    dovecot.deliver(make_post(msgid="<b@example.com>", subject="Two"))
    key = f"list@127.0.0.1:{dovecot.port}/INBOX"
    assert cli("imap", "poll", "--now").strip() == f"{key}\ttaken 2\tfailed 0\tleft 0"
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 2  # one post each, to bob
    assert dovecot.flags() == ["\\Seen", "\\Seen"] and dovecot.count(folder="listserv-failed") == 0
    assert f"imap\t{key}\tnot connected\tlast UID 2\tbacklog 0" in cli("status").splitlines()
    rows, _ = json.JSONDecoder().raw_decode(cli("status", "--json"))  # then warnings, on stderr
    [row] = [r for r in rows if "mailbox" in r]
    assert (row["lists"], row["last_uid"], row["taken"], row["connected"]) == (["team@lists.example.test"], 2, 2, False)
    assert cli("imap", "poll", team).strip() == f"{key}\ttaken 0\tfailed 0\tleft 0"


def test_a_wrong_password_is_one_line_and_the_mailbox_last_error(cli, team, tmp_path):
    cli("list", "set", team, "imap_password_file", password_file(tmp_path, "wrong"))
    line = one_line(cli("imap", "test", team, code=1))
    assert line.startswith("Error: IMAP login as list at 127.0.0.1 failed (") and "app password" in line
    said = cli("imap", "poll", code=1)
    assert "listserv imap poll: list@127.0.0.1:" in said and "login as list" in said
    assert "last error" in cli("status") and "login as list" in cli("status")


@pytest.mark.parametrize(
    ("host", "said"),
    [("127.0.0.1", "refused the connection: check imap_host and imap_port"),
     ("no-such-host.invalid", "cannot find IMAP server no-such-host.invalid")],
)  # fmt: skip
def test_a_wrong_host_or_port_is_one_line(cli, team, host, said):
    cli("list", "set", team, "imap_host", host)
    cli("list", "set", team, "imap_port", str(free_port()))
    assert said in one_line(cli("imap", "test", team, code=1))


def test_an_untrusted_certificate_is_one_line(cli, team, dovecot):
    cli("list", "set", team, "imap_ca_file", "")  # the system's CAs do not know the test CA
    assert "is not trusted" in one_line(cli("imap", "test", team, code=1))


def test_implicit_tls_works_too(cli, team, dovecot):
    cli("list", "set", team, "imap_tls", "implicit")
    cli("list", "set", team, "imap_port", str(dovecot.imaps_port))
    assert "(implicit TLS)" in cli("imap", "test", team)


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("imap_tls", "ssl", "imap_tls must be one of: implicit, starttls, none"),
     ("imap_port", "70000", "a port is 65535 or less"),
     ("imap_host", "imap example org", "imap_host:"),
     ("imap_password_env", "MY-PASSWORD", "not an environment variable name"),
     ("imap_password_file", "relative.txt", "give the absolute path"),
     ("imap_password_file", "/nonexistent/pw", "cannot read /nonexistent/pw"),
     ("imap_folder", "", "a folder name is needed"),
     ("imap_failed_folder", "", "a folder name is needed")],
)  # fmt: skip
def test_imap_settings_are_checked_when_set(cli, key, value, said):
    cli("list", "create", "team", "--name", "Team")
    assert said in one_line(cli("list", "set", "team", key, value, code=1))


def test_a_password_file_others_can_read_is_refused(cli, tmp_path):
    cli("list", "create", "team", "--name", "Team")
    path = password_file(tmp_path)
    (tmp_path / "imap.password").chmod(0o644)
    assert "chmod 600" in one_line(cli("list", "set", "team", "imap_password_file", path, code=1))


def test_a_password_from_the_environment(cli, team, monkeypatch):
    cli("list", "set", team, "imap_password_file", "")
    cli("list", "set", team, "imap_password_env", "TEAM_IMAP_PASSWORD")
    assert "TEAM_IMAP_PASSWORD" in one_line(cli("imap", "test", team, code=1))  # not set: says which
    monkeypatch.setenv("TEAM_IMAP_PASSWORD", "secret")
    assert "logged in as list" in cli("imap", "test", team)


def test_a_list_without_imap_says_how_to_set_it(cli):
    cli("list", "create", "team", "--name", "Team")
    assert "takes no mail by IMAP" in one_line(cli("imap", "test", "team", code=1))
    assert "no list takes mail by IMAP" in one_line(cli("imap", "poll", code=1))
