"""The other pure pieces of moderation: edits, Authentication-Results, the notice, the facts
read from a message; and DKIM verification with keys served by a real DNS server on loopback."""

from __future__ import annotations

import pytest

from listserv.dns import Resolver
from listserv.inbound import authcheck
from listserv.inbound.authres import (
    Verdict,
    aligned,
    auth_refusal,
    parse_authentication_results,
    verdict_of,
)
from listserv.inbound.dnskeys import KeyLookup
from listserv.mail.message import ListInfo
from listserv.mail.parse import parse_bytes
from listserv.mail.text import excerpt, message_text
from listserv.moderation.edit import apply_edit
from listserv.moderation.facts import read_content
from listserv.moderation.mail import (
    attached_message,
    build_facilitator_mail,
    moderate_address,
)
from support.clients import dkim_signed
from support.clock import DEFAULT_START as NOW
from support.dkim_keys import OTHER_PUBLIC, SIGNING_PUBLIC
from support.mail import make_post

TEAM = ListInfo(id=1, address="team@lists.example.org", name="Team")
ALTERNATIVE_WITH_ATTACHMENT = (
    b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n"
    b"--M\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\nold text\r\n"
    b"--A\r\nContent-Type: text/html\r\n\r\n<p>old text</p>\r\n--A--\r\n--M\r\nContent-Type: image/png\r\n"
    b"Content-Disposition: attachment; filename=a.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--M--\r\n"
)


def leaves(message):
    return [p for p in message.walk() if not p.is_multipart()]


def test_an_edit_replaces_a_plain_message_body():
    edited = apply_edit(parse_bytes(make_post(body="old\n")), "new text\n")
    assert edited.get_content_type() == "text/plain" and edited.get_payload(decode=True) == b"new text\n"
    assert edited["Message-ID"] == "<p1@example.com>"


def test_an_edit_replaces_the_whole_alternative_and_keeps_the_attachment():
    edited = apply_edit(parse_bytes(ALTERNATIVE_WITH_ATTACHMENT), "caf\u00e9 au lait\n")
    parts = leaves(edited)
    assert [p.get_content_type() for p in parts] == ["text/plain", "image/png"]
    assert parts[0].get_payload(decode=True).decode("utf-8") == "caf\u00e9 au lait\n"
    assert b"old text" not in edited.as_bytes()


def test_an_edit_of_an_html_only_message_becomes_plain_text():
    html = b"From: a@example.com\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>old</p>\r\n"
    edited = apply_edit(parse_bytes(html), "new\n")
    assert edited.get_content_type() == "text/plain" and edited.get_payload(decode=True) == b"new\n"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("mx.example.org; dkim=pass header.d=example.com header.s=s1; spf=pass smtp.mailfrom=example.com",
         [("dkim", "pass", "header.d", "example.com"), ("spf", "pass", "smtp.mailfrom", "example.com")]),
        ("mx.example.org 1; dmarc=fail (p=reject dis=none) header.from=example.com",
         [("dmarc", "fail", "header.from", "example.com")]),
        ("mx.example.org; dkim=fail reason=\"signature verification failed\" header.d=example.com",
         [("dkim", "fail", "header.d", "example.com")]),
        ("mx.example.org; none", []),
        ("", []),
        (";;;===", []),
    ],
)  # fmt: skip
def test_authentication_results_are_parsed_leniently(header, expected):
    results = parse_authentication_results(header)
    assert [(r.method, r.result, k, r.get(k)) for r, (_, _, k, _) in zip(results, expected)] == expected
    assert len(results) == len(expected)


