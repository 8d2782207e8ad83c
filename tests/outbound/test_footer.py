"""The list footer is added without breaking the message's MIME structure."""

from __future__ import annotations

import base64
import re
from email.message import Message

import pytest

from listserv.mail.parse import parse_bytes
from listserv.outbound.decorate import serialize
from listserv.outbound.footer import add_footer
from listserv.render import Footer

FOOTER = Footer(text="-- \nTeam mailing list\nLeave: team-request@lists.example.org\n",
                html='<p class="footer">Team mailing list</p>')  # fmt: skip
UNICODE_FOOTER = Footer(text="-- \nÉquipe → quitter : équipe-request@lists.example.org\n", html="<p>Équipe →</p>")
HEAD = (
    b"From: Alice <alice@example.com>\r\nTo: team@lists.example.org\r\nSubject: Hello\r\n"
    b"Message-ID: <p1@example.com>\r\nIn-Reply-To: <p0@example.com>\r\nReferences: <p0@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def shape(message: Message) -> list[tuple[int, str]]:
    """The MIME tree as (depth, content type), in document order."""
    out, stack = [], [(message, 0)]
    while stack:
        part, depth = stack.pop()
        out.append((depth, part.get_content_type()))
        payload = part.get_payload()
        if isinstance(payload, list):
            stack += [(child, depth + 1) for child in reversed(payload) if isinstance(child, Message)]
    return out


def footed(raw: bytes, footer: Footer = FOOTER) -> tuple[bytes, Message]:
    """add_footer and serialize, check the wire rules, and parse the result back."""
    message = add_footer(parse_bytes(raw), footer.text, footer.html)
    wire = serialize(message)
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", wire), "bare CR or LF"
    assert max(len(line) for line in wire.split(b"\r\n")) <= 998
    back = parse_bytes(wire)
    assert (back["Message-ID"], back["In-Reply-To"], back["References"]) == (
        "<p1@example.com>", "<p0@example.com>", "<p0@example.com>")  # fmt: skip
    return wire, back


def text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset("us-ascii")).replace("\r\n", "\n")


def leaves(message: Message) -> list[Message]:
    return [part for part in message.walk() if not part.is_multipart()]


PLAIN_CASES = {
    "7bit us-ascii": (b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                      b"Hello all,\r\nsee you.\r\n", "Hello all,\nsee you.\n", FOOTER, "7bit", "us-ascii"),
    "no content headers": (b"\r\nHello all,\r\n", "Hello all,\n", FOOTER, "7bit", "us-ascii"),
    "no final newline": (b"Content-Type: text/plain\r\n\r\nHello all,", "Hello all,\n", FOOTER, "7bit", "us-ascii"),
    "8bit latin-1": (b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                     b"Caf\xe9 cr\xe8me\r\n", "Café crème\n", FOOTER, "8bit", "iso-8859-1"),
    "8bit latin-1, footer latin-1 can hold": (
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9\r\n",
        "Café\n", Footer(text="-- \nÉquipe\n", html=""), "8bit", "iso-8859-1"),
    "8bit latin-1, footer it cannot": (
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9\r\n",
        "Café\n", UNICODE_FOOTER, "8bit", "utf-8"),
    "quoted-printable utf-8": (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Caf=C3=A9 with a soft=\r\n line break\r\n", "Café with a soft line break\n", UNICODE_FOOTER,
        "quoted-printable", "utf-8"),
    "base64 utf-8": (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("Grüße\nbis bald\n".encode()).replace(b"\n", b"\r\n"),
        "Grüße\nbis bald\n", UNICODE_FOOTER, "base64", "utf-8"),
    "7bit us-ascii, non-ASCII footer": (
        b"Content-Type: text/plain\r\n\r\nHello\r\n", "Hello\n", UNICODE_FOOTER, "quoted-printable", "utf-8"),
}  # fmt: skip


@pytest.mark.parametrize(("head", "text", "footer", "encoding", "charset"), list(PLAIN_CASES.values()),
                         ids=list(PLAIN_CASES))  # fmt: skip
