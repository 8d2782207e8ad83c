"""Facilitation by mail and CLI: the editorial note, prompts posted on time, polls by reply, nudges."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from listserv.cli.main import main
from listserv.cli_context import CliContext
from listserv.digest.polls import close_due_polls, open_due_polls
from listserv.digest.prompts import post_due_prompts
from listserv.digest.schedule import Schedule, next_due, preview_at
from listserv.digest.tables import (
    DigestPoll,
    DigestPrompt,
    DigestVote,
    PollStatus,
    PromptStatus,
)
from listserv.features import LIST_SETTINGS
from listserv.store import admin
from listserv.store.schema import MailingList, Member
from support.digest_helpers import LIST, World, text_of
from support.mail import make_post, parse

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
FAC = "fac@example.org"


@pytest.fixture
def world(engine, sink, settings, make_list):
    make_list("team", members=[ALICE, BOB, CAROL], facilitators=(FAC,))
    w = World(engine, sink, settings)
    w.set_delivery(CAROL, "summary")
    return w


@pytest.fixture
def cli(world, monkeypatch, tmp_path):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("LISTSERV_DOMAIN", "lists.example.test")
    monkeypatch.setenv("LISTSERV_RELAY", f"maildir:{tmp_path}/outbox")
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(main, list(args), input=input, obj=CliContext(None, clock=world.work.clock))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return run


def preview_window(world: World) -> tuple[datetime, datetime]:
    """(a moment in the first issue's preview window, the issue's due time), whatever the start."""
    with world.sessions() as session:
        created = session.scalar(select(MailingList.created_at).where(MailingList.address == LIST))
    due = next_due(Schedule(), created)
    opens = preview_at(Schedule(), due, created)
    assert opens is not None
    return opens + (due - opens) / 3, due


def reply_address(message) -> str:
    found = re.search(r"<?([\w.+-]+@lists\.example\.test)>?", message["Reply-To"])
    assert found
    return found.group(1)


def test_a_facilitators_reply_to_the_preview_becomes_the_note(world):
    world.post(ALICE, "What did you learn this week?", "Tell us.\n", "<learn@example.com>")
    world.settle()
    during, due = preview_window(world)
    assert [o.action for o in world.run(during)] == ["preview"]
    assert [o.action for o in world.run(during + (due - during) / 2)] == ["waiting"]  # one preview only
    preview = parse(world.new_mail(1)[0][1])
    assert preview["To"] == FAC and preview["Subject"].startswith("Preview: Team summary")
    assert "What did you learn this week?" in text_of(preview)
    address = reply_address(preview)
    assert address.startswith("team-digest+")
    world.send(
        FAC,
        address,
        make_post(
            FAC,
            address,
            "Re: " + preview["Subject"],
            "A lively week: thank you all!\n\nOn Sun, Team digest wrote:\n> Preview\n",
            "<note@example.org>",
        ),
    )
    assert "This note will head" in text_of(parse(world.settle()[0][1]))
    assert [o.action for o in world.run(due + timedelta(hours=1))] == ["sent"]
    summary = text_of(parse(world.new_mail(1)[0][1]))
    assert "FROM THE FACILITATOR" in summary and "A lively week: thank you all!" in summary
    assert "> Preview" not in summary


def test_skip_sends_the_summary_without_a_note_and_a_stranger_cannot_write_one(world):
    world.post(ALICE, "Topic", "Text.\n", "<topic@example.com>")
    world.settle()
    during, due = preview_window(world)
    world.run(during)
    address = reply_address(parse(world.new_mail(1)[0][1]))
    world.send(BOB, address, make_post(BOB, address, "Re: preview", "I am the editor now\n", "<forged@example.com>"))
    forwarded = world.settle()  # not a note: passed on to the facilitators like any reply to a digest
    assert [r for r, _ in forwarded] == [FAC]
    world.send(FAC, address, make_post(FAC, address, "Re: preview", "skip\n", "<skip@example.org>"))
    world.settle()
    world.run(due + timedelta(hours=1))
    summary = text_of(parse(world.new_mail(1)[0][1]))
    assert "FROM THE FACILITATOR" not in summary and "editor" not in summary


def test_a_prompt_is_posted_at_its_time_from_the_facilitator_and_heads_the_summary(world, cli, tmp_path):
    text = tmp_path / "prompt.txt"
    text.write_text("What is one habit that made your retros better?\n\nShare one, however small.\n")
    at = (world.now() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    out = cli("prompt", "add", "team", str(text), "--at", at, "--every", "week")
    prompt_id = int(out.split()[1])
    assert "then weekly" in out
    assert f"prompt {prompt_id}\tscheduled" in cli("prompt", "ls", "team")
    assert post_due_prompts(world.sessions, world.at(timedelta(hours=1))) == 0  # not yet
    later = world.at(timedelta(hours=2))
    assert post_due_prompts(world.sessions, later) == 1
    assert post_due_prompts(world.sessions, later) == 0  # once per occurrence
    world.wait_processed()
    got = world.settle()
    assert sorted(r for r, _ in got) == [ALICE, BOB]  # each-mode members; the facilitator wrote it
    post = parse(got[0][1])
    assert post["From"] == FAC and post["Subject"] == "[team] What is one habit that made your retros better?"
    with world.sessions() as session:
        prompt = session.get_one(DigestPrompt, prompt_id)
        assert prompt.status == PromptStatus.SCHEDULED and prompt.posted == 1
        assert prompt.next_at is not None and prompt.next_at > world.now() + timedelta(days=6)
    world.run()
    summary = text_of(parse(world.new_mail(1)[0][1]))
    assert "THIS WEEK'S PROMPT" in summary and "Share one, however small." in summary
    assert summary.index("THIS WEEK'S PROMPT") < summary.index("NEW DISCUSSIONS")
    cli("prompt", "rm", str(prompt_id))
    assert "scheduled" not in cli("prompt", "ls", "team")


def test_a_prompt_by_mail_is_scheduled_only_once_the_facilitator_confirms(world):
    prompts = "team-prompts@lists.example.test"
    world.send(
        FAC,
        prompts,
        make_post(
            FAC,
            prompts,
            "Your best facilitation trick?",
            "At: 2030-01-07 09:00\nEvery: week\n\nTell us your best trick.\n",
            "<ask@example.org>",
        ),
    )
    confirm = parse(world.settle()[0][1])
    assert confirm["To"] == FAC and "Please confirm" in confirm["Subject"]
    assert "Posted to team@lists.example.test: Mon 7 Jan 2030, 09:00 UTC, then weekly" in text_of(confirm)
    with world.sessions() as session:
        assert session.scalars(select(DigestPrompt.status)).all() == ["confirming"]
    world.send(BOB, prompts, make_post(BOB, prompts, "Spam", "Buy now\n", "<spam@example.com>"))
    assert "Only the facilitators" in text_of(parse(world.settle()[0][1]))
    address = reply_address(confirm)
    world.send(FAC, address, make_post(FAC, address, "Re: confirm", "yes\n\n> Please confirm\n", "<yes@example.org>"))
    assert "Scheduled" in parse(world.settle()[0][1])["Subject"]
    with world.sessions() as session:
        assert session.scalars(select(DigestPrompt.status)).all() == ["scheduled"]


def test_a_poll_counts_one_vote_per_member_the_last_one_and_ignores_non_members(world, cli):
    closes = (world.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    out = cli(
        "poll",
        "add",
        "team",
        "How useful was this month's discussion?",
        "--option",
        "Not useful",
        "--option",
        "Useful",
        "--option",
        "Very useful",
        "--closes",
        closes,
    )
    poll_id = int(out.split()[1])
    assert open_due_polls(world.sessions, world.templates, world.now()) == 1
    world.wait_processed()
    posted = parse(world.settle()[0][1])
    assert posted["Reply-To"] == f"team-vote+{poll_id}@lists.example.test"
    assert f"mailto:team-vote+{poll_id}@lists.example.test?subject=Vote%3A%203" in text_of(posted)
    vote = f"team-vote+{poll_id}@lists.example.test"
    for sender, line, msgid in (
        (ALICE, "3", "<v1@x>"),
        (BOB, "b) useful", "<v2@x>"),
        (ALICE, "2.", "<v3@x>"),
        ("stranger@example.net", "1", "<v4@x>"),
        (CAROL, "maybe", "<v5@x>"),
    ):
        world.send(sender, vote, make_post(sender, vote, "Re: poll", f"{line}\n\n> How useful\n", msgid))
    world.settle()
    with world.sessions() as session:
        votes = dict(session.execute(select(DigestVote.email, DigestVote.choice)).all())
    assert votes == {ALICE: 2, BOB: 2}
    assert "Useful: 2" in cli("poll", "results", str(poll_id))
    assert close_due_polls(world.sessions, world.templates, world.at(timedelta(days=3))) == 1
    results = world.settle()
    assert [r for r, _ in results] == [FAC]
    assert "2 members voted" in text_of(parse(results[0][1]))
    with world.sessions() as session:
        assert session.get_one(DigestPoll, poll_id).status == PollStatus.CLOSED
    world.run(world.now() + timedelta(days=8))
    summary = text_of(parse(world.new_mail(1)[0][1]))
    assert "Results: How useful was this month's discussion? (2 votes)" in summary
    assert "2. Useful: 2" in summary


def test_silent_members_get_one_nudge_per_period_and_never_in_none_mode(world):
    from listserv.digest.nudges import send_nudges

    with world.sessions() as session, session.begin():
        admin.set_list(session, LIST, "nudge_weeks", "2", LIST_SETTINGS)
        for member in session.scalars(select(Member)):
            member.created_at = world.now() - timedelta(weeks=5)
    world.set_delivery(BOB, "none")
    world.post(ALICE, "Any tips for onboarding?", "Please share.\n", "<tips@example.com>")
    world.settle()
    now = world.now() + timedelta(days=8)
    world.run(now)
    world.settle()
    with world.sessions() as session:
        list_id = admin.get_list(session, LIST).id
    assert send_nudges(world.work, world.now(), [list_id]) == 1
    assert send_nudges(world.work, world.now(), [list_id]) == 0
    nudge = world.settle()
    assert [r for r, _ in nudge] == [CAROL]  # alice posted, bob is in none mode, fac is a facilitator
    text = text_of(parse(nudge[0][1]))
    assert "Any tips for onboarding?" in text and "team-reply+" in text


def test_a_vote_whose_sender_authentication_fails_is_not_counted_and_the_sender_is_told(world, cli):
    closes = (world.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    poll_id = int(cli("poll", "add", "team", "Which day?", "--option", "Monday", "--option", "Friday",
                      "--closes", closes).split()[1])  # fmt: skip
    assert open_due_polls(world.sessions, world.templates, world.now()) == 1
    world.wait_processed()
    world.settle()
    vote = f"team-vote+{poll_id}@lists.example.test"
    domain = ALICE.rpartition("@")[2]
    forged = f"Authentication-Results: mx.example; dmarc=fail header.from={domain}\r\n".encode()
    world.send(ALICE, vote, forged + make_post(ALICE, vote, "Re: poll", "2\n\n> Which day\n", "<forged-vote@x>"))
    [(to, raw)] = world.settle()
    notice = parse(raw)
    assert to == ALICE and notice["Subject"] == "Not done: Re: poll"
    assert f"sender authentication failed for {domain} (dmarc=fail" in text_of(notice)
    with world.sessions() as session:
        assert session.execute(select(DigestVote.email)).all() == []
    world.send(ALICE, vote, make_post(ALICE, vote, "Re: poll", "2\n\n> Which day\n", "<real-vote@x>"))
    world.settle()
    with world.sessions() as session:
        assert session.execute(select(DigestVote.email, DigestVote.choice)).all() == [(ALICE, 2)]
