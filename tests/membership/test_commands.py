"""Commands mailed to LIST-request: the first command word in the subject or body, else help."""

from __future__ import annotations

import pytest

from listserv.mail.parse import parse_bytes
from listserv.membership.commands import MAX_LINES, Command, first_text, read_command


@pytest.mark.parametrize(
    ("subject", "body", "command"),
    [
        ("unsubscribe", "", Command.UNSUBSCRIBE),
        ("Unsubscribe", "", Command.UNSUBSCRIBE),
        ("UNSUBSCRIBE me please", "", Command.UNSUBSCRIBE),
        ("Re: unsubscribe", "", Command.UNSUBSCRIBE),
        ("please unsubscribe", "", Command.UNSUBSCRIBE),
        ("leave", "", Command.UNSUBSCRIBE),
        ("signoff", "", Command.UNSUBSCRIBE),
        ("help", "", Command.HELP),
        ("info", "", Command.INFO),
        ("subscribe", "", Command.SUBSCRIBE),
        ("help: unsubscribe?", "", Command.HELP),  # the first command word wins
        ("", "unsubscribe", Command.UNSUBSCRIBE),
        ("", "\n\n  unsubscribe  \n", Command.UNSUBSCRIBE),
        ("", "Unsubscribe:\nthanks", Command.UNSUBSCRIBE),
        ("question", "help\nunsubscribe", Command.HELP),
        ("unsubscribe", "help", Command.UNSUBSCRIBE),  # the subject is read first
        ("Hello", "I would like to unsubscribe", Command.HELP),  # only the first two words of a line
    ],
)
def test_the_first_command_word_in_the_subject_then_the_body_is_the_command(subject, body, command):
    assert read_command(subject, body) is command


@pytest.mark.parametrize(
    "body",
    [
        "> unsubscribe\n> leave",
        ">unsubscribe",
        "   > unsubscribe",
        "Thanks!\n-- \nunsubscribe",
        "Thanks!\n--\nLeave a message after the tone",
        "Thanks!\n-- \nJohn Smith\nHelp desk, ACME",
        "Hi,\n\nOn Monday Bob wrote:\n> To leave, send unsubscribe\n>> help\n-- \nsig",
    ],
)
def test_quoted_text_and_signatures_are_not_read_as_commands(body):
    assert read_command("Re: your message", body) is Command.HELP


def test_command_words_further_down_the_body_than_the_lines_read_are_ignored():
    body = "\n".join(["chatter"] * MAX_LINES + ["unsubscribe"])
    assert read_command("", body) is Command.HELP


@pytest.mark.parametrize(("subject", "body"), [("", ""), ("subscribed", ""), ("what is this", "hello\nthere"),
                                                ("unsubscribed", "leaving"), ("hélp", "ünsubscribe")])  # fmt: skip
def test_anything_unknown_gets_help(subject, body):
    assert read_command(subject, body) is Command.HELP


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"Subject: x\r\n\r\nunsubscribe\r\n", "unsubscribe\r\n"),
        (b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n",
         "café\r\n"),
        (b"Content-Type: text/plain; charset=x-unknown\r\n\r\nunsubscribe \xff\r\n", "unsubscribe \ufffd\r\n"),
        (b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\nhelp\r\n', "help\r\n"),
        (b'Content-Type: multipart/alternative; boundary="a"\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n'
         b"--a\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\ndW5zdWJzY3JpYmU=\r\n--a--\r\n",
         "unsubscribe"),
        (b"Content-Type: text/html\r\n\r\n<p>unsubscribe</p>\r\n", ""),
    ],
    ids=["plain", "latin-1", "unknown charset", "NUL in charset", "plain alternative", "html only"],
)  # fmt: skip
def test_first_text_reads_the_first_plain_text_part_in_any_charset_without_raising(raw, text):
    assert first_text(parse_bytes(raw)) == text
