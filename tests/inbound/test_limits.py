"""Caps checked on raw bytes before the email package sees them (RELIABILITY 6)."""

from __future__ import annotations

import random
from email import policy
from email.message import Message
from email.parser import BytesParser

import pytest

from listserv.inbound.limits import MAX_CONTENT_TYPE, Limits, check_limits
from listserv.inbound.replies import HEADER_TOO_BIG, TOO_BIG, TOO_COMPLEX

LIMITS = Limits(max_size=10 * 1024 * 1024, max_header_bytes=256 * 1024, max_parts=500, max_depth=20)
HEAD = b"From: alice@example.com\r\nTo: team@lists.example.org\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n"

# How a multipart level can spell its boundary; the email package reads every one of them.
SPELLINGS = {
    "quoted": b'Content-Type: multipart/mixed; boundary="%s"',
    "token": b"Content-Type: multipart/mixed; boundary=%s",
    "upper case": b"CONTENT-TYPE: MULTIPART/MIXED; BOUNDARY=%s",
    "spaces around =": b"Content-Type: multipart/mixed; boundary = %s",
    "folded": b"Content-Type:\r\n multipart/mixed;\r\n\tboundary=\r\n %s",
    "RFC 2231 extended": b"Content-Type: multipart/mixed; boundary*=us-ascii''%s",
    "RFC 2231 continued": b"Content-Type: multipart/mixed; boundary*0=%s",
    "digest": b'Content-Type: multipart/digest; boundary="%s"',
}


def nested_multiparts(depth: int, spelling: bytes = SPELLINGS["quoted"], line_end: bytes = b"\r\n") -> bytes:
    """A message `depth` multiparts deep, each level opened but none closed (as attackers do)."""
    out = [HEAD]
    for level in range(depth):
        boundary = b"b%d" % level
        out.append(spelling % boundary + b"\r\n\r\n--" + boundary + b"\r\n")
    out.append(b"Content-Type: text/plain\r\n\r\nhi\r\n")
    return b"".join(out).replace(b"\r\n", line_end)


def closed_multiparts(depth: int) -> bytes:
    """`depth` properly nested and closed multipart levels."""
    body = b"Content-Type: text/plain\r\n\r\nhi\r\n"
    for level in reversed(range(depth)):
        boundary = b"b%d" % level
        body = (b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n' % (boundary, boundary)
                + body + b"--%s--\r\n" % boundary)  # fmt: skip
    return HEAD + body


def nested_messages(depth: int, ctype: bytes = b"Content-Type: message/rfc822") -> bytes:
    return HEAD + (ctype + b"\r\n\r\nSubject: inner\r\n") * depth + b"\r\nhi\r\n"


def multipart_with_parts(count: int, spelling: bytes = SPELLINGS["quoted"]) -> bytes:
    part = b"--p\r\nContent-Type: text/plain\r\n\r\npart\r\n"
    return HEAD + spelling % b"p" + b"\r\n\r\n" + part * count + b"--p--\r\n"


