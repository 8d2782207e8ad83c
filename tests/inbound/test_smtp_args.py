"""MAIL FROM and RCPT TO arguments read fast give aiosmtpd's own answer, or are left to it."""

from __future__ import annotations

import random

import pytest
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

from listserv.inbound.smtp_args import plain_address

AIOSMTPD = SMTP(Sink())


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("<a@b.example>", ("a@b.example", "")),
        ("<a.b+c@d-e.example> SIZE=100 BODY=8BITMIME", ("a.b+c@d-e.example", "SIZE=100 BODY=8BITMIME")),
        ("<a@b.example>  SIZE=1 ", ("a@b.example", "SIZE=1 ")),
        ("<a@b.example>\tSMTPUTF8", ("a@b.example", "SMTPUTF8")),
        ("<Ab@B.Example>", ("Ab@B.Example", "")),
    ],
)
def test_plain_arguments_are_read_fast_and_as_aiosmtpd_reads_them(arg: str, expected: tuple[str, str]) -> None:
    assert plain_address(arg) == expected == AIOSMTPD._getaddr(arg)


@pytest.mark.parametrize(
    "arg",
    ["<>", '<"q"@b>', "<a@[192.0.2.1]>", "<@relay:a@b>", "<é@b.example>", "<a@b.example> (comment) X=1",
     "<a@b.example>x", " <a@b>", "<a..b@c>", "<.a@c>", "<a@b.>", "<a@-b.c>", "a@b.example", "<a@b.example>\r"],
)  # fmt: skip
def test_anything_unusual_is_left_to_aiosmtpd(arg: str) -> None:
    assert plain_address(arg) is None


def test_random_arguments_agree_with_aiosmtpd() -> None:
    pieces = ["a", "Z", "9", ".", "-", "+", "_", '"', "(", ")", " ", "\t", "é", "@", "[", "]", "\\", "=", "!", "~"]
    rng = random.Random(5321)
    fast = 0

    def some(most: int) -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))

    for _ in range(100_000):
        arg = f"<{some(4)}@{some(5)}>{some(8)}"
        read = plain_address(arg)
        if read is not None:
            fast += 1
            assert read == AIOSMTPD._getaddr(arg), arg
    assert fast > 50  # the comparison covered arguments of the fast kind
