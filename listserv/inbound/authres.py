"""Authentication-Results (RFC 8601) and what they say about one domain. Pure.

Only the receiving MTA's own header is evidence: a sender can write any
Authentication-Results header it likes into its message. So a pass counts only
from an authserv-id the operator named as trusted; a failure counts from any
header (a forged failure can only get the forger's own mail refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

COMMENT = re.compile(r"\([^()]*\)")
PROPERTY = re.compile(r'([A-Za-z0-9_.\-/]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')
FAILING = {"dkim": ("fail",), "dmarc": ("fail",)}
VERIFIED_HERE = " (verified here)"  # marks the results of our own DKIM verification


@dataclass(frozen=True)
class AuthResult:
    authserv_id: str
    method: str  # dkim, dmarc, spf, arc, ...
    result: str  # pass, fail, none, neutral, temperror, permerror, policy, ...
    properties: tuple[tuple[str, str], ...]  # ("header.d", "example.com"), ("reason", "...")

    def get(self, name: str) -> str:
        return next((v for k, v in self.properties if k == name), "")

    def __str__(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.properties if k.startswith(("header.", "smtp.")))
        return f"{self.method}={self.result}" + (f" {shown}" if shown else "")


def parse_authentication_results(value: str) -> tuple[AuthResult, ...]:
    """Every method=result in one header value; malformed parts are skipped, never raised on."""
    text = value
    for _ in range(5):  # nested comments
        text = COMMENT.sub(" ", text)
    parts = [p.strip() for p in text.replace("\r", " ").replace("\n", " ").split(";")]
    if not parts or not parts[0]:
        return ()
    authserv_id = parts[0].split()[0].lower() if parts[0].split() else ""
    found = []
    for part in parts[1:]:
        pairs = [(k.lower(), v.strip('"')) for k, v in PROPERTY.findall(part)]
        if not pairs:
            continue
        method, result = pairs[0]
        found.append(AuthResult(authserv_id, method.split("/")[0], result.lower(), tuple(pairs[1:])))
    return tuple(found)


def aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment: the same domain, or one is a subdomain of the other."""
    signer, domain = signer.lower().strip(".").lstrip("@"), domain.lower().strip(".")
    if "@" in signer:
        signer = signer.rpartition("@")[2]
    return bool(signer) and (signer == domain or signer.endswith("." + domain) or domain.endswith("." + signer))


def about(result: AuthResult, domain: str) -> bool:
    """Does this result speak for the domain (DKIM: its signer; DMARC: its From domain)?"""
    if result.method == "dkim":
        return aligned(result.get("header.d") or result.get("header.i"), domain)
    if result.method == "dmarc":
        return aligned(result.get("header.from"), domain)
    return False


@dataclass(frozen=True)
class Verdict:
    passed: tuple[str, ...] = ()  # evidence that the domain sent it
    failed: tuple[str, ...] = ()  # evidence that it did not

    def __add__(self, other: Verdict) -> Verdict:
        return Verdict(self.passed + other.passed, self.failed + other.failed)

    @property
    def fails(self) -> bool:
        """A DMARC failure, or DKIM failures for the domain and no DKIM pass for it."""
        return any(f.startswith("dmarc=") for f in self.failed) or bool(self.failed and not self.passed)


def verdict_of(headers: Iterable[str], domain: str, trusted_ids: Sequence[str]) -> Verdict:
    """What the Authentication-Results headers say about mail from domain."""
    passed, failed = [], []
    for value in headers:
        for result in parse_authentication_results(value):
            if not about(result, domain):
                continue
            if result.result == "pass" and result.authserv_id in trusted_ids:
                passed.append(str(result))
            elif result.result in FAILING.get(result.method, ()):
                if not trusted_ids or result.authserv_id in trusted_ids:
                    failed.append(str(result))
    return Verdict(tuple(passed), tuple(failed))


def dmarc_failures(headers: Iterable[str], domain: str, trusted_ids: Sequence[str]) -> tuple[str, ...]:
    """DMARC failures for a post's From domain (the suspected-spam rule)."""
    verdict = verdict_of(headers, domain, trusted_ids)
    return tuple(f for f in verdict.failed if f.startswith("dmarc="))


def trusted_ids_of(setting: str) -> tuple[str, ...]:
    return tuple(x.strip().lower() for x in setting.split(",") if x.strip())


def auth_refusal(verdict: Verdict, mode: str, domain: str) -> str | None:
    """Why a facilitator's reply is refused under moderation_auth = mode, or None.

    check: refused when DKIM or DMARC fails for the facilitator's domain;
    require: also refused unless something passed for it.
    """
    if mode == "off":
        return None
    if verdict.fails:
        return f"sender authentication failed for {domain} ({', '.join(verdict.failed[:3])})"
    if mode == "require" and not verdict.passed:
        return f"no passing DKIM or DMARC result for {domain}"
    return None


@dataclass(frozen=True)
class SenderAuth:
    """What we know of a message's From domain: a trusted MTA's results and our own checks."""

    domain: str = ""
    verdict: Verdict = Verdict()  # trusted Authentication-Results and our DKIM verification, for the domain
    arc: str = "none"  # our ARC chain validation: pass, fail, none, temperror
    spf: str = ""  # a trusted authserv-id's spf= result ("" when none said)
    dns_error: str = ""  # a key lookup got no answer: DKIM and ARC results may be missing

    @property
    def failures(self) -> tuple[str, ...]:
        """Evidence against the domain: a DMARC failure, or DKIM failures for it with no DKIM pass
        that no passing ARC chain explains (a forwarder that sealed what it changed)."""
        if any(f.startswith("dmarc=") for f in self.verdict.failed):
            return self.verdict.failed
        if self.verdict.fails and self.arc != "pass":
            return self.verdict.failed
        return ()

    def seal_inputs(self) -> tuple[str, tuple[str, ...]]:
        """What ARC sealing (outbound/arc.py `seal`) takes from us: the chain status as received and
        our own DKIM results, e.g. ("pass", ("dkim=pass header.d=example.org",))."""
        mine = [r for r in self.verdict.passed + self.verdict.failed if r.endswith(VERIFIED_HERE)]
        return self.arc, tuple(r.removesuffix(VERIFIED_HERE) for r in mine)

    def __str__(self) -> str:
        dkim = "pass" if any(p.startswith("dkim=") for p in self.verdict.passed) else (
            "fail" if any(f.startswith("dkim=") for f in self.verdict.failed) else "none")  # fmt: skip
        dmarc = "fail" if any(f.startswith("dmarc=") for f in self.verdict.failed) else (
            "pass" if any(p.startswith("dmarc=") for p in self.verdict.passed) else "none")  # fmt: skip
        return f"dkim={dkim} dmarc={dmarc} arc={self.arc} spf={self.spf or 'none'}" + (
            " dns=temperror" if self.dns_error else "")  # fmt: skip


def spf_result(headers: Iterable[str], trusted_ids: Sequence[str]) -> str:
    """The spf= result of the first trusted Authentication-Results that has one."""
    for value in headers:
        for result in parse_authentication_results(value):
            if result.method == "spf" and result.authserv_id in trusted_ids:
                return result.result
    return ""