def test_a_text_plain_message_gets_the_footer_in_its_own_charset_and_encoding(head, text, footer, encoding, charset):
    _, back = footed(HEAD + head, footer)
    assert shape(back) == [(0, "text/plain")]
    assert text_of(back) == text + "\n" + footer.text
    assert back.get("Content-Transfer-Encoding", "7bit").lower() == encoding
    assert back.get_content_charset("us-ascii") == charset


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<html><body><p>Hi</p></body></html>\n", "<html><body><p>Hi</p>{f}</body></html>\n"),
        ("<HTML><BODY><p>Hi</p></BODY ></HTML>\n", "<HTML><BODY><p>Hi</p>{f}</BODY ></HTML>\n"),
        ("<body>a</body> quoted: </body> end</html>\n", "<body>a</body> quoted: {f}</body> end</html>\n"),
        ("<p>no body element</p>\n", "<p>no body element</p>\n{f}\n"),  # serialize ends every message in CRLF
    ],
)
def test_a_text_html_message_gets_the_footer_before_the_closing_body_tag(html, expected):
    raw = HEAD + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.replace("\n", "\r\n").encode()
    _, back = footed(raw)
    assert shape(back) == [(0, "text/html")]
    assert text_of(back) == expected.format(f=FOOTER.html)


ALTERNATIVE = HEAD + (
    b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
    b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Gr=C3=BC=C3=9Fe\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes("<html><body>Grüße</body></html>".encode()).replace(b"\n", b"\r\n")
    + b"--alt--\r\n"
)


def test_both_parts_of_a_multipart_alternative_get_the_footer():
    _, back = footed(ALTERNATIVE, UNICODE_FOOTER)
    assert shape(back) == [(0, "multipart/alternative"), (1, "text/plain"), (1, "text/html")]
    plain, html = leaves(back)
    assert text_of(plain) == "Grüße\n\n" + UNICODE_FOOTER.text
    assert text_of(html) == "<html><body>Grüße" + UNICODE_FOOTER.html + "</body></html>"


def test_the_html_root_of_a_related_alternative_gets_the_footer_and_its_images_are_untouched():
    image = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).replace(b"\n", b"\r\n")
    raw = HEAD + (
        b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        b"--alt\r\nContent-Type: text/plain\r\n\r\nHi\r\n"
        b'--alt\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        b"--rel\r\nContent-Type: text/html\r\n\r\n<html><body>Hi <img src=cid:i1></body></html>\r\n"
        b"--rel\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + image + b"--rel--\r\n--alt--\r\n"
    )  # fmt: skip
    before = shape(parse_bytes(raw))
    _, back = footed(raw)
    assert shape(back) == before
    plain, html, png = leaves(back)
    assert text_of(plain).endswith(FOOTER.text)
    assert FOOTER.html + "</body>" in text_of(html)
    assert png.get_payload(decode=True) == base64.decodebytes(image)


def test_a_multipart_alternative_without_text_parts_is_wrapped():
    raw = HEAD + (b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
                  b"--alt\r\nContent-Type: image/png\r\n\r\nxx\r\n--alt\r\nContent-Type: image/gif\r\n\r\nyy\r\n"
                  b"--alt--\r\n")  # fmt: skip
    _, back = footed(raw)
    assert shape(back) == [(0, "multipart/mixed"), (1, "multipart/alternative"), (2, "image/png"),
                           (2, "image/gif"), (1, "text/plain")]  # fmt: skip


MIXED = HEAD + (
    b'Content-Type: multipart/mixed; boundary="mix"\r\n\r\nThis is a multi-part message in MIME format.\r\n'
    b"--mix\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
    b'--mix\r\nContent-Type: application/pdf; name="r\xc3\xa9sum\xc3\xa9.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
    b"\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n--mix--\r\n"
)


@pytest.mark.parametrize("footer", [FOOTER, UNICODE_FOOTER], ids=["ascii footer", "non-ascii footer"])
def test_a_multipart_mixed_gets_the_footer_as_a_new_last_part(footer):
    before = parse_bytes(MIXED)
    wire, back = footed(MIXED, footer)
    assert shape(back) == shape(before) + [(1, "text/plain")]
    old, new = leaves(before), leaves(back)
    assert [p.get_payload(decode=True) for p in new[:2]] == [p.get_payload(decode=True) for p in old]
    assert new[-1]["Content-Disposition"] == "inline"
    assert text_of(new[-1]) == footer.text
    assert b'name="r\xc3\xa9sum\xc3\xa9.pdf"' in wire  # an 8-bit parameter is not re-encoded


