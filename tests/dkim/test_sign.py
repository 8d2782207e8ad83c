"""The signer's own parts against third-party references: the relaxed canonicalisation vectors
(flanker's DKIM set), dkimpy's header parser on real list mail, and dkimpy's verifier."""

from __future__ import annotations

import re

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim import rfc822_parse

from listserv.dkim.keys import public_record
from listserv.dkim.sign import RELAXED, BatchSigner, DomainKey, header_fields, split_message
from support.corpora import corpora

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def test_relaxed_canonicalisation_matches_every_vector():
    folder = corpora("flanker_fixtures", "messages", "dkim")
    cases = sorted(p for p in folder.glob("email.*"))
    assert len(cases) >= 20
    for case in cases:
        expected = folder / f"relaxed.expected.{case.suffix[1:]}"
        if not expected.exists():
            continue
        raw = crlf(case.read_bytes())
        head, body = split_message(raw if b"\r\n\r\n" in raw else raw + b"\r\n")
        canonical = b"".join(n + b":" + v for n, v in RELAXED.canonicalize_headers(header_fields(head)))
        assert canonical + b"\r\n" + RELAXED.canonicalize_body(body) == expected.read_bytes(), case.name


def test_header_fields_reads_real_mail_as_dkimpy_does():
    folder = corpora("notmuch_test_corpora", "test", "corpora")
    checked = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = crlf(path.read_bytes())
        head = split_message(raw)[0]
        try:
            reference = rfc822_parse(head)[0]
        except dkim.MessageFormatError:
            continue
        assert header_fields(head) == [list(field) for field in reference], path
        checked += 1
    assert checked > 200


@pytest.mark.parametrize("folded", [False, True])
def test_copies_signed_in_one_batch_each_verify_alone(folded: bool):
    record = public_record(KEY).encode()
    signer = BatchSigner(DomainKey("lists.example.test", "s1", KEY), b"From: a@example.com\r\n\r\nHi  \r\n", 1700000000)
    for member in ("alice", "bob"):
        unsubscribe = f"List-Unsubscribe: <https://x.test/u/{member}>,\r\n <mailto:l@x.test>\r\n" if folded else \
            f"List-Unsubscribe: <https://x.test/u/{member}>\r\n"  # fmt: skip
        copy = f"From: a@example.com\r\nTo:  team@lists.example.test\r\n{unsubscribe}\r\nHi  \r\n".encode()
        signed = signer.sign(copy)
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
        assert not dkim.verify(signed.replace(member.encode(), b"mallory"), dnsfunc=lambda name, timeout=5: record)
