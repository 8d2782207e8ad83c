"""decorate(): what members receive is list mail, CRLF-only, with no line over 998 octets (RELIABILITY 7)."""

from __future__ import annotations

import base64
import random
import re
from email.message import Message

import pytest

from listserv.mail.message import ListInfo
from listserv.mail.parse import message_ids, parse_bytes, read_facts
from listserv.outbound.decorate import WIRE, WirePolicy, decorate, serialize
from listserv.render import Footer

TEAM = ListInfo(id=1, address="team@lists.example.org", name="Team", subject_prefix="[team]", reply_to="list")
FOOTER = Footer(text="-- \nTeam mailing list: team-request@lists.example.org\n", html="<p>Team mailing list</p>")
HEAD = (
    b"From: Alice <alice@example.com>\r\nTo: team@lists.example.org\r\nSubject: Hello\r\n"
    b"Message-ID: <p1@example.com>\r\nIn-Reply-To: <p0@example.com>\r\n"
    b"References: <pa@example.com>\r\n <p0@example.com>\r\n"
)
BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def wire_problems(wire: bytes) -> list[str]:
    problems = []
    if BARE_LINE_END.search(wire):
        problems.append("bare CR or LF")
    if not wire.endswith(b"\r\n"):
        problems.append("does not end in CRLF")
    longest = max(len(line) for line in wire.split(b"\r\n"))
    if longest > 998:
        problems.append(f"a line of {longest} octets")
    return problems


def decorated(raw: bytes) -> tuple[bytes, Message]:
    wire = decorate(parse_bytes(raw), TEAM, FOOTER)
    assert wire_problems(wire) == []
    return wire, parse_bytes(wire)


def shape(message: Message) -> list[tuple[int, str]]:
    out, stack = [], [(message, 0)]
    while stack:
        part, depth = stack.pop()
        out.append((depth, part.get_content_type()))
        payload = part.get_payload()
        if isinstance(payload, list):
            stack += [(child, depth + 1) for child in reversed(payload) if isinstance(child, Message)]
    return out


def test_a_post_becomes_list_mail_with_its_identity_kept():
    wire, back = decorated(HEAD + b"\r\nHi all,\r\nhow are you?\r\n")
    assert back["Subject"] == "[team] Hello" and back["List-Id"] == '"Team" <team.lists.example.org>'
    assert back["Reply-To"] == "team@lists.example.org"
    assert back["Message-ID"] == "<p1@example.com>" and back["In-Reply-To"] == "<p0@example.com>"
    assert message_ids(back["References"]) == ("pa@example.com", "p0@example.com")
    assert back.get_payload().endswith("-- \r\nTeam mailing list: team-request@lists.example.org\r\n")


@pytest.mark.parametrize(
    "raw",
    [
        HEAD + b"\r\nCRLF body\r\n",
        (HEAD + b"\r\nLF only\r\nbody\r\n").replace(b"\r\n", b"\n"),
        HEAD + b"\r\nmixed\nline\rends\r\n\n\r\r",
        (HEAD + b"\r\n").replace(b"\r\n", b"\r") + b"bare CR message\r",
        HEAD + b"X-Folded: a\n\tb\r c\r\n\r\nfolded with odd line ends",
        HEAD + b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\nx\ry",
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\npre\ramble\n--b\nContent-Type: text/plain\n\nx\ry\n'
        b"--b--\nepi\rlogue",
        HEAD + b"\r\nno final line end",
        HEAD + b"\r\n",
    ],
    ids=["crlf", "lf", "mixed", "bare cr", "folded header", "8bit latin-1", "multipart", "no final eol", "empty body"],
)  # fmt: skip
def test_every_line_ends_in_crlf_whatever_came_in(raw):
    wire, back = decorated(raw)
    assert back["Message-ID"] == read_facts(parse_bytes(raw)).message_id


def test_an_eight_bit_header_value_with_a_line_break_cannot_start_a_new_header():
    # compat32 writes 8-bit values (surrogate-escaped bytes) verbatim, line breaks and all
    message = parse_bytes(HEAD + b"\r\nbody\r\n")
    message["X-Note"] = "caf\udce9\nBcc: victim@example.com"
    message["X-Other"] = "caf\udce9\r\n\r\nb"  # an empty line would end the header block
    wire = serialize(message)
    assert wire_problems(wire) == []
    back = parse_bytes(wire)
    assert back["Bcc"] is None and back.get_payload() == "body\r\n"
    assert b"\r\n Bcc: victim@example.com\r\n" in wire and b"\r\n b\r\n" in wire


