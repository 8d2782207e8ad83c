"""ARC sealing of our own posts, verified through a real DNS server on loopback; and what the
combined authentication facts count as a failure."""

from __future__ import annotations

import pytest

from listserv.dns import Resolver
from listserv.inbound.arc_chain import ChainStatus, validate_chain
from listserv.inbound.authres import SenderAuth, Verdict
from listserv.inbound.dnskeys import KeyLookup
from listserv.outbound.arc import SealError, seal
from support.clock import DEFAULT_START as NOW
from support.dkim_keys import SIGNING_KEY, SIGNING_PUBLIC
from support.mail import make_post

KEY = {"s1._domainkey.lists.example.test": f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"}
DECORATED = make_post(
    extra="List-Id: Team <team.lists.example.test>\r\nList-Post: <mailto:team@lists.example.test>\r\n"
    "Authentication-Results: mx.lists.example.test; spf=pass smtp.mailfrom=example.com;\r\n"
    "  dkim=pass (2048-bit key) header.d=example.com; arc=fail\r\n"
)
PER_MEMBER = (
    b"List-Unsubscribe: <https://lists.example.test/unsubscribe/1/TOKEN>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
)


def sealed(raw: bytes = DECORATED, **options) -> bytes:
    options.setdefault("chain", "none")
    return seal(raw, "lists.example.test", "s1", SIGNING_KEY, "mx.lists.example.test", NOW, **options)


def chain_of(raw: bytes, dns_server) -> ChainStatus:
    return validate_chain(raw, KeyLookup(Resolver(dns_server.address, 1.0))).status


def test_a_sealed_post_validates_with_per_member_headers_added_after(dns_server):
    dns_server.serve(KEY)
    out = sealed(results=("dkim=pass header.d=example.com",))
    head = out.split(b"\r\n\r\n")[0].decode().replace("\r\n ", " ")
    assert "list-id" in head and "list-post" in head and "list-unsubscribe" not in head.lower()
    assert chain_of(out, dns_server) is ChainStatus.PASS
    assert chain_of(PER_MEMBER + out, dns_server) is ChainStatus.PASS
    assert chain_of(out.replace(b"Subject: Hello", b"Subject: Changed"), dns_server) is ChainStatus.FAIL


def test_the_seal_carries_the_mtas_results_ours_and_our_chain_status():
    out = sealed(results=("dkim=pass header.d=example.com",)).decode()
    aar = out[out.index("ARC-Authentication-Results:") : out.index("\r\n", out.index("dkim=pass header.d=example.com"))]
    assert "i=1; mx.lists.example.test" in aar and "arc=none" in aar and "arc=fail" not in aar
    assert "spf=pass smtp.mailfrom=example.com" in aar and "(2048-bit key)" not in aar  # comments dropped
    assert "cv=none" in out


def test_a_chain_we_could_not_check_is_not_extended_and_a_message_without_from_is_refused():
    assert sealed(chain="temperror") == DECORATED
    once = sealed(DECORATED.replace(b"; arc=fail", b""))
    assert sealed(once, chain=None) == once  # ARC sets, and no arc= result: an unknown chain
    assert sealed(DECORATED, chain=None).count(b"cv=none") == 1  # no ARC set yet: the MTA's arc=fail is moot
    assert sealed(once, chain="pass").count(b"ARC-Seal: i=2") == 1
    with pytest.raises(SealError, match="without a From"):
        sealed(DECORATED.replace(b"From:", b"X-From:"))


@pytest.mark.parametrize(
    ("verdict", "arc", "failing"),
    [
        (Verdict(failed=("dmarc=fail header.from=example.com",)), "pass", True),  # never excused
        (Verdict(failed=("dkim=fail header.d=example.com",)), "none", True),
        (Verdict(failed=("dkim=fail header.d=example.com",)), "pass", False),  # a forwarder sealed it
        (Verdict(("dkim=pass header.d=example.com",), ("dkim=fail header.d=example.com",)), "none", False),
        (Verdict(), "fail", False),
    ],
)
def test_what_counts_as_an_authentication_failure(verdict, arc, failing):
    assert bool(SenderAuth("example.com", verdict, arc).failures) is failing


def test_our_own_dkim_results_and_the_chain_status_go_into_the_seal():
    auth = SenderAuth(
        "example.com",
        Verdict(("dkim=pass header.d=example.com (verified here)", "dmarc=pass header.from=example.com")),
        "pass",
    )
    assert auth.seal_inputs() == ("pass", ("dkim=pass header.d=example.com",))


def test_no_dns_answer_is_a_temporary_error_and_absurd_chains_fail_unread(dns_server):
    out = sealed()
    dns_server.stop()
    chain = validate_chain(out, KeyLookup(Resolver(dns_server.address, 0.5)))
    assert chain.status is ChainStatus.TEMPERROR and "timeout" in chain.reason.lower()
    fake = b"ARC-Seal: i=51; cv=pass; a=rsa-sha256; d=x.example; s=s; b=AAAA\r\n" + DECORATED
    assert validate_chain(fake, KeyLookup(Resolver(dns_server.address, 0.5))).reason == "more than 50 ARC sets"
    garbage = b"ARC-Seal: i=1; cv=none; b=\r\nARC-Message-Signature: i=1; h=\r\n" + DECORATED
    assert validate_chain(garbage, KeyLookup(Resolver(dns_server.address, 0.5))).status is ChainStatus.FAIL
