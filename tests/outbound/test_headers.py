"""List headers (RFC 2369, RFC 2919), the subject prefix and the Reply-To policy."""

from __future__ import annotations

import re
from email.message import Message

import pytest

from listserv.mail.message import ListInfo
from listserv.mail.parse import decode_value, parse_bytes
from listserv.outbound.decorate import serialize
from listserv.outbound.headers import (
    apply_list_headers,
    encode_value,
    list_id,
    prefix_subject,
)

TEAM = ListInfo(id=1, address="team@lists.example.org", name="Team", subject_prefix="[team]")
POST = (
    b"From: Alice <alice@example.com>\r\nTo: team@lists.example.org\r\nSubject: Hello\r\n"
    b"Message-ID: <p1@example.com>\r\n\r\nbody\r\n"
)

LIST_HEADERS = ("List-Id", "List-Post", "List-Help", "List-Unsubscribe", "List-Owner", "Precedence", "X-BeenThere")


def decorated(raw: bytes = POST, lst: ListInfo = TEAM) -> Message:
    """apply_list_headers, then through the wire and back, as a member's client would see it."""
    message = parse_bytes(raw)
    apply_list_headers(message, lst)
    return parse_bytes(serialize(message))


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("x", "[team] x"),
        ("Re: x", "[team] Re: x"),
        ("[team] x", "[team] x"),
        ("[team] [team] x", "[team] x"),
        ("[TEAM] x", "[team] x"),
        ("Re: [team] x", "[team] Re: x"),
        ("[team] Re: x", "[team] Re: x"),
        ("Re: [team] Re: x", "[team] Re: x"),
        ("Re: Re: Re: x", "[team] Re: x"),
        ("[team] Re: [team] Re: [team] x", "[team] Re: x"),
        ("RE: AW: x", "[team] Re: x"),
        ("AW: Re: SV: VS: Antw: x", "[team] Re: x"),
        ("Re[2]: x", "[team] Re: x"),
        ("Re^3: x", "[team] Re: x"),
        ("RE : x", "[team] Re: x"),
        ("re:x", "[team] Re: x"),
        ("Fwd: x", "[team] Fwd: x"),
        ("Fw: x", "[team] Fw: x"),
        ("Re: Fwd: x", "[team] Re: Fwd: x"),
        ("Reply: x", "[team] Reply: x"),
        ("Aware: x", "[team] Aware: x"),
        ("Talking about [team] naming", "[team] Talking about naming"),
        ("", "[team]"),
        ("   ", "[team]"),
        ("[team]", "[team]"),
        ("Re: [team]", "[team] Re:"),
        ("café", "[team] café"),
        ("Re: [team] Grüße", "[team] Re: Grüße"),
        ("hi\r\nBcc: victim@example.com", "[team] hi Bcc: victim@example.com"),
    ],
)
def test_the_prefix_is_added_once_with_reply_markers_collapsed(subject, expected):
    assert prefix_subject(subject, "[team]") == expected


@pytest.mark.parametrize("prefix", ["[team]", "(a.b*c)", "team:", "[tëam]"])
@pytest.mark.parametrize("subject", ["x", "Re: x", "RE: AW: x", "Fwd: Re: x", "", "Re: {p} Re: {p} x"])
def test_prefixing_an_already_prefixed_subject_changes_nothing(prefix, subject):
    once = prefix_subject(subject.format(p=prefix), prefix)
    assert prefix_subject(once, prefix) == once
    assert once.count(prefix) == 1


def test_an_empty_prefix_leaves_the_subject_alone():
    assert prefix_subject("Re: [team] x", "") == "Re: [team] x"