def parsed_depth_and_parts(raw: bytes) -> tuple[int, int]:
    """The tree the email package builds, walked without recursion."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    deepest, count, stack = 0, 0, [(message, 0)]
    while stack:
        part, depth = stack.pop()
        deepest, count = max(deepest, depth), count + 1
        payload = part.get_payload()
        if isinstance(payload, list):
            stack += [(child, depth + 1) for child in payload if isinstance(child, Message)]
    return deepest, count


def test_a_plain_message_passes():
    assert check_limits(HEAD + b"\r\nhello\r\n", LIMITS) is None


def test_the_size_cap_allows_exactly_the_limit_and_refuses_one_octet_more():
    limits = Limits(max_size=1000, max_header_bytes=500, max_parts=10, max_depth=5)
    fits = HEAD + b"\r\n" + b"x" * (1000 - len(HEAD) - 2)
    assert len(fits) == 1000 and check_limits(fits, limits) is None
    assert check_limits(fits + b"x", limits) is TOO_BIG


def test_a_one_mebibyte_header_line_is_refused_as_a_header_too_large():
    raw = HEAD + b"X-Junk: " + b"a" * (1024 * 1024) + b"\r\n\r\nbody\r\n"
    assert check_limits(raw, LIMITS) is HEADER_TOO_BIG


def test_a_message_without_a_blank_line_is_all_header_and_counted_so():
    raw = HEAD + b"X-Junk: " + b"a" * (300 * 1024) + b"\r\n"
    assert check_limits(raw, LIMITS) is HEADER_TOO_BIG


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_a_large_body_under_a_small_header_is_fine(line_end):
    raw = (HEAD + b"\r\n").replace(b"\r\n", line_end) + (b"x" * 70 + line_end) * 100_000
    assert check_limits(raw, LIMITS) is None


def test_the_header_cap_counts_only_the_header_block():
    limits = Limits(max_size=10**7, max_header_bytes=len(HEAD), max_parts=10, max_depth=5)
    assert check_limits(HEAD + b"\r\n" + b"body\r\n" * 1000, limits) is None
    assert check_limits(HEAD + b"X: y\r\n\r\nbody\r\n", limits) is HEADER_TOO_BIG


@pytest.mark.parametrize("spelling", list(SPELLINGS.values()), ids=list(SPELLINGS))
def test_thousands_of_nested_multiparts_are_refused_however_the_boundary_is_written(spelling):
    assert check_limits(nested_multiparts(3000, spelling), LIMITS) is TOO_COMPLEX


@pytest.mark.parametrize("line_end", [b"\n", b"\r"], ids=["LF", "bare CR"])
def test_nesting_is_seen_whatever_the_line_ends(line_end):
    assert check_limits(nested_multiparts(3000, line_end=line_end), LIMITS) is TOO_COMPLEX


def test_a_message_at_the_depth_limit_passes_and_one_level_more_is_refused():
    assert check_limits(nested_multiparts(20), LIMITS) is None
    assert check_limits(nested_multiparts(21), LIMITS) is TOO_COMPLEX
    assert check_limits(closed_multiparts(20), LIMITS) is None
    assert check_limits(closed_multiparts(21), LIMITS) is TOO_COMPLEX


@pytest.mark.parametrize(
    "ctype",
    [b"Content-Type: message/rfc822", b"Content-Type:\r\n message/rfc822", b"content-type: MESSAGE/RFC822",
     b"Content-Type: message/global", b"Content-Type: message/news", b"Content-Type: message/partial"],
)  # fmt: skip
def test_deeply_nested_messages_are_refused(ctype):
    raw = nested_messages(1000, ctype)
    assert check_limits(raw, LIMITS) is TOO_COMPLEX
    assert check_limits(nested_messages(20, ctype), LIMITS) is None


def test_many_attached_messages_side_by_side_are_not_mistaken_for_depth():
    attached = b"--p\r\nContent-Type: message/rfc822\r\n\r\nSubject: fwd\r\nFrom: x@example.com\r\n\r\ntext\r\n"
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + attached * 60 + b"--p--\r\n"
    assert check_limits(raw, LIMITS) is None
    assert parsed_depth_and_parts(raw)[0] == 2


def test_many_sibling_multiparts_are_not_mistaken_for_depth():
    inner = b"--outer\r\n" + closed_multiparts(3)[len(HEAD) :]
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n' + inner * 40 + b"--outer--\r\n"
    assert check_limits(raw, LIMITS) is None


def test_a_mime_discussion_quoting_content_type_lines_in_a_text_part_passes():
    quoted = b"Content-Type: text/plain; boundary=x\r\nboundary=y and multipart/mixed in prose\r\n" * 200
    assert check_limits(HEAD + b"\r\n" + quoted, LIMITS) is None


@pytest.mark.parametrize("spelling", [SPELLINGS["quoted"], SPELLINGS["RFC 2231 extended"], SPELLINGS["folded"]])
def test_the_part_count_allows_the_limit_and_refuses_more(spelling):
    assert check_limits(multipart_with_parts(500, spelling), LIMITS) is None
    assert check_limits(multipart_with_parts(501, spelling), LIMITS) is TOO_COMPLEX
    assert check_limits(multipart_with_parts(20_000, spelling), LIMITS) is TOO_COMPLEX


def test_delimiter_lines_with_trailing_whitespace_still_count_as_parts():
    part = b"--p \t\r\nContent-Type: text/plain\r\n\r\npart\r\n"
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + part * 600 + b"--p--\r\n"
    assert check_limits(raw, LIMITS) is TOO_COMPLEX


def test_lines_that_only_look_like_delimiters_do_not_count_as_parts():
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n\r\n' + b"-- \r\n--px\r\n" * 1000
    assert check_limits(raw, LIMITS) is None


def test_an_overlong_content_type_field_is_refused_before_the_parser_reads_its_parameters():
    # the email package's parameter parser is quadratic in semicolons inside quotes
    field = b'Content-Type: text/plain; name="' + b";" * MAX_CONTENT_TYPE + b'"'
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n' + field + b"\r\n\r\nx\r\n--p--\r\n"
    assert check_limits(raw, LIMITS) is TOO_COMPLEX


def test_generated_structures_are_never_accepted_beyond_the_caps():
    """Random trees in every boundary spelling, some never closed. What is accepted is never
    deeper or larger than the caps allow (a digest's parts hold an implicit message, hence 2x)."""
    rng = random.Random(20261129)
    outcomes = set()
    for _ in range(100):
        raw = HEAD + random_entity(rng, SPELLINGS[rng.choice(list(SPELLINGS))], depth=0, counter=[0])
        limits = Limits(max_size=10**8, max_header_bytes=10**6, max_parts=rng.randint(1, 40),
                        max_depth=rng.randint(1, 8))  # fmt: skip
        depth, objects = parsed_depth_and_parts(raw)
        accepted = check_limits(raw, limits) is None
        outcomes.add(accepted)
        if accepted:
            assert depth <= 2 * limits.max_depth + 1, raw[:300]
            assert objects - 1 <= 2 * limits.max_parts, raw[:300]
    assert outcomes == {True, False}


def random_entity(rng: random.Random, spelling: bytes, depth: int, counter: list[int]) -> bytes:
    kind = rng.choice(["text", "multipart", "multipart", "message"]) if depth < 12 else "text"
    if kind == "text":
        return b"Content-Type: text/plain\r\n\r\nsome text\r\n-- \r\nsig\r\n"
    if kind == "message":
        return b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" + random_entity(
            rng, spelling, depth + 1, counter
        )
    counter[0] += 1
    boundary = b"=_b%d" % counter[0]
    children = [random_entity(rng, spelling, depth + 1, counter) for _ in range(rng.randint(1, 4))]
    close = rng.random() < 0.8  # some senders never close a multipart
    body = b"".join(b"--" + boundary + b"\r\n" + child for child in children)
    return spelling % boundary + b"\r\n\r\npreamble\r\n" + body + (b"--" + boundary + b"--\r\n" if close else b"")