@pytest.mark.parametrize(
    "header",
    [
        b"X-Junk: " + b"a" * 5000,
        b"X-Junk: " + b"\xe9" * 3000,
        "X-Junk: ".encode() + "日本語".encode() * 1000,
        b"X-Junk: caf\xe9\n\tand a bare LF fold in an 8-bit value",
        b"X-Junk: " + b"word " * 2000,
        b"Subject: " + "Grüße aus Köln ".encode() * 200,
        b"References: " + b" ".join(b"<%d@example.com>" % i for i in range(3000)),
        b"References: " + b"".join(b"<%d@example.com>" % i for i in range(3000)),
    ],
    ids=["ascii without spaces", "8-bit without spaces", "utf-8 without spaces", "8-bit with LF fold",
         "ascii with spaces", "long utf-8 subject", "long references", "references without spaces"],
)  # fmt: skip
def test_long_and_eight_bit_header_lines_are_folded_to_998_octets_and_stay_one_field(header):
    name = header.partition(b":")[0].decode()
    raw = (
        re.sub(rb"(?m)^" + name.encode() + rb":.*\r\n( .*\r\n)*", b"", HEAD)
        + header
        + b"\r\nX-After: still here\r\n\r\nbody\r\n"
    )
    _, back = decorated(raw)
    assert len(back.get_all(name)) == 1 and back["X-After"] == "still here"


def test_utf8_header_bytes_are_never_split_inside_a_character():
    raw = HEAD + "X-Junk: ".encode() + "é".encode() * 2000 + b"\r\n\r\nbody\r\n"
    wire, _ = decorated(raw)
    for line in wire.split(b"\r\n"):
        if b"\xc3" in line or b"\xa9" in line:
            line.strip().decode("utf-8")  # each folded line still holds whole characters


def test_long_references_keep_every_id_in_order():
    ids = [b"<%d@example.com>" % i for i in range(3000)]
    raw = HEAD.replace(b"References: <pa@example.com>\r\n <p0@example.com>", b"References: " + b" ".join(ids))
    _, back = decorated(raw + b"\r\nbody\r\n")
    assert message_ids(back["References"]) == tuple(i.decode()[1:-1] for i in ids)


LONG = "x" * 3000


@pytest.mark.parametrize(
    ("content", "decoded", "encoding"),
    [
        (b"Content-Type: text/plain\r\n\r\n" + LONG.encode() + b"\r\n", LONG.encode() + b"\r\n", "quoted-printable"),
        (b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
         + b"caf\xe9 " * 400 + b"\r\n", b"caf\xe9 " * 400 + b"\r\n", "quoted-printable"),
        (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
         + "é".encode() * 600 + b"\r\n", "é".encode() * 600 + b"\r\n", "quoted-printable"),  # 1200 octets, 600 chars
        (b"Content-Type: text/plain\r\n\r\n" + (b"y" * 500 + b"\x0c") * 4 + b"\r\n",
         (b"y" * 500 + b"\x0c") * 4 + b"\r\n", "quoted-printable"),  # a form feed does not end a line on the wire
        (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + b"\x01\xff" * 1000,
         b"\x01\xff" * 1000, "base64"),
        (b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         + base64.b64encode(bytes(range(256)) * 20) + b"\r\n", bytes(range(256)) * 20, "base64"),
        (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         + base64.b64encode("é".encode() * 1000) + b"\r\n", "é".encode() * 1000, "base64"),
        (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + b"q=3D" * 500 + b"\r\n",
         b"q=" * 500 + b"\r\n", "quoted-printable"),
    ],
    ids=["7bit text", "8bit latin-1", "8bit utf-8 counted in octets", "form feeds", "8bit binary",
         "base64 on one line", "base64 text on one line", "quoted-printable without soft breaks"],
)  # fmt: skip
def test_parts_with_lines_over_998_octets_are_re_encoded_without_changing_their_content(content, decoded, encoding):
    raw = HEAD + content
    before = shape(parse_bytes(raw))
    _, back = decorated(raw)
    body = back if not back.is_multipart() else back.get_payload(0)
    assert body["Content-Transfer-Encoding"] == encoding
    got = body.get_payload(decode=True)
    if body.get_content_maintype() == "text" and shape(back) == before:  # the footer was appended
        got = got[: len(decoded)]
    assert got == decoded