def test_a_prefix_with_regex_characters_is_matched_literally():
    assert prefix_subject("[a.b] x", "[a+b]") == "[a+b] [a.b] x"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Subject: Hello", "[team] Hello"),
        (b"Subject: Re: [team] Re: Hello", "[team] Re: Hello"),
        (b"Subject: =?utf-8?q?Re=3A_=5Bteam=5D_caf=C3=A9?=", "[team] Re: café"),
        (b"Subject: =?iso-8859-1?q?Gr=FC=DFe?=", "[team] Grüße"),
        ("Subject: Grüße".encode(), "[team] Grüße"),  # raw UTF-8 (RFC 6532)
        (b"Subject: =?x-unknown?q?abc?=", "[team] abc"),
        (b"Subject: =?utf-8?q?hi=0D=0ABcc=3A_victim=40example=2Ecom?=", "[team] hi Bcc: victim@example.com"),
        (b"Subject:", "[team]"),
        (b"X-No-Subject: 1", "[team]"),
    ],
)
def test_the_subject_members_see_is_prefixed_and_decodes_to_one_line(header, expected):
    raw = POST.replace(b"Subject: Hello", header)
    message = decorated(raw)
    assert message.get_all("Subject") and len(message.get_all("Subject")) == 1
    assert decode_value(message["Subject"]) == expected


def test_a_long_non_ascii_subject_is_written_as_short_encoded_words():
    subject = "Die heiße Zypernsonne quälte Max und Victoria ja böse auf dem Weg bis zur Küste " * 8
    message = parse_bytes(POST.replace(b"Subject: Hello", b"Subject: " + subject.encode()))
    apply_list_headers(message, TEAM)
    wire = serialize(message)
    field = re.search(rb"\r\nSubject:(.*?)\r\n(?! )", wire, re.DOTALL)
    assert field is not None
    words = re.findall(rb"=\?[^?]+\?[qQbB]\?[^?]*\?=", field.group(1))
    assert words and all(len(word) <= 75 for word in words)  # RFC 2047 section 2
    assert all(len(line) <= 78 for line in (b"Subject:" + field.group(1)).split(b"\r\n"))
    assert decode_value(parse_bytes(wire)["Subject"]) == "[team] " + subject.strip()


def test_without_a_prefix_the_subject_is_left_exactly_as_it_was():
    raw = POST.replace(b"Subject: Hello", b"Subject: =?utf-8?q?Re=3A_caf=C3=A9?=")
    message = decorated(raw, ListInfo(id=1, address="team@lists.example.org", name="Team"))
    assert message["Subject"] == "=?utf-8?q?Re=3A_caf=C3=A9?="


def test_encode_value_keeps_ascii_as_is_and_encodes_the_rest():
    assert encode_value("plain") == "plain"
    assert encode_value("a\r\nb") == "a b"
    assert encode_value("café").startswith("=?utf-8?")


class TestReplyTo:
    SENDERS = POST.replace(b"Subject:", b"Reply-To: alice-private@example.com\r\nSubject:")

    def test_leave_keeps_the_senders_reply_to(self):
        assert decorated(self.SENDERS)["Reply-To"] == "alice-private@example.com"

    def test_leave_adds_none_when_the_sender_set_none(self):
        assert decorated(POST)["Reply-To"] is None

    @pytest.mark.parametrize("raw", [POST, SENDERS])
    def test_list_replaces_any_reply_to_with_the_list(self, raw):
        lst = ListInfo(id=1, address="team@lists.example.org", name="Team", reply_to="list")
        assert decorated(raw, lst).get_all("Reply-To") == ["team@lists.example.org"]

    @pytest.mark.parametrize("raw", [POST, SENDERS])
    def test_explicit_sets_the_configured_address(self, raw):
        lst = ListInfo(id=1, address="team@lists.example.org", name="Team", reply_to="explicit",
                       reply_to_address="discuss@example.org")  # fmt: skip
        assert decorated(raw, lst).get_all("Reply-To") == ["discuss@example.org"]

    def test_explicit_without_an_address_leaves_the_senders(self):
        lst = ListInfo(id=1, address="team@lists.example.org", name="Team", reply_to="explicit")
        assert decorated(self.SENDERS, lst).get_all("Reply-To") == ["alice-private@example.com"]

    def test_an_explicit_address_cannot_inject_a_header(self):
        lst = ListInfo(id=1, address="team@lists.example.org", name="Team", reply_to="explicit",
                       reply_to_address="a@example.org\r\nBcc: victim@example.com")  # fmt: skip
        message = decorated(POST, lst)
        assert message["Bcc"] is None and "\n" not in message["Reply-To"]


