"""A list's whole life from the command line: names it may have, settings checked when they are set,
closing and reopening (seen through the real LMTP listener), removal with and without its archive."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import inspect, text

from listserv.features import LIST_SETTINGS
from listserv.store import db
from support.conversation import Mailbox, body_of, send, settle, sql
from support.mail import lmtp_send, make_post

DOMAIN = "lists.example.test"
TEAM = f"team@{DOMAIN}"


def words(output: str) -> str:
    """Output with click's line wrapping undone."""
    return " ".join(output.split())


# -- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("team-request", "names ending in -request are reserved"),
        ("team-owner", "names ending in -owner are reserved"),
        ("team-bounces", "names ending in -bounces are reserved"),
        ("team-join", "names ending in -join are reserved"),
        ("team-leave", "names ending in -leave are reserved"),
        ("team-confirm", "names ending in -confirm are reserved"),
        ("team-moderate", "names ending in -moderate are reserved"),
        ("team-reply", "names ending in -reply are reserved"),
        ("team-digest", "names ending in -digest are reserved"),
        ("team-prompts", "names ending in -prompts are reserved"),
        ("team-vote", "names ending in -vote are reserved"),
        ("postmaster", "belongs to the domain itself"),
        ("team+x", "cannot contain '+'"),
        ("team news", "' ' would need quoting"),
        ('"team"', "'\"' would need quoting"),
        ("team(x)", "'(' would need quoting"),
        (".team", "a dot cannot start or end the name"),
        ("team.", "a dot cannot start or end the name"),
        ("te..am", "a dot cannot start or end the name, or follow another dot"),
        ("a" * 29, "longer than 28 characters"),
        ("@lists.example.test", "the name is empty"),
        ("team@localhost", "invalid domain"),
        ("team@-lists.example.test", "invalid domain"),
        ("team@10.0.0.1", "an IP address is not a domain"),
    ],
)
def test_reserved_and_invalid_list_names_are_refused_with_one_line(cli, address, problem):
    output = cli("list", "create", address, "--name", "X", code=1)
    assert problem in output and output.startswith("Error: cannot create a list at ")
    assert len(output.strip().splitlines()) == 1
    assert json.loads(cli("list", "ls", "--json")) == []


def test_plain_names_are_fine_and_show_their_status(cli):
    for name in ("team", "team.news", "cop_2026", "a" * 28, "request", "owners-circle"):
        cli("list", "create", name, "--name", name.title())
    rows = {row["address"]: row for row in json.loads(cli("list", "ls", "--json"))}
    assert len(rows) == 6 and {row["status"] for row in rows.values()} == {"open"}
    assert f"{TEAM}\topen\t0 members\tTeam" in cli("list", "ls").splitlines()


# -- settings ----------------------------------------------------------------------------------------


def test_list_set_help_names_every_key_with_what_it_takes_and_its_default(cli):
    shown = words(cli("list", "set", "--help"))
    for key in LIST_SETTINGS:
        assert f"- {key} (" in shown, key
    assert "held_expire_days (a whole number, 1 or more; default 14)" in shown
    assert "reply_to (one of leave|list|explicit; default leave)" in shown
    assert "require_subject (true|false, or yes|no; default true)" in shown
    assert "onboarding (text; default 0:welcome 3:introduce 10:discussions)" in shown
    assert "subject_prefix (text; default [NAME]" in shown


def test_list_show_prints_booleans_as_the_config_file_does(cli):
    cli("list", "create", "team", "--name", "Team")
    cli("list", "set", "team", "personalize", "yes")
    lines = cli("list", "show", "team").splitlines()
    assert "personalize: true" in lines and "emergency_moderation: false" in lines and "status: open" in lines
    assert not any(line.endswith(("True", "False")) for line in lines)
    assert json.loads(cli("list", "show", "team", "--json"))["personalize"] is True


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_members", "-5", "max_members must be 0 or more, not -5"),
        ("max_message_size", "-1", "max_message_size must be 0 or more, not -1"),
        ("held_expire_days", "0", "held_expire_days must be 1 or more, not 0"),
        ("unanswered_days", "0", "unanswered_days must be 1 or more, not 0"),
        ("nudge_weeks", "two", "nudge_weeks must be a whole number, not 'two'"),
        ("max_recipients", "99999999999", "max_recipients must be at most 2147483647"),
        ("reply_to_address", "Team <team@example.org>", "reply_to_address: unsupported character"),
        ("reply_to_address", "nobody", "reply_to_address: not an address"),
        ("archive_url", "lists.example.org/team", "archive_url: expected an http:// or https:// URL"),
        ("archive_url", "https://", "archive_url: the URL has no host"),
        ("archive_url", "https://x.example/a b", "archive_url: a URL holds no spaces"),
        ("personalize", "maybe", "personalize must be yes or no"),
        ("one_click_unsubscribe", "yes", "set public_url first"),
    ],
)
def test_bad_list_settings_are_refused_when_set(cli, key, value, message):
    cli("list", "create", "team", "--name", "Team")
    output = cli("list", "set", "team", key, "--", value, code=1)
    assert message in output and len(output.strip().splitlines()) == 1
    shown = json.loads(cli("list", "show", "team", "--json"))
    assert str(shown[key]) != value


