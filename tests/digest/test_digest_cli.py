"""`listserv digest` run, preview and ls from the command line (no server running)."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from email.message import Message
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from listserv.cli.main import main
from listserv.cli_context import CliContext
from support.clock import TestClock
from support.digest_helpers import MOMENTS, text_of
from support.mail import make_post, parse


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


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> TestClock:
    return TestClock(request.param[0]) if hasattr(request, "param") else TestClock()


def stdout_of(clock: TestClock, *args: str) -> str:
    """Only what the command writes to standard output (the preview's notes go to standard error)."""
    result = CliRunner().invoke(main, list(args), obj=CliContext(None, clock=clock))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def delivered(tmp_path: Path, rcpt: str) -> list[Message]:
    mails = [parse(p.read_bytes()) for p in sorted((tmp_path / "outbox" / "new").iterdir())]
    return [m for m in mails if m["Delivered-To"] == rcpt]


CAFE = "Café rules: " + "résumé, naïve, déjà vu – " * 8 + "\n\nOn Monday, Bob wrote:\n> quoted\n"


@pytest.mark.parametrize(("clock", "zone"), MOMENTS, indirect=["clock"])
def test_the_preview_is_exactly_what_a_named_member_gets(cli, clock, tmp_path, zone):
    cli("list", "create", "team", "--name", "Team", "--facilitator", "fac@example.org")
    cli("list", "set", "team", "timezone", zone)
    cli("member", "add", "team", "alice@example.com", "--name", "Alice")
    cli("member", "add", "team", "bob@example.com", "--delivery", "summary")
    cli("member", "add", "team", "carol@example.com", "--delivery", "plain-digest")
    cli("member", "add", "team", "dan@example.com", "--name", "Dan")  # each: the first post reaches him
    dated = format_datetime(clock().replace(tzinfo=timezone.utc))
    cli("inject", "team", "--now", input=make_post("alice@example.com", subject="Café rules", body=CAFE,
                                                  msgid="<cafe@example.com>", date=dated))  # fmt: skip
    cli("member", "set", "team", "dan@example.com", "--delivery", "summary")
    cli("inject", "team", "--now", input=make_post("alice@example.com", subject="Second", msgid="<two@example.com>",
                                                  date=dated))  # fmt: skip
    clock.advance(timedelta(days=3))  # "Second" asks a question nobody answers

    shared = cli("digest", "preview", "team")  # the summary as most summary readers get it, and the exceptions
    assert "preview: Team summary, Vol 1, Issue 1, due " in shared and "Café rules" in shared
    assert "note: 2 members read summary; 1 of them with a copy of their own" in shared
    assert "note: dan@example.com received 1 of the period's posts one by one" in shared
    dan = stdout_of(clock, "digest", "preview", "team", "--member", "dan@example.com")
    assert "Café rules" not in dan and "Second" in dan and "Welcome to Alice and 2 more new members!" in dan
    assert "Welcome to Alice, Dan and 2 more new members!" in shared
    carol = stdout_of(clock, "digest", "preview", "team", "--member", "carol@example.com")
    plain = stdout_of(clock, "digest", "preview", "team", "--mode", "plain-digest")
    for text in (carol, plain):
        assert "résumé, naïve, déjà vu – résumé" in text and "End of Team Digest, Vol 1, Issue 1" in text
        assert "=C3=A9" not in text and "=\n" not in text
    mime = stdout_of(clock, "digest", "preview", "team", "--mode", "mime-digest")
    assert "Subject: [team] Café rules" in mime and "déjà vu" in mime and "=C3" not in mime
    assert "gets no digest: they receive every post one by one" in cli("digest", "preview", "team", "--member",
                                                                       "alice@example.com")  # fmt: skip
    assert "zed@example.com is not a member" in cli("digest", "preview", "team", "--member", "zed@example.com", code=1)
    assert "reads summary, not plain-digest" in cli("digest", "preview", "team", "--member", "dan@example.com",
                                                    "--mode", "plain-digest", code=1)  # fmt: skip

    assert "\tsent\tvol 1 no 1\tposts=2\trecipients=3" in cli("digest", "run", "--list", "team", "--now", "--deliver")
    assert text_of(delivered(tmp_path, "dan@example.com")[-1]) == dan
    assert text_of(delivered(tmp_path, "carol@example.com")[-1]) == carol
    assert text_of(delivered(tmp_path, "bob@example.com")[-1]) in shared
    assert "UNANSWERED QUESTIONS" in shared
    sent = len(list((tmp_path / "outbox" / "new").iterdir()))
    assert "\tempty\tissue " in cli("digest", "run", "--list", "team", "--now", "--deliver")  # right after: nothing
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == sent
    assert "nothing would be sent: no posts in this period yet" in cli("digest", "preview", "team")