SIGNED_PART = (
    b"Content-Type: text/plain; charset=us-ascii;\r\n\tformat=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    b"From here on  \r\n.signed text with trailing spaces \r\n"
)
SIGNED = HEAD + (
    b'Content-Type: multipart/signed; boundary="sig"; micalg=pgp-sha256;\r\n protocol="application/pgp-signature"\r\n'
    b"\r\n--sig\r\n" + SIGNED_PART + b"\r\n--sig\r\nContent-Type: application/pgp-signature\r\n\r\n"
    b"-----BEGIN PGP SIGNATURE-----\r\niQEzBAEBCAAdFiEE\r\n-----END PGP SIGNATURE-----\r\n\r\n--sig--\r\n"
)


def test_a_multipart_signed_message_is_wrapped_and_the_signed_part_stays_byte_identical():
    wire, back = footed(SIGNED)
    assert shape(back) == [(0, "multipart/mixed"), (1, "multipart/signed"), (2, "text/plain"),
                           (2, "application/pgp-signature"), (1, "text/plain")]  # fmt: skip
    assert b"\r\n--sig\r\n" + SIGNED_PART + b"\r\n--sig\r\n" in wire
    signed = back.get_payload(0)
    assert signed.get_param("protocol") == "application/pgp-signature" and signed.get_boundary() == "sig"
    assert text_of(leaves(back)[-1]) == FOOTER.text


def test_an_encrypted_message_is_wrapped_untouched():
    raw = HEAD + (b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"\r\n\r\n'
                  b"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
                  b"--enc\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQEM\r\n"
                  b"-----END PGP MESSAGE-----\r\n--enc--\r\n")  # fmt: skip
    before = shape(parse_bytes(raw))
    _, back = footed(raw)
    assert shape(back) == [(0, "multipart/mixed")] + [(d + 1, t) for d, t in before] + [(1, "text/plain")]


@pytest.mark.parametrize(
    "content",
    [
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nUnknown charset text\r\n",
        b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n\r\n8-bit \xe9\xff\r\n",
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nnot utf-8 \xff\xfe\r\n",
        b"Content-Type: text/plain; charset=unicode_escape\r\n\r\ncaf\\u00e9 stays as written\r\n",
        b"Content-Type: text/plain; charset=\"utf-8\x00\"\r\n\r\nNUL in the charset\r\n",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-custom\r\n\r\nwhatever\r\n",
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n",
        b'Content-Type: application/pdf; name="r\xc3\xa9sum\xc3\xa9.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"JVBERi0=\r\n",
        b"Content-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: inner\r\n\r\ninner body\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nmultipart without a boundary\r\n",
    ],
    ids=["unknown charset", "unknown charset, 8-bit", "bytes not in the charset", "charset that does not round-trip", "NUL in charset",
         "unknown transfer encoding", "octet-stream", "8-bit filename", "message/rfc822", "broken multipart"],
)  # fmt: skip
def test_what_cannot_be_rewritten_is_wrapped_with_the_original_untouched_inside(content):
    before = parse_bytes(HEAD + content)
    original_payload = before.get_payload(decode=not before.is_multipart())
    original_ctype = before["Content-Type"]
    before_shape = shape(before)
    wire, back = footed(HEAD + content)
    assert shape(back)[0] == (0, "multipart/mixed") and shape(back)[-1] == (1, "text/plain")
    assert shape(back)[1:-1] == [(d + 1, t) for d, t in before_shape]
    inner = back.get_payload(0)
    assert inner["Content-Type"] == original_ctype
    if not before.is_multipart():  # (a multipart without a boundary gains a line end: the parser keeps it)
        assert inner.get_payload(decode=True).rstrip(b"\r\n") == original_payload.rstrip(b"\r\n")
    assert text_of(back.get_payload(1)) == FOOTER.text
    assert back["Content-Transfer-Encoding"] is None and back["MIME-Version"] == "1.0"


def test_an_empty_footer_changes_nothing():
    raw = HEAD + b"Content-Type: text/plain\r\n\r\nHello\r\n"
    message = parse_bytes(raw)
    assert add_footer(message, "  \n", "<p></p>") is message
    assert message.get_payload() == "Hello\r\n"


def test_a_wrapped_message_keeps_its_other_headers_on_the_outside():
    raw = HEAD + b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n\r\nAAAA\r\n"
    _, back = footed(raw)
    assert back["From"] == "Alice <alice@example.com>" and back["Subject"] == "Hello"
    assert back["Content-Disposition"] is None
    assert back.get_payload(0)["Content-Disposition"] == "attachment"
