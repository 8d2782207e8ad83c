"""DMARC records, policy discovery and the two rewrites, as values (no database, DNS given as a dict)."""

from __future__ import annotations

import ast
from email.header import decode_header, make_header
from email.utils import getaddresses
from pathlib import Path

import pytest

from listserv.dmarc.discover import AuthorPolicy, discover_policy, organisational_domain
from listserv.dmarc.policy import AuthorReply, DmarcAction, DmarcPolicy, Mitigation, needs_mitigation
from listserv.dmarc.record import Disposition, DmarcRecord, dmarc_texts, parse_record
from listserv.dmarc.rewrite import author_label, list_from, mitigated
from listserv.dns import Found, TxtAnswer
from listserv.mail.message import ListInfo
from listserv.outbound.decorate import serialize
from support.mail import make_post, parse

REJECT, QUARANTINE, NONE = Disposition.REJECT, Disposition.QUARANTINE, Disposition.NONE
LIST = ListInfo(1, "team@lists.example.test", "Team Practice")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=reject", DmarcRecord(REJECT)),
        ("v=DMARC1;p=quarantine;sp=none", DmarcRecord(QUARANTINE, NONE)),
        ("v=DMARC1 ; p = Reject ; ", DmarcRecord(REJECT)),
        ("v=DMARC1; pct=50; rua=mailto:d@example.com; p=quarantine; fo=1", DmarcRecord(QUARANTINE)),
        ("v=DMARC1; p=none; p=reject", DmarcRecord(NONE)),  # the first of a repeated tag
        ("v=DMARC1; p=none; sp=reject; x-unknown=1; =junk; bad tag=1", DmarcRecord(NONE, REJECT)),
        ("p=reject; v=DMARC1", None),  # the version tag must come first
        ("v=DMARC2; p=reject", None),
        ("v=dmarc1; p=reject", None),  # the version is case-sensitive
        ("v=DMARC1p=reject", None),
        ("v=DMARC1", None),  # no p=
        ("v=DMARC1; p=bogus", None),
        ("v=DMARC1; p=reject; sp=bogus", None),  # an invalid sp= spoils the record (RFC 7489 6.6.3)
        ("", None),
        ("v=spf1 -all", None),
    ],
)
def test_records_are_parsed_strictly(text, expected):
    assert parse_record(text) == expected


def test_other_txt_records_at_the_name_are_discarded():
    assert dmarc_texts(["v=spf1 -all", "v=DMARC1; p=none", "hello"]) == ["v=DMARC1; p=none"]
    record = DmarcRecord(NONE, REJECT)
    assert record.applied(subdomain=False) is NONE and record.applied(subdomain=True) is REJECT
    assert DmarcRecord(QUARANTINE).applied(subdomain=True) is QUARANTINE


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("Mail.Example.CO.UK.", "example.co.uk"),
        ("example.test", "example.test"),  # an unknown top-level domain counts as a public suffix
        ("co.uk", None),
        ("com", None),
    ],
)
def test_the_public_suffix_list_finds_the_organisational_domain(domain, org):
    assert organisational_domain(domain) == org


class Zone:
    """A real implementation of the lookup seam over a dict; counts the names asked."""

    def __init__(self, records: dict[str, TxtAnswer | list[str]]) -> None:
        self.records, self.asked = records, []

    def __call__(self, name: str) -> TxtAnswer:
        self.asked.append(name)
        found = self.records.get(name)
        if isinstance(found, TxtAnswer):
            return found
        return TxtAnswer(Found.RECORDS, tuple(t.encode() for t in found)) if found else TxtAnswer(Found.NONE)


TIMEOUT = TxtAnswer(Found.ERROR, reason="DNS timeout looking up it")