def test_good_values_are_taken_and_empty_clears_an_optional_one(cli, monkeypatch):
    cli("list", "create", "team", "--name", "Team")
    cli("list", "set", "team", "reply_to_address", "circle@example.org")
    cli("list", "set", "team", "archive_url", "https://lists.example.org/archive/team/")
    cli("list", "set", "team", "max_members", "0")
    cli("list", "set", "team", "reply_to_address", "")
    cli("list", "set", "team", "one_click_unsubscribe", "no")  # turning it off needs nothing
    monkeypatch.setenv("LISTSERV_PUBLIC_URL", "https://lists.example.org")
    cli("list", "set", "team", "one_click_unsubscribe", "yes")
    shown = json.loads(cli("list", "show", "team", "--json"))
    assert (shown["reply_to_address"], shown["archive_url"]) == ("", "https://lists.example.org/archive/team/")
    assert shown["one_click_unsubscribe"] is True


def test_one_click_without_public_url_keeps_the_mailto_link_only(engine, sink, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], one_click_unsubscribe="yes")  # set before
    send(engine.lmtp, "alice@example.com", TEAM, "No public url")
    copy = Mailbox(sink).expect("bob@example.com", "No public url")
    assert copy["List-Unsubscribe"] == f"<mailto:team-request@{DOMAIN}?subject=unsubscribe>"
    assert copy["List-Unsubscribe-Post"] is None and "/unsubscribe/" not in copy.as_string()


# -- close and reopen --------------------------------------------------------------------------------


def test_a_closed_list_refuses_posts_and_joins_lets_members_leave_and_opens_again(engine, sink, settings, cli,
                                                                                make_list):  # fmt: skip
    make_list("team", members=["alice@example.com", "bob@example.com", "dave@example.net"])
    assert f"closed {TEAM}" in cli("list", "close", "team")
    assert json.loads(cli("list", "show", "team", "--json"))["status"] == "closed"
    box = Mailbox(sink)

    rcpts = [TEAM, f"team-join@{DOMAIN}", f"team-leave@{DOMAIN}"]
    replies = lmtp_send(engine.lmtp, "alice@example.com", rcpts, make_post(subject="While closed"))
    assert replies[TEAM] == "550 5.7.1 This list is closed: it takes no new posts"
    assert replies[f"team-join@{DOMAIN}"] == "550 5.7.1 This list is closed: it takes no new members"
    assert replies[f"team-leave@{DOMAIN}"].startswith("250")  # alice leaves
    assert "has left" in body_of(box.expect("alice@example.com", "You have left"))
    send(engine.lmtp, "carol@example.org", f"team-request@{DOMAIN}", "subscribe")
    assert "Team is closed: it takes no new members." in body_of(box.expect("carol@example.org"))
    settle(settings)
    assert sql(settings, "SELECT email FROM members ORDER BY email") == [("bob@example.com",), ("dave@example.net",)]
    assert sql(settings, "SELECT count(*) FROM posts") == [(0,)] and box.unread() == []

    assert f"reopened {TEAM}" in cli("list", "reopen", "team")
    send(engine.lmtp, "bob@example.com", TEAM, "Back in business")
    box.expect("dave@example.net", "Back in business")
    assert sql(settings, "SELECT subject, decision FROM posts") == [("Back in business", "accept")]


# -- remove ------------------------------------------------------------------------------------------


def fill(cli, settings, engine) -> None:
    """team: a facilitator, two members, a delivered post, a held post and a pending subscription."""
    cli("list", "create", "team", "--name", "Team", "--facilitator", "fac@example.org")
    cli("member", "add", "team", "alice@example.com")
    cli("member", "add", "team", "bob@example.com")
    send(engine.lmtp, "alice@example.com", TEAM, "Retrospectives")
    send(engine.lmtp, "mallory@example.net", TEAM, "Buy now")  # held
    send(engine.lmtp, "carol@example.org", f"team-join@{DOMAIN}", "join")  # a confirmation token
    settle(settings)


