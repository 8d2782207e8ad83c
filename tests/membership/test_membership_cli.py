"""`listserv member ...` for operators: add, import, export, set, invite, show."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from support.cli import invoke
from support.conversation import Mailbox, body_of, reply_to, settle, sql

DOMAIN = "lists.example.test"


@pytest.fixture
def cli(settings, monkeypatch, clock):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LISTSERV_DOMAIN", DOMAIN)
    monkeypatch.setenv("LISTSERV_SECRET_FILE", settings.secret_file)

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = invoke(args, clock, input=input)
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return run


def test_init_creates_the_secret_file_once_and_private(cli, monkeypatch, tmp_path):
    secret = tmp_path / "new" / "listserv.secret"
    monkeypatch.setenv("LISTSERV_SECRET_FILE", str(secret))
    assert not os.path.exists(secret)
    assert "secret created" in cli("init")
    assert os.stat(secret).st_mode & 0o777 == 0o600
    before = Path(secret).read_text()
    assert "secret created" not in cli("init") and Path(secret).read_text() == before


def test_operators_add_members_with_a_delivery_mode_and_a_welcome_if_asked(cli, engine, sink, settings, make_list):
    make_list("team", membership_days="90")
    cli("member", "add", "team", "carol@example.org", "--name", "Carol", "--delivery", "summary", "--send-welcome")
    cli("member", "add", "team", "dave@example.org")
    box = Mailbox(sink)
    assert "Hello Carol" in body_of(box.expect("carol@example.org", "Welcome to Team"))
    settle(settings)
    assert box.unread() == []  # no welcome unless asked
    rows = sql(settings, "SELECT email, delivery, expires_at IS NOT NULL FROM members ORDER BY email")
    assert [(e, d, bool(x)) for e, d, x in rows] == [("carol@example.org", "summary", True),
                                                     ("dave@example.org", "each", True)]  # fmt: skip
    cli("member", "add", "team", "carol@example.org", "--name", "Carol C.")  # a change, not a new member
    assert sql(settings, "SELECT count(*) FROM member_steps WHERE step = 'onboard:0:welcome'") == [(1,)]


def test_member_set_changes_delivery_expiry_and_vacation(cli, make_list, settings):
    make_list("team", members=["carol@example.org"])
    assert "delivery = plain-digest" in cli("member", "set", "team", "carol@example.org", "--delivery", "plain-digest")
    cli("member", "set", "team", "carol@example.org", "expires", "2031-05-01")
    cli("member", "set", "team", "carol@example.org", "vacation_until", "2030-01-02")
    assert "delivery must be one of" in cli("member", "set", "team", "carol@example.org", "delivery", "x", code=1)
    assert "YYYY-MM-DD" in cli("member", "set", "team", "carol@example.org", "expires", "soon", code=1)
    cli("member", "set", "team", "carol@example.org", "receive_own_posts", "yes")  # the core keys still work
    [(delivery, expires, vacation, own)] = sql(settings, "SELECT delivery, expires_at, vacation_until, "
                                                         "receive_own_posts FROM members")  # fmt: skip
    assert delivery == "plain-digest" and str(expires).startswith("2031-05-01") and str(vacation).startswith("2030")
    assert own
    cli("member", "set", "team", "carol@example.org", "expires", "never")
    assert sql(settings, "SELECT expires_at FROM members") == [(None,)]


def test_import_adds_silently_or_welcomes_or_asks_each_address_to_confirm(cli, engine, sink, settings, make_list,
                                                                          tmp_path):  # fmt: skip
    make_list("team")
    (tmp_path / "quiet.csv").write_text("email,name\na1@example.org,A One\na2@example.org,A Two\n")
    (tmp_path / "welcome.csv").write_text("b1@example.org,B One\n")
    (tmp_path / "confirm.csv").write_text("c1@example.org\nc2@example.org\na1@example.org\nnot-an-address\n")
    assert "imported 2 new members" in cli("member", "import", "team", str(tmp_path / "quiet.csv"))
    assert "imported 1 new member (" in cli("member", "import", "team", str(tmp_path / "welcome.csv"), "--send-welcome")
    output = cli("member", "import", "team", str(tmp_path / "confirm.csv"), "--confirm")
    assert "sent 2 confirmations" in output and "1 bad row)" in output
    box = Mailbox(sink)
    box.expect("b1@example.org", "Welcome to Team")
    confirmation = box.expect("c1@example.org", "confirm ")
    box.expect("c2@example.org", "confirm ")
    settle(settings)
    assert box.unread() == []
    assert [r[0] for r in sql(settings, "SELECT email FROM members ORDER BY email")] == [
        "a1@example.org", "a2@example.org", "b1@example.org"]  # fmt: skip
    reply_to(engine.lmtp, confirmation, "c1@example.org")
    box.expect("c1@example.org", "Welcome to Team")


def test_export_writes_what_import_reads_back(cli, make_list, settings, tmp_path):
    make_list("team", members=["carol@example.org", "dave@example.org"])
    cli("member", "set", "team", "carol@example.org", "display_name", "Carol, the facilitator's friend")
    exported = cli("member", "export", "team")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["email"] for r in rows] == ["carol@example.org", "dave@example.org"]
    assert rows[0]["display_name"] == "Carol, the facilitator's friend" and rows[0]["delivery"] == "each"
    make_list("copy")
    (tmp_path / "team.csv").write_text(exported)
    assert "imported 2 new members" in cli("member", "import", "copy", str(tmp_path / "team.csv"))
    assert json.loads(cli("member", "export", "copy", "--format", "json"))[0]["display_name"] == (
        "Carol, the facilitator's friend")  # fmt: skip


def test_show_tells_a_members_history(cli, engine, sink, settings, make_list):
    make_list("team", guidelines="Be kind.", membership_days="30")
    cli("member", "invite", "team", "dana@example.org", "--delivery", "summary")
    box = Mailbox(sink)
    reply_to(engine.lmtp, box.expect("dana@example.org", "Invitation"), "dana@example.org")
    box.expect("dana@example.org", "Welcome")
    report = json.loads(cli("member", "show", "team", "dana@example.org", "--json"))
    assert report["status"] == "member" and report["delivery"] == "summary" and report["expires"]
    assert report["confirmed"] and report["accepted_guidelines"].endswith(report["history"][2]["detail"])
    assert [h["event"] for h in report["history"]] == ["invited", "accepted-invitation", "accepted-guidelines",
                                                       "joined"]  # fmt: skip
    assert [s["step"] for s in report["steps"]] == ["onboard:enrolled", "onboard:0:welcome"]
    text = cli("member", "show", "team", "dana@example.org")
    assert "accepted_guidelines: " in text and "joined" in text and "expires: " in text
    cli("member", "rm", "team", "dana@example.org")
    report = json.loads(cli("member", "show", "team", "dana@example.org", "--json"))
    assert report["status"] == "not a member" and report["history"][-1]["event"] == "removed"
