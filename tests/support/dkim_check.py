"""What two independent DKIM verifiers say of a message, its key looked up in the test's DNS server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dkim

from listserv.dns import Resolver
from listserv.inbound.dnskeys import KeyLookup
from support.dnsmasq import DnsServer

VERIFIER = Path(__file__).resolve().parent / "dkim_verify.pl"


def dkimpy_verifies(raw: bytes, dns_server: DnsServer) -> bool:
    """dkimpy's verdict on the first signature, its key looked up in the test's DNS server."""
    return bool(dkim.verify(raw, dnsfunc=KeyLookup(Resolver(dns_server.address, 2.0))))


def mail_dkim_says(raw: bytes, dns_server: DnsServer) -> str:
    """Perl's Mail::DKIM (independent of dkimpy) on the same message and DNS: its output."""
    host, port = dns_server.address.split(":")
    done = subprocess.run(["perl", str(VERIFIER), host, port], input=raw, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode() + "\n(Mail::DKIM: apt-get install -y libmail-dkim-perl)"
    return done.stdout.decode()