def test_only_failures_and_trusted_passes_about_the_domain_count():
    headers = ["mx.ours; dkim=pass header.d=fac.example.org", "evil.example; dmarc=pass header.from=fac.example.org",
               "mx.ours; dkim=fail header.d=other.example"]  # fmt: skip
    assert verdict_of(headers, "fac.example.org", ("mx.ours",)).passed == ("dkim=pass header.d=fac.example.org",)
    assert verdict_of(headers, "fac.example.org", ()) == Verdict()
    failing = verdict_of(["anyone; dmarc=fail header.from=fac.example.org"], "fac.example.org", ())
    assert failing.fails and auth_refusal(failing, "check", "fac.example.org")
    assert auth_refusal(failing, "off", "fac.example.org") is None
    assert auth_refusal(Verdict(), "check", "fac.example.org") is None
    assert "no passing" in auth_refusal(Verdict(), "require", "fac.example.org")
    assert not Verdict(passed=("dkim=pass",), failed=("dkim=fail",)).fails  # one good signature is enough
    assert aligned("mail.fac.example.org", "fac.example.org") and not aligned("example.org.evil", "example.org")


def test_the_notice_carries_the_token_address_and_the_original_attached():
    original = parse_bytes(make_post(subject="Held one"))
    address = moderate_address(TEAM, "Tok_en-123456789012345")
    raw = build_facilitator_mail(TEAM, "fran@fac.example.org", "Held for review: Held one", "Reply to approve.\n", NOW,
                                 reply_to=address, original=attached_message(original))  # fmt: skip
    notice = parse_bytes(raw)
    assert address == "team-moderate+Tok_en-123456789012345@lists.example.org"
    assert address in notice["Reply-To"] and address in notice["From"]
    assert notice["Auto-Submitted"] == "auto-generated" and notice["X-BeenThere"] == "team-owner@lists.example.org"
    assert [p.get_content_type() for p in notice.get_payload()] == ["text/plain", "message/rfc822"]
    assert notice.get_payload(1).get_payload(0)["Subject"] == "Held one"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_the_facts_read_from_a_message():
    raw = make_post(subject="", extra="Cc: a@x.example, b@x.example, A@X.example\r\nX-Spam-Flag: YES\r\n"
                    "Authentication-Results: mx; dmarc=fail header.from=example.com\r\n")  # fmt: skip
    content = read_content(parse_bytes(raw), len(raw), "alice@example.com", ())
    assert (content.size, content.recipients, content.has_subject, content.spam_flag) == (len(raw), 3, False, True)
    assert content.auth_failures == ("dmarc=fail header.from=example.com",)
    assert ("x-spam-flag", "YES") in content.headers and "retrospectives" in content.body


def test_the_excerpt_is_the_beginning_of_the_text_marked_when_cut():
    assert excerpt("a\nb\n", max_lines=5) == "a\nb"
    assert excerpt("\n".join(str(i) for i in range(100)), max_lines=3) == "0\n1\n2\n[...]"
    html = parse_bytes(
        b"Subject: s\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>all</b></p><blockquote>q</blockquote>"
    )
    assert message_text(html) == "Hello all\nq"


def test_dkim_signatures_for_the_domain_are_verified_with_keys_from_real_dns(dns_server):
    signed = dkim_signed(make_post("fran@fac.example.org"), "fac.example.org")

    def verdict(raw: bytes, domain: str = "fac.example.org") -> Verdict:
        return authcheck.dkim_verdict(raw, domain, KeyLookup(Resolver(dns_server.address, 1.0)))

    assert verdict(signed) == Verdict()  # no key published: no verdict
    dns_server.serve({"s1._domainkey.fac.example.org": f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"})
    assert verdict(signed).passed
    assert verdict(signed.replace(b"retrospectives", b"RETROSPECTIVES")).fails
    assert verdict(signed, "elsewhere.example") == Verdict()  # not that domain's signature
    dns_server.serve({"s1._domainkey.fac.example.org": f"v=DKIM1; k=rsa; p={OTHER_PUBLIC}"})
    assert verdict(signed).fails
    dns_server.stop()
    assert verdict(signed) == Verdict()  # no answer: a temporary error, neither pass nor fail
