"""The public ARC test suite (ValiMail arc_test_suite, in LISTSERV_CORPORA), one test per case.

Every case's DNS TXT records are served by a real dnsmasq on loopback and read through
listserv.dns, as in production. Validation: our chain status must equal the case's `cv`.
Signing: `seal` with the case's key, headers, time and Authentication-Results must produce the
expected tag sets, and the sealed message must validate through the same DNS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import authres
import pytest
import yaml
from dkim.util import parse_tag_value

from listserv.dns import Resolver
from listserv.inbound.arc_chain import ChainStatus, validate_chain
from listserv.inbound.dnskeys import KeyLookup
from listserv.outbound.arc import seal
from support.corpora import corpora
from support.dnsmasq import DnsServer

SUITE = "arc_test_suite"


def cases(name: str) -> list[Any]:
    """(scenario, case) per test, named by the case, read at collection when the corpora are there."""
    path = Path(os.environ.get("LISTSERV_CORPORA", "/nonexistent"), SUITE, name)
    if not path.is_file():
        return [pytest.param(None, None, id="corpora-missing")]
    with path.open(encoding="utf-8") as stream:
        scenarios = list(yaml.safe_load_all(stream))
    return [pytest.param(s, c, id=n) for s in scenarios for n, c in s["tests"].items()]


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    """One dnsmasq for the module, restarted only when a scenario's records differ (10 restarts, not 376)."""
    server = DnsServer()
    yield server
    server.close()


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def served(dns_server: DnsServer, scenario: dict[str, Any]) -> KeyLookup:
    """The scenario's records (folded in the YAML; a zone file would join the lines) on dnsmasq."""
    records = {name: value.replace("\n", "") for name, value in (scenario.get("txt-records") or {}).items()}
    if dns_server.records != {name: [value] for name, value in records.items()}:
        dns_server.serve(records)
    return KeyLookup(Resolver(dns_server.address, 1.0))


def expected_cv(case: dict[str, Any]) -> ChainStatus:
    """The suite's cv. Three cases have an empty one: the draft's answer when an ARC-Seal says cv=fail
    (dkimpy returns None); RFC 8617 5.2 (steps 2 and 3C) says the chain then fails."""
    return ChainStatus(str(case["cv"]).strip().lower() or "fail")


@pytest.mark.parametrize(("scenario", "case"), cases("arc-draft-validation-tests.yml"))
def test_validation_agrees_with_the_suite(scenario, case, dns_server):
    corpora(SUITE)
    if case is None:
        pytest.skip("the ARC suite's validation file is missing")
    chain = validate_chain(crlf(case["message"]), served(dns_server, scenario))
    assert chain.status is expected_cv(case), chain.reason


def tags(value: str) -> dict[str, str]:
    parsed = parse_tag_value("".join(value.split()).encode())
    return {k.decode(): v.decode() for k, v in parsed.items()}


def sealed_headers(message: bytes) -> dict[str, str]:
    """The ARC-* headers the seal prepended, unfolded, by lower-case name."""
    head = message.split(b"\r\n\r\n", 1)[0].decode()
    fields = head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n")
    found: dict[str, str] = {}
    for field in fields:
        name, _, value = field.partition(":")
        if name.lower().startswith("arc-"):
            found.setdefault(name.lower(), value.strip())
    return found


def results_of(aar: str) -> tuple[str, set[str]]:
    """The instance and the results of an ARC-Authentication-Results, comments dropped."""
    instance, _, rest = aar.partition(";")
    header = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + " ".join(rest.split()))
    return "".join(instance.split()), {str(r) for r in header.results}


@pytest.mark.parametrize(("scenario", "case"), cases("arc-draft-sign-tests.yml"))
def test_sealing_matches_the_suite_and_round_trips(scenario, case, dns_server):
    corpora(SUITE)
    if case is None:
        pytest.skip("the ARC suite's signing file is missing")
    message = crlf(case["message"])
    out = seal(message, scenario["domain"], scenario["sel"], scenario["privatekey"].encode(), case["srv-id"],
               case["t"], headers=case["sig-headers"].split(":"))  # fmt: skip
    if not case["AS"].strip():
        assert out == message  # a chain that must not be extended gets no new set
        return
    ours = sealed_headers(out)
    want_as, got_as = tags(case["AS"]), tags(ours["arc-seal"])
    assert {k: v for k, v in got_as.items() if k != "b"} == {k: v for k, v in want_as.items() if k != "b"}
    want_ams, got_ams = tags(case["AMS"]), tags(ours["arc-message-signature"])
    assert {k: v for k, v in got_ams.items() if k != "b"} == {k: v for k, v in want_ams.items() if k != "b"}
    assert results_of(ours["arc-authentication-results"]) == results_of(case["AAR"])
    chain = validate_chain(out, served(dns_server, scenario))
    assert chain.newest_valid, chain.reason
    assert chain.status is (ChainStatus.FAIL if got_as["cv"] == "fail" else ChainStatus.PASS), chain.reason