def test_list_headers_follow_rfc_2369_and_2919():
    lst = ListInfo(id=1, address="team@lists.example.org", name="Team", archive_url="https://lists.example.org/team/")
    message = decorated(POST, lst)
    assert message["List-Id"] == '"Team" <team.lists.example.org>'
    assert message["List-Post"] == "<mailto:team@lists.example.org>"
    assert message["List-Help"] == "<mailto:team-request@lists.example.org?subject=help>"
    assert message["List-Unsubscribe"] == "<mailto:team-request@lists.example.org?subject=unsubscribe>"
    assert message["List-Owner"] == "<mailto:team-owner@lists.example.org>"
    assert message["List-Archive"] == "<https://lists.example.org/team/>"
    assert message["Precedence"] == "list"
    assert message["X-BeenThere"] == "team@lists.example.org"
    for name in LIST_HEADERS + ("List-Archive",):
        assert len(message.get_all(name)) == 1, name


def test_list_archive_is_left_out_when_there_is_no_archive():
    assert decorated()["List-Archive"] is None


def test_the_list_id_is_a_dot_atom_made_of_the_address():
    assert list_id(TEAM) == "<team.lists.example.org>"
    assert re.fullmatch(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+>", list_id(TEAM))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('The "A" Team', "\"The 'A' Team\" <team.lists.example.org>"),
        ("Back\\slash", '"Back/slash" <team.lists.example.org>'),
        ("Line\r\nBreak", '"Line Break" <team.lists.example.org>'),
        ("Équipe", "<team.lists.example.org>"),
    ],
)
def test_the_list_name_in_list_id_is_always_a_valid_quoted_string(name, expected):
    lst = ListInfo(id=1, address="team@lists.example.org", name=name)
    assert decorated(POST, lst)["List-Id"] == expected


def test_list_headers_from_another_list_are_replaced_by_ours():
    other = (
        b"List-Id: Other <other.lists.example.net>\r\nList-Post: <mailto:other@lists.example.net>\r\n"
        b"List-Help: <mailto:other-request@lists.example.net?subject=help>\r\n"
        b"List-Unsubscribe: <https://lists.example.net/u/other>, <mailto:other-leave@lists.example.net>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"List-Subscribe: <mailto:other-join@lists.example.net>\r\nList-Archive: <https://lists.example.net/other>\r\n"
        b"List-Owner: <mailto:other-owner@lists.example.net>\r\nPrecedence: bulk\r\n"
        b"Return-Path: <other-bounces@lists.example.net>\r\nDelivered-To: alice@example.com\r\n"
        b"X-Original-To: other@lists.example.net\r\nErrors-To: other-bounces@lists.example.net\r\n"
        b"X-BeenThere: other@lists.example.net\r\n"
    )
    message = decorated(other + POST)
    text = "\n".join(f"{name}: {value}" for name, value in message.items())
    assert "lists.example.net" not in text.replace("X-BeenThere: other@lists.example.net", "")
    for name in LIST_HEADERS:
        assert len(message.get_all(name)) == (2 if name == "X-BeenThere" else 1), name
    for name in ("List-Unsubscribe-Post", "List-Subscribe", "List-Archive", "Return-Path", "Delivered-To",
                 "X-Original-To", "Errors-To"):  # fmt: skip
        assert message[name] is None, name
    # the other list's loop marker stays: it stops that list redistributing our copy
    assert message.get_all("X-BeenThere") == ["other@lists.example.net", "team@lists.example.org"]


def test_threading_and_origin_headers_are_kept():
    raw = POST.replace(b"\r\n\r\n", b"\r\nIn-Reply-To: <p0@example.com>\r\nReferences: <p0@example.com>\r\n\r\n")
    message = decorated(raw)
    assert message["Message-ID"] == "<p1@example.com>"
    assert message["In-Reply-To"] == "<p0@example.com>" and message["References"] == "<p0@example.com>"
    assert message["From"] == "Alice <alice@example.com>" and message["To"] == "team@lists.example.org"