def test_a_long_line_in_a_preamble_epilogue_or_boundaryless_multipart_is_cut():
    raw = HEAD + (b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"p" * 3000 + b"\r\n"
                  b"--b\r\nContent-Type: multipart/alternative\r\n\r\n" + b"q" * 3000 + b"\r\n"
                  b"--b--\r\n" + b"e" * 3000 + b"\r\n")  # fmt: skip
    before = shape(parse_bytes(raw))
    _, back = decorated(raw)
    assert shape(back) == before + [(1, "text/plain")]


def test_a_multipart_whose_boundary_is_missing_is_written_with_crlf_only():
    raw = HEAD + (b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\n'
                  b'Content-Type: multipart/alternative; boundary="never-used"\r\n\r\n'
                  b"lf\nonly\n\nlines\rand CR\n--outer--\r\n")  # fmt: skip
    decorated(raw)


@pytest.mark.parametrize(
    "content",
    [
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nnot utf-8: \xff\xfe\r\n",
        b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe9\xe8\r\n",
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff" * 2 + b"y" * 3000,
    ],
    ids=["bytes invalid in the charset", "unknown charset", "invalid bytes on a long line"],
)  # fmt: skip
def test_eight_bit_text_that_cannot_be_decoded_is_passed_on_byte_for_byte(content):
    body = content.partition(b"\r\n\r\n")[2]
    wire, back = decorated(HEAD + content)
    inner = back.get_payload(0)
    if inner["Content-Transfer-Encoding"] == "8bit":
        assert body in wire
    assert inner.get_payload(decode=True).rstrip(b"\r\n") == body.rstrip(b"\r\n")


def test_the_mime_tree_is_kept_and_the_footer_added():
    raw = HEAD + (b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
                  b'--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
                  b"--a\r\nContent-Type: text/plain\r\n\r\nhi\r\n--a\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n"
                  b"--a--\r\n--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: fwd\r\n\r\n"
                  b"inner\r\n--m\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlh\r\n"
                  b"--m--\r\n")  # fmt: skip
    before = shape(parse_bytes(raw))
    _, back = decorated(raw)
    assert shape(back) == before + [(1, "text/plain")]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "raw",
    [
        HEAD + b"\r\n" + b"x" * (10 * 1024 * 1024),
        HEAD + b"\r\n" + b"line\r\n" * (10 * 1024 * 1024 // 6),
        HEAD + b"X-Junk: " + b"a" * (256 * 1024) + b"\r\n\r\nbody\r\n",
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" * 500 + b"--b--\r\n",
    ],
    ids=["ten megabytes on one line", "ten megabytes of short lines", "a 256 KiB header line", "500 parts"],
)  # fmt: skip
def test_large_messages_are_decorated_by_linear_work(raw):
    """No timing assertion: quadratic work on these inputs would run into the timeout."""
    decorated(raw)


class FoldEverything(WirePolicy):
    def unchanged(self, name: str, value: str) -> bool:
        return False


def folded(policy: WirePolicy, name: str, value: str) -> bytes | str:
    try:
        return policy.fold_binary(name, value)
    except Exception as error:  # the same failure either way
        return type(error).__name__


@pytest.mark.parametrize("max_line_length", [998, 78, None])
def test_headers_written_unchanged_are_what_folding_writes(max_line_length: int | None) -> None:
    fast = WIRE.clone(max_line_length=max_line_length)
    slow = FoldEverything(linesep="\r\n").clone(max_line_length=max_line_length)
    pieces = ["a", "word", " ", "  ", "\t", ":", "=?utf-8?q?x?=", "\r\n ", "\n", "é", "\udcc3", "x" * 90]
    rng = random.Random(7)
    values = ["", " ", "a ", " a", "x" * 994, "x" * 995, "x" * 996, "a b " * 249, "a\x0bb", "a\x1cb"]
    printable = [piece for piece in pieces if piece.isascii() and piece.isprintable()]
    for choices in (pieces, printable):
        values += ["".join(rng.choice(choices) for _ in range(rng.randrange(1, 40))) for _ in range(2000)]
    for value in values:
        for name in ("To", "Subject", "X-A-Rather-Long-Header-Name"):
            assert folded(fast, name, value) == folded(slow, name, value), (name, value)
