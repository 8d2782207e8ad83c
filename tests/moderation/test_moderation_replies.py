"""parse_reply: the verb in a facilitator's reply, whatever the client did to it."""

from __future__ import annotations

from email.message import Message

import pytest

from listserv.mail.text import html_to_text
from listserv.moderation.approve import (
    ReplyCommand,
    Verb,
    own_lines,
    parse_reply,
    read_reply_command,
)
from support.clients import (
    apple_mail_reply,
    gmail_reply,
    mutt_reply,
    outlook_html_reply,
    outlook_plain_reply,
    plain_reply,
)
from support.mail import parse

NOTICE = parse(
    b"From: Team moderation <team-moderate+abcdefghijklmnopqrstuvwxyz@lists.example.test>\r\n"
    b"Reply-To: Team moderation <team-moderate+abcdefghijklmnopqrstuvwxyz@lists.example.test>\r\n"
    b"To: fran@fac.example.org\r\nSubject: Held for review: A question\r\nMessage-ID: <n1@lists.example.test>\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    b"A message to Team is waiting for your review.\r\n\r\nFrom:     olga@outside.example\r\n"
    b"Subject:  A question\r\nHeld because:\r\n  - olga@outside.example is not a member of the list\r\n\r\n"
    b'Reply to this mail to approve it: an empty reply is enough, or "approve".\r\n'
    b'Or start your reply with "approve always", "reject" and a reason, "discard", or "edit".\r\n\r\n'
    b"----- the beginning of the message -----\r\nreject this, approve that\r\n-- \r\nOlga\r\n"
)
CLIENTS = {"gmail": gmail_reply, "outlook-html": outlook_html_reply, "outlook-plain": outlook_plain_reply,
           "apple-mail": apple_mail_reply, "mutt": mutt_reply, "plain": plain_reply}  # fmt: skip


def reply(client: str, text: str) -> Message:
    return parse(CLIENTS[client](NOTICE, "fran@fac.example.org", text))


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ReplyCommand(Verb.APPROVE)),
        ("approve", ReplyCommand(Verb.APPROVE)),
        ("Approve.", ReplyCommand(Verb.APPROVE)),
        ("APPROVE ALWAYS", ReplyCommand(Verb.APPROVE_ALWAYS)),
        ("trust", ReplyCommand(Verb.APPROVE_ALWAYS)),
        ("Reject: please post this in the forum", ReplyCommand(Verb.REJECT, reason="please post this in the forum")),
        ("reject", ReplyCommand(Verb.REJECT)),
        ("Discard", ReplyCommand(Verb.DISCARD)),
        ("edit\nThe corrected text.\nSecond line.", ReplyCommand(Verb.EDIT, text="The corrected text.\nSecond line.\n")),
        ("Looks fine to me", ReplyCommand(Verb.UNCLEAR, text="Looks fine to me")),
    ],
)  # fmt: skip
def test_every_verb_is_read_from_every_clients_reply(client, text, expected):
    assert parse_reply(reply(client, text)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("approve\n\n-- \nFran\nreject everything", ReplyCommand(Verb.APPROVE)),
        ("\n\n   \n", ReplyCommand(Verb.APPROVE)),
        ("> quoted only\n> reject\n", ReplyCommand(Verb.APPROVE)),
        ("*Approve*", ReplyCommand(Verb.APPROVE)),
        ("approve and trust", ReplyCommand(Verb.APPROVE_ALWAYS)),
        ("always approve", ReplyCommand(Verb.APPROVE_ALWAYS)),
        ("Approve, always", ReplyCommand(Verb.APPROVE_ALWAYS)),
        ("reject\nOff topic here.\nTry the jobs list.", ReplyCommand(Verb.REJECT, reason="Off topic here.\nTry the jobs list.")),
        ("reject - spam", ReplyCommand(Verb.REJECT, reason="spam")),
        ("edit", ReplyCommand(Verb.UNCLEAR, text="edit, with no corrected text below it")),
        ("edit\n\nFixed text\n> with a quote kept out\n\nOn Sun, 29 Nov 2026, Team wrote:\n> original",
         ReplyCommand(Verb.EDIT, text="Fixed text\n")),
        ("approve\n\nSent from my iPhone", ReplyCommand(Verb.APPROVE)),
        ("Approve\n\n-----Original Message-----\nFrom: x\nreject", ReplyCommand(Verb.APPROVE)),
        ("discard\nFrom: Team moderation <x@y>\nSent: Sunday\nTo: fran\n\nreject", ReplyCommand(Verb.DISCARD)),
        ("On Sun, 29 Nov 2026 at 10:00, Team moderation <\nteam-moderate+x@lists.example.test> wrote:\n> hi\n\ndiscard",
         ReplyCommand(Verb.DISCARD)),
        ("Le dim. 29 nov. 2026 à 10:00, Team a écrit :\n> salut\n\nreject non", ReplyCommand(Verb.REJECT, reason="non")),
    ],
)  # fmt: skip
def test_quotes_signatures_and_attributions_are_not_commands(body, expected):
    assert read_reply_command(body) == expected


def test_only_the_writers_own_lines_are_kept():
    text = "On Sun, Team wrote:\n> a\n> b\n\nmine\n\n> c\nalso mine\n-- \nsig"
    assert own_lines(text) == ["mine", "", "also mine"]


def test_html_is_read_as_text_without_quotes_styles_or_signatures():
    page = ("<html><head><style>p {color: red}</style><title>x</title></head><body><p>Reject&nbsp;&amp; sorry</p>"
            "<div id='Signature'>Fran</div><blockquote>approve</blockquote></body></html>")  # fmt: skip
    assert html_to_text(page) == "Reject & sorry"
    assert html_to_text("<div>one<br>two</div><blockquote type=cite>q</blockquote>", keep_quotes=True) == "one\ntwo\nq"
    assert html_to_text("<p>unclosed <b>tags <i>everywhere") == "unclosed tags everywhere"


def test_a_reply_with_an_attached_original_reads_only_the_reply_text():
    message = parse(
        b"From: fran@fac.example.org\r\nSubject: Re: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\ndiscard\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: held\r\nContent-Type: text/plain\r\n\r\napprove\r\n--B--\r\n"
    )
    assert parse_reply(message) == ReplyCommand(Verb.DISCARD)
    assert parse_reply(parse(b"Subject: x\r\nContent-Type: image/png\r\n\r\nAAAA\r\n")) == ReplyCommand(Verb.APPROVE)
