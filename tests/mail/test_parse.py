"""bytes -> ParsedMessage: tolerant of malformed mail, and never a header-injecting value."""

from __future__ import annotations

import random

import pytest

from listserv.mail.message import ParsedMessage
from listserv.mail.parse import (
    content_hash,
    decode_value,
    parse_bytes,
    read_facts,
    read_message_id,
)

POST = (
    b"From: Alice Example <Alice@Example.COM>\r\n"
    b"To: team@lists.example.org\r\n"
    b"Subject: Retrospectives\r\n"
    b"Message-ID: <p1@example.com>\r\n"
    b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
    b"\r\n"
    b"How do you run yours?\r\n"
)


def facts_of(raw: bytes) -> ParsedMessage:
    return read_facts(parse_bytes(raw))


def every_text(facts: ParsedMessage) -> list[str]:
    values: list[str] = []
    for value in vars(facts).values():
        values += list(value) if isinstance(value, tuple) else [value]
    return values


def test_an_ordinary_post_is_read_completely():
    facts = facts_of(POST)
    assert facts == ParsedMessage(
        message_id="<p1@example.com>", in_reply_to="", references=(), subject="Retrospectives",
        sender="alice@example.com", sender_name="Alice Example", auto_submitted="", precedence="",
        list_ids=(), been_there=(), defects=(),
    )  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n", b"\r\nbody only\r\n", b"Subject:\r\n\r\n", b"From:\r\nMessage-ID:\r\n\r\nx",
     b"garbage without a colon\r\n\r\nbody", b"From: <>\r\n\r\n", b"\x00\x01\x02", b"From: @\r\n\r\n"],
)  # fmt: skip
def test_messages_missing_their_headers_give_empty_facts(raw):
    facts = facts_of(raw)
    assert (facts.message_id, facts.sender, facts.subject, facts.references) == ("", "", "", ())


def test_eight_bit_junk_in_headers_comes_out_as_text_that_can_be_stored():
    raw = (b"From: \"Jos\xe9 \xff\xfe\" <jose@example.com>\r\nSubject: caf\xe9 \x80\x81 na\xefve\r\n"
           b"Message-ID: <8bit@example.com>\r\nList-Id: Caf\xe9 <other.lists.example.net>\r\n"
           b"Auto-Submitted: \xe9\r\nX-BeenThere: \xff@example.com\r\n\r\nbody\r\n")  # fmt: skip
    facts = facts_of(raw)
    assert facts.sender == "jose@example.com" and facts.message_id == "<8bit@example.com>"
    assert facts.subject.startswith("caf") and "na" in facts.subject
    for text in every_text(facts):
        text.encode("utf-8")  # no lone surrogates: the database would refuse them
        assert "\r" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?x-unknown?Q?caf=E9?=", "caf\ufffd"),
        ("Re: =?x-unknown?Q?caf=E9?= and =?utf-8?q?ok=C3=A9?=", "Re: caf\ufffd and oké"),
        ("=?x-unknown?Q?caf=E9?= =?utf-8?q?ok=C3=A9?=", "caf\ufffdoké"),  # space between words is dropped
        ("=?utf-8?q?bad=FF?=", "bad\ufffd"),
        ("=?iso-8859-1?q?caf=E9?=", "café"),
        ("=?utf-8?b?Y2Fmw6k=?=", "café"),
        ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "Grüße from テスト"),
        ("plain ascii", "plain ascii"),
    ],
)
def test_encoded_words_decode_and_unknown_charsets_degrade_without_raising(subject, expected):
    facts = facts_of(b"From: a@example.com\r\nSubject: " + subject.encode() + b"\r\n\r\nx")
    assert facts.subject == expected


def test_raw_utf8_headers_are_read_as_utf8():
    raw = "From: Jörg <jörg@Bücher.example>\r\nSubject: Grüße aus Köln\r\n\r\nx".encode()
    facts = facts_of(raw)
    assert (facts.sender, facts.sender_name, facts.subject) == ("jörg@xn--bcher-kva.example", "Jörg", "Grüße aus Köln")


@pytest.mark.parametrize("subject", [b"=?\xff?q?a?=", b"=?utf-8\xe9?q?a?=", b"=?\xc3\xa9?b?YQ==?="])
def test_an_encoded_word_with_an_eight_bit_charset_name_does_not_raise(subject):
    assert facts_of(b"From: a@example.com\r\nSubject: " + subject + b"\r\n\r\nx").subject == "a"