@pytest.mark.parametrize(
    ("records", "domain", "expected", "asked"),
    [
        ({"_dmarc.example.com": ["v=DMARC1; p=reject"]}, "example.com",
         AuthorPolicy("example.com", REJECT, found_at="_dmarc.example.com"), 1),
        ({"_dmarc.example.com": ["v=DMARC1; p=none; sp=quarantine"]}, "mail.example.com",
         AuthorPolicy("mail.example.com", QUARANTINE, found_at="_dmarc.example.com"), 2),
        ({"_dmarc.example.co.uk": ["v=DMARC1; p=reject"]}, "a.mail.example.co.uk",
         AuthorPolicy("a.mail.example.co.uk", REJECT, found_at="_dmarc.example.co.uk"), 2),
        ({"_dmarc.mail.example.com": ["v=DMARC1; p=none"], "_dmarc.example.com": ["v=DMARC1; p=reject"]},
         "mail.example.com", AuthorPolicy("mail.example.com", NONE, found_at="_dmarc.mail.example.com"), 1),
        ({"_dmarc.mail.example.com": ["v=spf1 -all"], "_dmarc.example.com": ["v=DMARC1; p=reject"]},
         "mail.example.com", AuthorPolicy("mail.example.com", REJECT, found_at="_dmarc.example.com"), 2),
        ({"_dmarc.example.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]}, "example.com",
         AuthorPolicy("example.com"), 1),  # two records: no DMARC
        ({}, "example.com", AuthorPolicy("example.com"), 1),  # no parent to ask
        ({}, "co.uk", AuthorPolicy("co.uk"), 1),  # a public suffix has no organisational domain
        ({"_dmarc.example.com": TIMEOUT}, "example.com",
         AuthorPolicy("example.com", known=False, reason=TIMEOUT.reason), 1),
        ({"_dmarc.mail.example.com": TIMEOUT, "_dmarc.example.com": ["v=DMARC1; p=none"]}, "mail.example.com",
         AuthorPolicy("mail.example.com", known=False, reason=TIMEOUT.reason), 1),  # no second wait
        ({"_dmarc.example.com": TIMEOUT}, "mail.example.com",
         AuthorPolicy("mail.example.com", known=False, reason=TIMEOUT.reason), 2),
    ],
)  # fmt: skip
def test_policy_discovery_asks_the_from_domain_then_its_organisational_domain(records, domain, expected, asked):
    zone = Zone(records)
    assert discover_policy(zone, domain) == expected
    assert len(zone.asked) == asked


STRICT = AuthorPolicy("example.com", REJECT)
QUARANTINED = AuthorPolicy("example.com", QUARANTINE)
LAX = AuthorPolicy("example.com", NONE)
UNKNOWN = AuthorPolicy("example.com", known=False)


@pytest.mark.parametrize(
    ("mode", "author", "expected"),
    [
        (Mitigation.POLICY, STRICT, True),
        (Mitigation.POLICY, QUARANTINED, True),
        (Mitigation.POLICY, LAX, False),
        (Mitigation.POLICY, UNKNOWN, True),  # the safe side
        (Mitigation.ALWAYS, None, True),
        (Mitigation.ALWAYS, LAX, True),
        (Mitigation.NEVER, STRICT, False),
        (Mitigation.NEVER, UNKNOWN, False),
    ],
)
def test_whether_to_mitigate(mode, author, expected):
    assert needs_mitigation(DmarcPolicy(mitigation=mode), author) is expected


def phrase_of(value: str) -> tuple[str, str]:
    [(name, address)] = getaddresses([value])
    return str(make_header(decode_header(name))), address


@pytest.mark.parametrize(
    ("name", "address", "phrase"),
    [
        ("Ana Lopez", "ana@example.com", "Ana Lopez via Team Practice"),
        ("", "ana.lopez@example.com", "ana.lopez via Team Practice"),
        ('"Lopez, Ana" (AL)', "ana@example.com", 'Lopez, Ana" (AL) via Team Practice'),
        ("José Müller", "jose@example.com", "José Müller via Team Practice"),
        ("李小龙", "li@example.com", "李小龙 via Team Practice"),
        ("boss@bank.example <evil@x>", "e@example.com", "boss@bank.example <evil@x> via Team Practice"),
        ("Ana\r\nBcc: victim@example.com", "ana@example.com", "Ana Bcc: victim@example.com via Team Practice"),
    ],
)
def test_the_rewritten_from_names_the_author_and_is_the_list_address(name, address, phrase):
    value = list_from(author_label(name, address), LIST)
    assert "\n" not in value.replace("\r\n ", "") and value.isascii()
    assert phrase_of(value.replace("\r\n ", " ")) == (phrase, "team@lists.example.test")


def test_a_long_name_is_cut_and_still_encoded_in_short_words():
    value = list_from(author_label("Ñ" * 400, "a@example.com"), LIST)
    assert all(len(word) <= 75 for word in value.split())
    assert phrase_of(value.replace("\r\n ", " "))[0] == "Ñ" * 120 + " via Team Practice"


THREAD = "In-Reply-To: <p0@example.com>\r\nReferences: <pp@example.com> <p0@example.com>\r\n"


def post(sender: str = "Ana Lopez <ana@example.com>", extra: str = THREAD) -> bytes:
    return make_post(sender, extra=extra)


def test_munge_keeps_the_author_reachable_by_reply_to_and_threads_whole():
    message = mitigated(parse(post()), LIST, DmarcAction.MUNGE, AuthorReply.REPLY_TO)
    assert message["From"] == "Ana Lopez via Team Practice <team@lists.example.test>"
    assert message["X-Original-From"] == message["Reply-To"] == "Ana Lopez <ana@example.com>"
    assert message["Cc"] is None
    assert (message["Message-ID"], message["In-Reply-To"]) == ("<p1@example.com>", "<p0@example.com>")
    assert message["References"] == "<pp@example.com> <p0@example.com>"


@pytest.mark.parametrize(
    ("reply_to", "reply", "extra", "expected_reply_to", "expected_cc"),
    [
        ("list", AuthorReply.REPLY_TO, "", None, "Ana <ana@example.com>"),
        ("explicit", AuthorReply.REPLY_TO, "", None, "Ana <ana@example.com>"),
        ("leave", AuthorReply.REPLY_TO, "Reply-To: <other@example.com>\r\n", "<other@example.com>", None),
        ("leave", AuthorReply.CC, "Cc: b@example.org\r\n", None, "b@example.org, Ana <ana@example.com>"),
        ("leave", AuthorReply.CC, "Cc: ANA@Example.com\r\n", None, "ANA@Example.com"),  # no second copy
    ],
)
def test_cc_when_the_list_sets_reply_to_or_asks_for_it(reply_to, reply, extra, expected_reply_to, expected_cc):
    lst = ListInfo(1, "team@lists.example.test", "Team Practice", reply_to=reply_to)
    message = mitigated(parse(post("Ana <ana@example.com>", extra)), lst, DmarcAction.MUNGE, reply)
    assert (message["Reply-To"], message["Cc"]) == (expected_reply_to, expected_cc)


def test_an_eight_bit_or_encoded_from_is_kept_as_it_came():
    raw = make_post("=?utf-8?q?Jos=C3=A9?= <jose@example.com>")
    message = mitigated(parse(raw), LIST, DmarcAction.MUNGE, AuthorReply.REPLY_TO)
    assert message["Reply-To"] == "=?utf-8?q?Jos=C3=A9?= <jose@example.com>"
    assert phrase_of(message["From"])[0] == "José via Team Practice"
    eight_bit = make_post("José <jose@example.com>")
    sent = serialize(mitigated(parse(eight_bit), LIST, DmarcAction.MUNGE, AuthorReply.REPLY_TO))
    assert "Reply-To: José <jose@example.com>\r\n".encode() in sent
    assert "X-Original-From: José <jose@example.com>\r\n".encode() in sent
    cc = make_post("José <jose@example.com>", subject="Café", extra="Cc: Zoë <zoe@example.org>\r\n")
    sent = serialize(mitigated(parse(cc), LIST, DmarcAction.WRAP, AuthorReply.CC))
    assert "Cc: Zoë <zoe@example.org>, José <jose@example.com>\r\n".encode() in sent
    assert sent.count("Subject: Café\r\n".encode()) == 2  # the wrapper's and the original's


def test_wrap_attaches_the_original_whole_under_a_message_from_the_list():
    raw = post(extra=THREAD + "Cc: b@example.org\r\n")
    outer = parse(serialize(mitigated(parse(raw), LIST, DmarcAction.WRAP, AuthorReply.REPLY_TO)))
    assert outer.get_content_type() == "multipart/mixed"
    assert outer["From"] == "Ana Lopez via Team Practice <team@lists.example.test>"
    assert outer["Reply-To"] == "Ana Lopez <ana@example.com>"
    for name in ("Subject", "Message-ID", "In-Reply-To", "References", "Date", "To", "Cc"):
        assert outer[name] == parse(raw)[name]
    note, attached = outer.get_payload()
    assert "Ana Lopez <ana@example.com> wrote" in note.get_payload(decode=True).decode()
    assert attached.get_content_type() == "message/rfc822"
    [inner] = attached.get_payload()
    assert inner.items() == parse(raw).items()
    assert inner.get_payload() == parse(raw).get_payload()


PURE = ("record.py", "policy.py", "rewrite.py")
FORBIDDEN = ("sqlalchemy", "listserv.store", "listserv.dns", "listserv.work", "socket", "smtplib", "dns")


@pytest.mark.parametrize("name", PURE)
def test_the_pure_modules_import_no_io(name):
    path = Path(__file__).resolve().parents[2] / "listserv" / "dmarc" / name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)}


def test_an_alias_stands_in_for_the_author_in_reply_to_or_cc():
    alias = "team-author+tok@lists.example.test"
    message = mitigated(parse(post()), LIST, DmarcAction.MUNGE, AuthorReply.ALIAS, alias)
    assert message["Reply-To"] == f"Ana Lopez via Team Practice <{alias}>"
    assert message["X-Original-From"] == "Ana Lopez <ana@example.com>"
    lst = ListInfo(1, "team@lists.example.test", "Team Practice", reply_to="list")
    wrapped = mitigated(parse(post()), lst, DmarcAction.WRAP, AuthorReply.ALIAS, alias)
    assert wrapped["Reply-To"] is None and wrapped["Cc"] == f"Ana Lopez via Team Practice <{alias}>"
