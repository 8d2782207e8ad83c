"""Envelope recipients -> which list and which of its addresses; member address checks."""

from __future__ import annotations

import pytest

from listserv.mail.addresses import address_problem, normalize_address, parse_recipient
from listserv.mail.message import Recipient, Role

LISTS = frozenset({"team@lists.example.org", "dev-owner@lists.example.org", "dev@lists.example.org"})
TEAM = "team@lists.example.org"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("team@lists.example.org", Recipient(TEAM, Role.POST)),
        ("team-owner@lists.example.org", Recipient(TEAM, Role.OWNER)),
        ("team-request@lists.example.org", Recipient(TEAM, Role.REQUEST)),
        ("team-bounces@lists.example.org", Recipient(TEAM, Role.BOUNCES)),
        ("team-bounces+alice=example.com@lists.example.org", Recipient(TEAM, Role.BOUNCES, "alice=example.com")),
        ("team-request+token123@lists.example.org", Recipient(TEAM, Role.REQUEST, "token123")),
        ("<team@lists.example.org>", Recipient(TEAM, Role.POST)),
        ("  team@lists.example.org  ", Recipient(TEAM, Role.POST)),
        # a list whose own name ends in a role suffix is the list, not a role of "dev"
        ("dev-owner@lists.example.org", Recipient("dev-owner@lists.example.org", Role.POST)),
        ("dev-owner-owner@lists.example.org", Recipient("dev-owner@lists.example.org", Role.OWNER)),
        ("dev-request@lists.example.org", Recipient("dev@lists.example.org", Role.REQUEST)),
    ],
)
def test_each_address_of_a_list_is_recognised_with_its_role(address, expected):
    assert parse_recipient(address, LISTS) == expected


@pytest.mark.parametrize(
    "address",
    [
        "TEAM@LISTS.EXAMPLE.ORG",
        "Team@Lists.Example.Org",
        "team@lists.example.org.",
        "Team-Owner@lists.example.org",
    ],
)
def test_recipients_are_matched_case_insensitively(address):
    recipient = parse_recipient(address, LISTS)
    assert recipient is not None and recipient.list_address == TEAM


def test_a_verp_tag_keeps_its_case_because_it_may_carry_a_token():
    recipient = parse_recipient("Team-Bounces+AbC_xYz-123@Lists.Example.org", LISTS)
    assert recipient == Recipient(TEAM, Role.BOUNCES, "AbC_xYz-123")


@pytest.mark.parametrize(
    "address",
    [
        "nobody@lists.example.org",
        "team@other.example.org",
        "team@lists.example.org.evil.example",
        "team-admin@lists.example.org",
        "team-bounce@lists.example.org",
        "team+tag@lists.example.org",  # the posting address takes no tag
        "",
        "team",
        "@lists.example.org",
        "lists.example.org",
        "teаm@lists.example.org",  # Cyrillic "а"
    ],
)
def test_addresses_that_are_not_ours_are_refused(address):
    assert parse_recipient(address, LISTS) is None


@pytest.mark.parametrize(
    "address",
    [
        "victim@example.net",
        "team@lists.example.org@evil.example",
        "victim@evil.example@lists.example.org",
        "@lists.example.org:victim@evil.example",  # source route
        "team%evil.example@lists.example.org",  # percent hack
        "victim%evil.example@lists.example.org",
        "evil.example!victim@lists.example.org",  # bang path
        '"team@lists.example.org"@evil.example',
        "team@[127.0.0.1]",
    ],
)
def test_relay_attempts_through_our_domain_are_refused(address):
    assert parse_recipient(address, LISTS) is None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("<alice@example.com>", "alice@example.com"),
        ("  < alice@example.com >  ", "alice@example.com"),
        ("alice@example.com.", "alice@example.com"),
        ("alice@Bücher.example", "alice@xn--bcher-kva.example"),
        ("alice@BÜCHER.example", "alice@xn--bcher-kva.example"),
        ("alice@xn--bcher-kva.example", "alice@xn--bcher-kva.example"),
        ("Ünïcode@example.com", "ünïcode@example.com"),
        ("user@with@two.example", "user@with@two.example"),
        ("no-at-sign", "no-at-sign"),
        ("", ""),
    ],
)
def test_addresses_are_normalised_for_comparison(address, expected):
    assert normalize_address(address) == expected


def test_normalising_twice_changes_nothing():
    for address in ("Alice@Bücher.Example.", "<BOB@EXAMPLE.ORG>", "x@[127.0.0.1]"):
        once = normalize_address(address)
        assert normalize_address(once) == once


def test_a_domain_idna_cannot_encode_is_kept_lower_cased_rather_than_raising():
    long_label = "ü" * 70
    assert normalize_address(f"a@{long_label.upper()}.example") == f"a@{long_label}.example"


@pytest.mark.parametrize(
    "address",
    [
        "alice@example.com",
        "alice.smith+lists@example.co.uk",
        "o'brien@example.ie",
        "a_b-c=d@sub.example.org",
        "ünïcode@example.com",
        "x@xn--bcher-kva.example",
        "a" * 64 + "@example.com",
    ],
)
def test_good_addresses_have_no_problem(address):
    assert address_problem(address) is None


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("", "not an address"),
        ("alice", "not an address"),
        ("@example.com", "not an address"),
        ("alice@", "not an address"),
        ("a" * 65 + "@example.com", "too long"),
        ("a@" + "b" * 250 + ".com", "too long"),
        ("alice smith@example.com", "unsupported character"),
        ("alice,bob@example.com", "unsupported character"),
        ("alice<x>@example.com", "unsupported character"),
        ("alice\r\nbcc@example.com", "unsupported character"),
        ("ü\r\nBcc: victim@example.com", "unsupported character"),
        ("ü b@example.com", "unsupported character"),
        ("ü\u00a0b@example.com", "unsupported character"),
        ("ü<b>@example.com", "unsupported character"),
        (".alice@example.com", "misplaced dot"),
        ("alice.@example.com", "misplaced dot"),
        ("al..ice@example.com", "misplaced dot"),
        ("alice@localhost", "invalid domain"),
        ("alice@example..com", "invalid domain"),
        ("alice@-example.com", "invalid domain"),
        ("alice@exa_mple.com", "invalid domain"),
        ("alice@example.com.", "invalid domain"),
        ("alice@" + "b" * 64 + ".com", "invalid domain"),
    ],
)
def test_bad_addresses_are_explained(address, problem):
    found = address_problem(address)
    assert found is not None and problem in found