@pytest.mark.parametrize(
    "encoded",
    ["=?utf-8?q?hi=0D=0ABcc=3A_victim=40example=2Ecom?=", "=?utf-8?b?aGkNCkJjYzogdmljdGltQGV4YW1wbGUuY29t?=",
     "=?utf-8?q?hi=0ABcc=3A_victim=40example=2Ecom?=", "=?utf-8?q?hi=0DBcc=3A_victim=40example=2Ecom?=",
     "=?utf-8?q?hi=00=0B=0C=1BBcc=3A_victim=40example=2Ecom?="],
)  # fmt: skip
def test_an_encoded_word_hiding_a_line_break_comes_out_as_a_single_line(encoded):
    facts = facts_of(b"From: a@example.com\r\nSubject: " + encoded.encode() + b"\r\n\r\nx")
    assert facts.subject.startswith("hi") and facts.subject.endswith("Bcc: victim@example.com")
    assert not any(ord(c) < 32 or ord(c) == 127 for c in facts.subject)


def test_an_encoded_display_name_cannot_inject_either():
    raw = b"From: =?utf-8?q?Eve=0D=0ABcc=3A_x=40example=2Ecom?= <eve@example.com>\r\n\r\nx"
    facts = facts_of(raw)
    assert facts.sender == "eve@example.com" and "\n" not in facts.sender_name and "\r" not in facts.sender_name


def test_a_very_long_header_value_is_decoded_only_up_to_a_bound():
    facts = facts_of(b"From: a@example.com\r\nSubject: " + b"=?utf-8?q?x?= " * 100_000 + b"\r\n\r\nx")
    assert 0 < len(facts.subject) <= 4096


@pytest.mark.parametrize(
    ("headers", "sender", "name"),
    [
        (b"From: Bob <BOB@Example.org>", "bob@example.org", "Bob"),
        (b"From: bob@example.org (Bob)", "bob@example.org", "Bob"),
        (b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.de>", "jorg@example.de", "Jörg"),
        (b"From: unlisted-recipients:;\r\nSender: Carol <carol@example.net>", "carol@example.net", "Carol"),
        (b"To: unlisted-recipients:;\r\nFrom: Dan <dan@example.com>", "dan@example.com", "Dan"),
        (b"From: undisclosed-recipients:;", "", ""),
        (b"From: a@example.com, b@example.com", "a@example.com", ""),
        (b"From: no address here", "", ""),
        (b"From: <>\r\nSender: <bounce@example.com>", "bounce@example.com", ""),
        (b"From: =?utf-8?q?a=40b.example?=", "", ""),  # an encoded "address" is no address
        (b"From: Alice <alice@B\xc3\xbccher.example>", "alice@xn--bcher-kva.example", "Alice"),
    ],
)
def test_the_sender_is_the_normalised_from_address_falling_back_to_sender(headers, sender, name):
    facts = facts_of(headers + b"\r\nSubject: x\r\n\r\nbody\r\n")
    assert (facts.sender, facts.sender_name) == (sender, name)


def test_unlisted_recipients_group_syntax_does_not_break_parsing():
    raw = b"From: a@example.com\r\nTo: unlisted-recipients:;\r\nCc: undisclosed-recipients: ;\r\nSubject: hi\r\n\r\nx"
    assert facts_of(raw).subject == "hi"


@pytest.mark.parametrize(
    ("headers", "message_id", "in_reply_to", "references"),
    [
        (b"Message-ID: <a@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <c@x> <b@x>", "<a@x>", "<b@x>", ("<c@x>", "<b@x>")),
        (b"Message-ID:   <a@x>  (comment)", "<a@x>", "", ()),
        (b"Message-ID: a@x", "", "", ()),  # no angle brackets: not an id we can trust
        (b"Message-ID: <a b@x>", "", "", ()),
        (b"In-Reply-To: Your message of Sunday <b@x>", "", "<b@x>", ()),
        (b"References: <c@x>\r\n\t<d@x>\r\n <c@x>", "", "", ("<c@x>", "<d@x>")),  # folded, deduplicated
        (b"References: <c@x><d@x>", "", "", ("<c@x>", "<d@x>")),
        (b"Message-ID: <first@x>\r\nMessage-ID: <second@x>", "<first@x>", "", ()),
    ],
)
def test_threading_ids_are_read_with_their_angle_brackets(headers, message_id, in_reply_to, references):
    facts = facts_of(headers + b"\r\nFrom: a@example.com\r\n\r\nx")
    assert (facts.message_id, facts.in_reply_to, facts.references) == (message_id, in_reply_to, references)


def test_a_huge_references_header_is_read_in_order_without_duplicates():
    ids = [b"<ref%d@example.com>" % i for i in range(20_000)]
    raw = b"From: a@example.com\r\nReferences: " + b"\r\n ".join(ids + ids[:100]) + b"\r\n\r\nx"
    facts = facts_of(raw)
    assert len(facts.references) == 20_000
    assert facts.references[0] == "<ref0@example.com>" and facts.references[-1] == "<ref19999@example.com>"


def test_loop_markers_and_automatic_headers_are_read_normalised():
    raw = (b"From: a@example.com\r\nAuto-Submitted: Auto-Replied\r\nPrecedence: BULK\r\n"
           b"List-Id: Team <TEAM.lists.example.org>\r\nList-Id: <other.example.net>\r\n"
           b"X-BeenThere: Team@Lists.Example.org\r\nX-BeenThere: <other@example.net>\r\n\r\nx")  # fmt: skip
    facts = facts_of(raw)
    assert facts.auto_submitted == "auto-replied" and facts.precedence == "bulk"
    assert facts.list_ids == ("team <team.lists.example.org>", "<other.example.net>")
    assert facts.been_there == ("team@lists.example.org", "other@example.net")


def test_structural_defects_are_recorded_by_name():
    raw = b"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"
    assert "NoBoundaryInMultipartDefect" in facts_of(raw).defects


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (POST, "<p1@example.com>"),
        (b"Message-ID: <only@x>\r\n\r\n", "<only@x>"),
        (b"message-id:\r\n <folded@x>\r\n\r\nbody", "<folded@x>"),
        (b"From: a@example.com\r\n\r\nMessage-ID: <in-body@x>\r\n", ""),
        (b"Message-ID: not-an-id\r\n\r\n", ""),
        (b"", ""),
        (b"Message-ID: <8bit\xe9@x>\r\n\r\n", "<8bit\ufffd@x>"),  # storable text, as read_facts reads it
    ],
)
def test_read_message_id_reads_only_the_header_block(raw, expected):
    assert read_message_id(raw) == expected


