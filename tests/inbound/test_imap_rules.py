"""The IMAP intake's pure decisions: routing, which UIDs, UIDVALIDITY, batches, backoff, settings."""

from __future__ import annotations

import pytest

from listserv.inbound.imap.rules import (
    BACKOFF_CAP,
    Done,
    MailboxConfig,
    Position,
    TlsMode,
    config_problem,
    done_of,
    group_mailboxes,
    next_backoff,
    pending,
    resume,
    route,
    size_batches,
)
from listserv.inbound.replies import TOO_BIG, TRY_LATER, Refused
from listserv.mail.message import Recipient, Role
from support.mail import make_post

TEAM, NEWS = "team@lists.example.test", "news@lists.example.test"


def test_the_envelope_headers_decide_when_they_name_a_list_of_the_mailbox():
    raw = make_post(to=f"Friends <someone@example.org>, {NEWS}", extra=f"Delivered-To: {TEAM}\r\n")
    assert route(raw, [NEWS, TEAM]).rcpts == ((Recipient(TEAM, Role.POST), TEAM),)


def test_a_message_to_two_lists_of_the_mailbox_goes_to_both():
    raw = make_post(to=f"Team <{TEAM.upper()}>", extra=f"Cc: someone@example.org, {NEWS}, {TEAM}\r\n")
    assert route(raw, [NEWS, TEAM]).rcpts == ((Recipient(TEAM, Role.POST), TEAM), (Recipient(NEWS, Role.POST), NEWS))


def test_a_list_service_address_keeps_its_role():
    found = route(make_post(to="team-request@lists.example.test"), [TEAM])
    assert found.rcpts == ((Recipient(TEAM, Role.REQUEST), "team-request@lists.example.test"),)


def test_a_mailbox_of_one_list_takes_mail_sent_to_other_addresses_as_posts():
    found = route(make_post(to="undisclosed-recipients:;", extra="Return-Path: <bounce@example.com>\r\n"), [TEAM])
    assert found.rcpts == ((Recipient(TEAM, Role.POST), TEAM),) and found.mail_from == "bounce@example.com"


def test_a_shared_mailbox_refuses_mail_for_none_of_its_lists():
    found = route(make_post(to="someone@example.org"), [NEWS, TEAM])
    assert found.rcpts == () and found.problem == f"addressed to none of {NEWS}, {TEAM}"
    assert found.mail_from == "alice@example.com"


def test_pending_takes_new_uids_and_those_never_marked_done_but_not_the_highest_old_one():
    # `UID 11:*` answers 10 when nothing is above it (RFC 3501: * is the highest UID)
    assert pending([10], [], 10) == []
    assert pending([10, 11, 12], [3, 12], 10) == [3, 11, 12]


def test_a_new_uidvalidity_starts_the_folder_again():
    assert resume(Position(7, 120), 7) == Position(7, 120)
    assert resume(Position(7, 120), 8) == Position(8, 0)
    assert resume(Position(0, 0), 5) == Position(5, 0)


def test_fetches_are_bounded_by_bytes_and_a_message_over_the_limit_costs_nothing():
    sizes = {1: 10, 2: 10, 3: 500, 4: 10, 5: 25}
    assert size_batches([1, 2, 3, 4, 5], sizes, max_size=100, budget=30) == [[1, 2, 3, 4], [5]]
    assert size_batches([1], {}, max_size=100, budget=30) == [[1]]  # no size reported: fetched
    assert size_batches([1, 2], {1: 50, 2: 50}, max_size=100, budget=30) == [[1], [2]]


def test_only_a_permanent_refusal_sends_a_message_to_the_failed_folder():
    assert done_of(True, False) is Done.TAKEN and done_of(False, False) is Done.TAKEN  # stored, or had it
    assert done_of(Refused(TOO_BIG), True) is Done.FAILED
    assert done_of(Refused(TRY_LATER), False) is Done.LATER
    assert done_of(OSError("database gone"), False) is Done.LATER


def test_backoff_doubles_up_to_its_cap():
    waits, wait = [], 0.0
    for _ in range(12):
        wait = next_backoff(wait)
        waits.append(wait)
    assert waits[:4] == [1, 2, 4, 8] and waits[-1] == BACKOFF_CAP


def test_lists_naming_the_same_mailbox_share_it():
    a = MailboxConfig("imap.example.org", "lists", password_file="/p")
    b = MailboxConfig("IMAP.example.org", "lists", port=993, password_file="/q")
    c = MailboxConfig("imap.example.org", "lists", folder="Other", password_file="/p")
    boxes = group_mailboxes([(TEAM, b), (NEWS, a), ("x@lists.example.test", c)])
    assert [(m.key, m.lists) for m in boxes] == [("lists@imap.example.org:993/INBOX", (NEWS, TEAM)),
                                                ("lists@imap.example.org:993/Other", ("x@lists.example.test",))]  # fmt: skip
    assert boxes[0].config == a  # the first list's settings


@pytest.mark.parametrize(
    ("config", "problem"),
    [(MailboxConfig("imap.example.org", ""), "imap_user is not set"),
     (MailboxConfig("imap.example.org", "u"), "neither imap_password_file nor imap_password_env is set"),
     (MailboxConfig("imap.example.org", "u", tls=TlsMode.NONE, password_env="P"), "in clear to imap.example.org"),
     (MailboxConfig("imap.example.org", "u", password_env="P", failed_folder="INBOX"), "must differ"),
     (MailboxConfig("localhost", "u", tls=TlsMode.NONE, password_env="P"), None)],
)  # fmt: skip
def test_a_mailbox_that_cannot_work_says_what_to_set(config, problem):
    found = config_problem(config)
    assert found == problem if problem is None else problem in (found or "")
