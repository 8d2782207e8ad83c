"""The pure core of membership: reading commands, policy decisions, tokens and one-click headers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from listserv.mail.message import ListInfo
from listserv.membership.commands import MAX_COMMANDS, Command, read_commands
from listserv.membership.compose import compose_notice, confirm_address, split_subject
from listserv.membership.policy import (
    Admission,
    ConfirmLimits,
    JoinFacts,
    JoinOutcome,
    ListPolicy,
    Step,
    Subscription,
    WhenFull,
    decide_admission,
    decide_join,
    parse_steps,
    reminder_due,
    reminder_window,
    skip_reason,
    steps_problem,
    vacation_end,
)
from listserv.outbound.oneclick import (
    has_marker,
    insert_member_token,
    mark_unsubscribe,
    public_base,
    read_unsubscribe_token,
    unsubscribe_token,
)
from support.mail import parse

TEAM = ListInfo(id=7, address="team@lists.example.org", name="Team")
NOW = datetime(2026, 11, 29, 12, 0)


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("subscribe", "", [(Command.SUBSCRIBE, "each")]),
        ("join digest", "", [(Command.SUBSCRIBE, "mime-digest")]),
        ("Re: Fwd: subscribe nomail", "", [(Command.SUBSCRIBE, "none")]),
        ("", "join summary please", [(Command.SUBSCRIBE, "summary")]),
        ("", "set delivery plain-digest\nset vacation until 2027-01-05", [(Command.SET_DELIVERY, "plain-digest"),
                                                                         (Command.SET_VACATION, "2027-01-05")]),
        ("", "set vacation off", [(Command.SET_VACATION, "off")]),
        ("", "who\ninfo\nhelp\nrenew\nleave", [(Command.WHO, ""), (Command.INFO, ""), (Command.HELP, ""),
                                               (Command.RENEW, ""), (Command.UNSUBSCRIBE, "")]),
        ("Re: confirm abcdefghijklmnopqrstuvwxyz", "", [(Command.CONFIRM, "abcdefghijklmnopqrstuvwxyz")]),
        ("", "info\ninfo\nINFO", [(Command.INFO, "")]),  # each command once
        ("", "> subscribe\nOn Monday Bob wrote:\nunsubscribe", []),
        ("", "thanks!\nunsubscribe", []),
    ],
)  # fmt: skip
def test_commands_are_read_in_order_with_their_arguments(subject, body, expected):
    assert [(r.command, r.argument) for r in read_commands(subject, body).commands] == expected


@pytest.mark.parametrize(
    ("line", "problem"),
    [("set delivery sometimes", "expected one of"), ("set vacation until tomorrow", "YYYY-MM-DD"),
     ("set vacation until 2027-02-30", "YYYY-MM-DD"), ("set colour blue", "delivery, vacation or profile"),
     ("confirm", "no confirmation code")],
)  # fmt: skip
def test_a_command_with_arguments_we_cannot_read_says_what_was_expected(line, problem):
    [request] = read_commands("", line).commands
    assert problem in request.problem


def test_prose_is_reported_as_unknown_lines_and_reading_stops_after_a_few():
    mail = read_commands("Hello", "Hi all,\nI would like to join.\nCan you help?\nsubscribe\n")
    assert mail.commands == () and [r.line for r in mail.unknown] == ["Hi all,", "I would like to join.",
                                                                       "Can you help?"]  # fmt: skip


def test_at_most_max_commands_are_taken_from_one_message():
    body = "\n".join(f"set vacation until 2030-01-{day:02d}" for day in range(1, MAX_COMMANDS + 5))
    mail = read_commands("", body, limit=MAX_COMMANDS)
    assert len(mail.commands) == MAX_COMMANDS and mail.truncated


LIMITS = ConfirmLimits(per_address=3, per_sender=10)
FRESH = JoinFacts(address_problem=None, is_member=False, full=False, pending=False, sent_to_address=0,
                  sent_for_sender=0)  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "policy", "outcome"),
    [
        (FRESH, ListPolicy(), JoinOutcome.CONFIRM),
        (replace(FRESH, address_problem="invalid domain"), ListPolicy(), JoinOutcome.BAD_ADDRESS),
        (replace(FRESH, is_member=True), ListPolicy(), JoinOutcome.ALREADY_MEMBER),
        (FRESH, ListPolicy(subscription=Subscription.INVITATION), JoinOutcome.INVITATION_ONLY),
        (replace(FRESH, by_operator=True), ListPolicy(subscription=Subscription.INVITATION), JoinOutcome.CONFIRM),
        (FRESH, ListPolicy(subscription=Subscription.APPROVAL), JoinOutcome.CONFIRM),
        (replace(FRESH, full=True), ListPolicy(max_members=5), JoinOutcome.FULL),
        (replace(FRESH, full=True), ListPolicy(max_members=5, when_full=WhenFull.WAITLIST), JoinOutcome.CONFIRM),
        (replace(FRESH, pending=True), ListPolicy(), JoinOutcome.PENDING),
        (replace(FRESH, sent_to_address=3), ListPolicy(), JoinOutcome.RATE_LIMITED),
        (replace(FRESH, sent_for_sender=10), ListPolicy(), JoinOutcome.RATE_LIMITED),
        (replace(FRESH, sent_for_sender=10, by_operator=True), ListPolicy(), JoinOutcome.CONFIRM),
    ],
)  # fmt: skip
def test_a_request_to_join_leads_to_one_outcome(facts, policy, outcome):
    assert decide_join(facts, policy, LIMITS) is outcome


@pytest.mark.parametrize(
    ("is_member", "count", "policy", "admission"),
    [(False, 0, ListPolicy(), Admission.JOINED), (True, 0, ListPolicy(), Admission.ALREADY_MEMBER),
     (False, 4, ListPolicy(max_members=5), Admission.JOINED), (False, 5, ListPolicy(max_members=5), Admission.FULL),
     (False, 5, ListPolicy(max_members=5, when_full=WhenFull.WAITLIST), Admission.WAITLISTED)],
)  # fmt: skip
def test_admission_respects_the_maximum(is_member, count, policy, admission):
    assert decide_admission(is_member, count, policy) is admission


@pytest.mark.parametrize(
    ("left", "due"),
    [(timedelta(days=20), None), (timedelta(days=14), 14), (timedelta(days=5), 14), (timedelta(days=3), 3),
     (timedelta(hours=1), 3), (timedelta(0), None), (-timedelta(days=1), None)],
)  # fmt: skip
def test_the_renewal_reminder_due_is_the_most_urgent_window(left, due):
    assert reminder_due(NOW + left, NOW) == due


def test_reminder_windows_do_not_overlap():
    assert reminder_window(14, NOW) == (NOW + timedelta(days=3), NOW + timedelta(days=14))
    assert reminder_window(3, NOW) == (NOW, NOW + timedelta(days=3))


def test_a_vacation_ends_on_a_future_day_within_a_year():
    assert vacation_end(date(2026, 12, 24), date(2026, 11, 29)) == datetime(2026, 12, 24)
    assert vacation_end(date(2026, 11, 29), date(2026, 11, 29)) == "that date is not in the future"
    assert "at most" in str(vacation_end(date(2028, 1, 1), date(2026, 11, 29)))


def test_steps_are_parsed_sorted_and_checked():
    assert parse_steps("10:discussions 0:welcome, 3:introduce bogus") == (
        Step(0, "welcome"), Step(3, "introduce"), Step(10, "discussions"))  # fmt: skip
    assert steps_problem("0:welcome 3:introduce") is None and steps_problem("") is None
    assert "not '3days'" in str(steps_problem("0:welcome 3days"))


def test_introductions_are_skipped_for_posters_and_discussions_need_discussions():
    assert skip_reason(Step(3, "introduce"), has_posted=True, discussions=0) == "already posted"
    assert skip_reason(Step(3, "introduce"), has_posted=False, discussions=0) is None
    assert skip_reason(Step(10, "discussions"), has_posted=True, discussions=0) == "no unanswered discussions"
    assert skip_reason(Step(10, "discussions"), has_posted=False, discussions=2) is None


def test_unsubscribe_tokens_belong_to_one_member_of_one_list_and_one_secret():
    secret = b"s" * 32
    token = unsubscribe_token(secret, 7, "bob@example.com")
    assert read_unsubscribe_token(secret, 7, token) == "bob@example.com"
    assert read_unsubscribe_token(secret, 8, token) is None
    assert read_unsubscribe_token(b"t" * 32, 7, token) is None
    other = unsubscribe_token(secret, 7, "carol@example.com")
    assert read_unsubscribe_token(secret, 7, token.split(".")[0] + "." + other.split(".")[1]) is None
    for junk in ("", ".", "x.y", "!!!." + "a" * 26, token + "a", "a" * 700):
        assert read_unsubscribe_token(secret, 7, junk) is None


DECORATED = (b"From: alice@example.com\r\nSubject: Hi %%unsubscribe-token:7%%\r\n"
             b"List-Unsubscribe: <mailto:team-request@lists.example.org?subject=unsubscribe>\r\n"
             b"List-Owner: <mailto:team-owner@lists.example.org>\r\n\r\nbody %%unsubscribe-token:7%%\r\n")  # fmt: skip


def test_one_click_marking_replaces_the_list_unsubscribe_field_only():
    marked = mark_unsubscribe(DECORATED, "https://lists.example.org", 7, "team-leave@lists.example.org")
    message = parse(marked)
    assert message.get_all("List-Unsubscribe") == [
        "<https://lists.example.org/unsubscribe/7/%%unsubscribe-token:7%%>,\r\n"
        " <mailto:team-leave@lists.example.org?subject=unsubscribe>"]  # fmt: skip
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and message["List-Owner"]
    assert marked.endswith(b"\r\n\r\nbody %%unsubscribe-token:7%%\r\n") and has_marker(marked)

    secret = b"k" * 32
    personal = insert_member_token(marked, "bob@example.com", secret)
    field = str(parse(personal)["List-Unsubscribe"])
    assert unsubscribe_token(secret, 7, "bob@example.com") in field and "%%" not in field
    assert b"Subject: Hi %%unsubscribe-token:7%%" in personal and personal.endswith(b"body %%unsubscribe-token:7%%\r\n")
    assert not has_marker(DECORATED)  # a marker a poster wrote elsewhere does not count


def test_links_point_at_the_public_url_and_never_at_the_listener():
    assert public_base("https://lists.example.org/x/") == "https://lists.example.org/x"
    assert public_base("") is None and public_base("  ") is None  # no link rather than http://127.0.0.1:8080


def test_templates_may_set_the_subject_and_token_mail_is_answered_at_the_confirm_address():
    assert split_subject("Subject: Hello there\n\nBody\n", "default") == ("Hello there", "Body\n")
    assert split_subject("Body only\n", "default") == ("default", "Body only\n")
    raw = compose_notice(TEAM, "carol@example.org", "confirm abc", "Reply to join.\n", NOW,
                  reply_address=confirm_address(TEAM, "abc"))  # fmt: skip
    message = parse(raw)
    assert message["Reply-To"] == "team-confirm+abc@lists.example.org"
    assert message["From"] == "Team <team-confirm+abc@lists.example.org>"
    assert message["Auto-Submitted"] == "auto-replied" and b"\r\n" in raw and b"\n\n" not in raw