@pytest.mark.parametrize("raw", [POST, b"Message-ID: <8bit\xe9\xff@x>\r\n\r\n", b"Message-ID: x <a@x> <b@x>\r\n\r\n"])
def test_read_message_id_agrees_with_read_facts(raw):
    assert read_message_id(raw) == facts_of(raw).message_id


class TestContentHash:
    def test_the_same_message_over_lf_and_crlf_hashes_the_same(self):
        assert content_hash(POST) == content_hash(POST.replace(b"\r\n", b"\n"))

    @pytest.mark.parametrize(
        "trace",
        [b"Received: from mx.example.com by relay.example.net; Sun, 29 Nov 2026 10:00:01 +0000\r\n",
         b"Received: from mx.example.com\r\n\tby relay.example.net\r\n\t; Sun, 29 Nov 2026\r\n",
         b"Return-Path: <alice@example.com>\r\nDelivered-To: team@lists.example.org\r\n",
         b"X-Original-To: team@lists.example.org\r\nAuthentication-Results: mx; dkim=pass\r\n",
         b"ARC-Seal: i=1; a=rsa-sha256; cv=none\r\nReceived-SPF: pass\r\nX-Spam-Status: No\r\n"],
    )  # fmt: skip
    def test_trace_headers_added_on_the_way_do_not_change_the_hash(self, trace):
        assert content_hash(trace + POST) == content_hash(POST)
        assert content_hash((trace + POST).replace(b"\r\n", b"\n")) == content_hash(POST)

    @pytest.mark.parametrize(
        "changed",
        [POST.replace(b"yours?", b"mine?"), POST + b"\r\n", POST.replace(b"Subject: Retro", b"Subject: retro"),
         POST.replace(b"\r\n\r\n", b"\r\nX-Extra: 1\r\n\r\n"), POST.replace(b"How", b"Received: How")],
    )  # fmt: skip
    def test_a_different_message_hashes_differently(self, changed):
        assert content_hash(changed) != content_hash(POST)

    def test_a_trace_header_in_the_body_is_content(self):
        assert content_hash(POST + b"Received: by me\r\n") != content_hash(POST)


@pytest.mark.parametrize("raw", [b"=?", "=?utf-8?q?".encode(), b"=?utf-8?b?###?=", b"=?x?y?z?=", b"=?\xff?q?a?="])
def test_decode_value_never_raises(raw):
    assert "\n" not in decode_value(raw.decode("ascii", "surrogateescape"))


def test_message_id_read_fast_agrees_with_the_parser() -> None:
    """read_message_id scans a plain header block itself; it must give the parser's answer,
    and leave anything odd (bare CR, a line that is not a field, a leading blank line) to it."""
    from email import policy
    from email.parser import BytesHeaderParser

    from listserv.mail.parse import first_message_id, header_value, read_message_id

    def parsed(raw: bytes) -> str:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        return first_message_id(header_value(headers, "Message-ID"))

    bases = [b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody", b"From x\nMessage-Id:\n <a@b>\n\nb",
             b"Subject: x\nmessage-id: <c@d> <e@f>\nX: y\n\n", b"X: 1\r\n\tcont\r\nMessage-ID:\r\n\t<z@y>\r\n"]  # fmt: skip
    inserts = [b"\r", b"\n", b" ", b"\t", b":", b"<", b">", b"a", b"@", b"\xe9", b"From ", b"Message-ID:", b"\n\n"]
    rng = random.Random(5322)
    for _ in range(20_000):
        raw = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw) + 1)
            raw[at:at] = rng.choice(inserts)
        assert read_message_id(bytes(raw)) == parsed(bytes(raw)), bytes(raw)