TEN_MB = 10 * 1024 * 1024


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "raw",
    [
        HEAD + b"\r\n" + b"\n" * TEN_MB,
        HEAD + b"\r\n" + b"\r" * TEN_MB,
        HEAD + b"\r\n" + b"x" * TEN_MB,
        HEAD + b"\r\n" + b"--\n" * (TEN_MB // 3),
        HEAD + b"\r\n" + b"-- x\n" * (TEN_MB // 5),
        HEAD + b"\r\n" + b"boundary=" * (TEN_MB // 9),
        HEAD + b"\r\n" + b"Content-Type: text/plain\n" * (TEN_MB // 25),
        HEAD + b"\r\n" + b"Content-Type: x\n y\n" * (TEN_MB // 20),
        HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + b"--px\r\n" * (TEN_MB // 6),
        HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n\r\n' + b"- " * (TEN_MB // 2),
    ],
    ids=["newlines", "bare CRs", "one line", "dash lines", "signature lines", "boundary words",
         "content-type lines", "folded fields", "near-delimiters", "one long part"],
)  # fmt: skip
def test_ten_megabytes_of_any_shape_get_an_answer_from_a_linear_scan(raw):
    """No timing assertion: a quadratic scan would take hours here, and the timeout would fire."""
    assert check_limits(raw, Limits(max_size=len(raw), max_header_bytes=1024, max_parts=500, max_depth=20)) in (
        None, TOO_COMPLEX)  # fmt: skip