def counts(settings) -> dict[str, int]:
    tables = ("lists", "members", "posts", "discussions", "thread_containers", "inbound", "outbound", "deliveries",
              "batches", "tokens", "held_posts", "membership_events")  # fmt: skip
    return {table: sql(settings, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


def test_rm_without_yes_says_what_it_would_remove_and_removes_nothing(engine, settings, cli):
    fill(cli, settings, engine)
    before = counts(settings)
    output = words(cli("list", "rm", "team", code=1))
    assert output.startswith(f"Error: not removed: add --yes to remove {TEAM}: members: 3,")
    assert "tokens" in output and "held_posts: 1" in output and "keep its archive: discussions: 1" in output
    assert "posts: 2" in output and "inbound (raw mail of posts): 2" in output
    assert "(--purge removes it too)" in output
    assert "and everything of it" in words(cli("list", "rm", "team", "--purge", code=1))
    assert counts(settings) == before


def test_rm_keeps_the_archive_readable_and_the_list_answers_as_no_list(engine, settings, cli):
    fill(cli, settings, engine)
    output = cli("list", "rm", "team", "--yes")
    assert output.startswith(f"removed {TEAM}: members: 3,") and "kept its archive: discussions: 1" in output
    after = counts(settings)
    assert (after["members"], after["tokens"], after["held_posts"], after["deliveries"], after["batches"]) == (
        0, 0, 0, 0, 0)  # fmt: skip
    assert (after["lists"], after["posts"], after["discussions"], after["thread_containers"]) == (1, 2, 1, 1)
    assert after["inbound"] == 2  # the raw mail of the two posts; the join request went
    assert sql(settings, "SELECT kind FROM outbound") == [("post",)]  # the post as sent; notices went
    assert json.loads(cli("list", "show", "team", "--json"))["status"] == "removed"
    assert "Retrospectives" in cli("thread", "ls", "team")  # still readable

    replies = lmtp_send(engine.lmtp, "alice@example.com", [TEAM, f"team-leave@{DOMAIN}"], make_post())
    assert replies == {TEAM: "550 5.1.1 No such list here", f"team-leave@{DOMAIN}": "550 5.1.1 No such list here"}
    assert "is removed already" in cli("list", "rm", "team", "--yes", code=1)
    assert "was removed; only its archive is left" in cli("list", "reopen", "team", code=1)
    assert "--purge --yes` frees the address" in cli("list", "create", "team", "--name", "Again", code=1)

    assert cli("list", "rm", "team", "--purge", "--yes").startswith(f"purged {TEAM}: ")
    assert set(counts(settings).values()) == {0}
    cli("list", "create", "team", "--name", "Again")


def test_purge_removes_everything_at_once(engine, settings, cli):
    fill(cli, settings, engine)
    cli("list", "create", "other", "--name", "Other")
    cli("member", "add", "other", "alice@example.com")
    output = cli("list", "rm", "team", "--purge", "--yes")
    assert output.startswith(f"purged {TEAM}: members: 3,") and "posts: 2" in output and "kept" not in output
    left = counts(settings)
    assert (left["lists"], left["members"], left["posts"], left["inbound"], left["outbound"]) == (1, 1, 0, 0, 0)
    assert "no list" in cli("list", "show", "team", code=1)


# -- migration 0007 ----------------------------------------------------------------------------------


def test_migration_0007_makes_existing_lists_open(database_url, request):
    engine = db.open_engine(database_url)
    try:
        command.upgrade(db._alembic_config(engine), "0006")  # a database from before 0007, with a list
        with engine.begin() as connection:
            assert "status" not in {column["name"] for column in inspect(connection).get_columns("lists")}
            connection.execute(text(
                "INSERT INTO lists (address, name, description, subject_prefix, reply_to, reply_to_address, "
                "max_message_size, personalize, archive_url, created_at) VALUES ('old@lists.example.test', "
                "'Old', '', '[old]', 'leave', '', 0, false, '', '2026-01-01 00:00:00')"
            ))  # fmt: skip
        assert db.pending_migrations(engine)
    finally:
        engine.dispose()
    cli = request.getfixturevalue("cli")  # `listserv init`: upgrades to the newest revisions
    [row] = json.loads(cli("list", "ls", "--json"))
    assert (row["address"], row["status"], row["name"]) == ("old@lists.example.test", "open", "Old")
    cli("list", "close", "old")
    assert "old@lists.example.test\tclosed\t0 members\tOld" in cli("list", "ls")
