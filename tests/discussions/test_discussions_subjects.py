"""Tests for listserv.discussions.subjects (subject normalisation)."""

from __future__ import annotations

import time

import pytest

from listserv.discussions.subjects import is_reply_subject, normalize_subject

NORMALIZE_CASES = [
    # (subject, prefixes, expected)
    ("Question", (), "question"),
    ("Re: Question", (), "question"),
    ("RE: Question", (), "question"),
    ("re:Question", (), "question"),
    ("Re : Question", (), "question"),
    ("Re: Re: RE: re:  Question", (), "question"),
    ("Fwd: Question", (), "question"),
    ("Fw: Question", (), "question"),
    ("AW: Question", (), "question"),
    ("SV: Question", (), "question"),
    ("VS: Question", (), "question"),
    ("Antw: Question", (), "question"),
    ("WG: Question", (), "question"),
    ("RE[2]: Question", (), "question"),
    ("Re^2: Question", (), "question"),
    ("Re(3): Question", (), "question"),
    ("Re\uff1a Question", (), "question"),  # full-width colon
    ("Re: Fwd: AW: Question", (), "question"),
    ("  Question   with\tspaces \n", (), "question with spaces"),
    ("QUESTION", (), "question"),
    ("Straße", (), "strasse"),  # case folding, not just lower()
    # list tags: only configured ones are stripped
    ("[dev] Question", ("[dev]",), "question"),
    ("[DEV] Question", ("[dev]",), "question"),
    ("[dev] Question", ("dev",), "question"),
    ("Re: [dev] Question", ("[dev]",), "question"),
    ("[dev] Re: Question", ("[dev]",), "question"),
    ("Re: [dev] Re: [dev] Question", ("[dev]",), "question"),
    ("[my list] Question", ("[my  list]",), "question"),
    ("[dev] Question", (), "[dev] question"),
    ("[PATCH] Question", ("[dev]",), "[patch] question"),
    ("Re: [PATCH 1/2] Question", (), "[patch 1/2] question"),
    # words that merely start like a marker are kept
    ("Recipe: soup", (), "recipe: soup"),
    ("Regarding: soup", (), "regarding: soup"),
    ("Re soup", (), "re soup"),
    ("Fwdx: soup", (), "fwdx: soup"),
    # degenerate
    ("", (), ""),
    ("Re:", (), ""),
    ("Re: Re:", (), ""),
]


@pytest.mark.parametrize(("subject", "prefixes", "expected"), NORMALIZE_CASES)
def test_normalize_subject(subject: str, prefixes: tuple[str, ...], expected: str) -> None:
    assert normalize_subject(subject, prefixes) == expected


REPLY_CASES = [
    ("Re: x", (), True),
    ("RE: x", (), True),
    ("re:x", (), True),
    ("AW: x", (), True),
    ("SV: x", (), True),
    ("VS: x", (), True),
    ("Antw: x", (), True),
    ("RE[2]: x", (), True),
    ("Re^2: x", (), True),
    ("Re: Fwd: x", (), True),
    ("[dev] Re: x", ("[dev]",), True),
    ("Re: [dev] x", ("[dev]",), True),
    ("[dev] Re: x", (), False),  # unconfigured tag is part of the title
    ("Fwd: x", (), False),
    ("Fwd: Re: x", (), False),  # a forward of a reply is a new post
    ("x", (), False),
    ("Question", (), False),
    ("Recipe: x", (), False),
    ("", (), False),
]


@pytest.mark.parametrize(("subject", "prefixes", "expected"), REPLY_CASES)
def test_is_reply_subject(subject: str, prefixes: tuple[str, ...], expected: bool) -> None:
    assert is_reply_subject(subject, prefixes) is expected


@pytest.mark.parametrize(
    "subject",
    [
        "Re: " * 50_000 + "x",
        "Re:" + " " * 100_000 + "x",
        "Re" + " " * 100_000,
        "[dev] " * 50_000 + "x",
        " " * 100_000,
    ],
    ids=["many-markers", "long-space-after-marker", "long-space-no-colon", "many-tags", "blank"],
)
def test_hostile_subjects_are_linear(subject: str) -> None:
    started = time.perf_counter()
    normalize_subject(subject, ("[dev]",))
    is_reply_subject(subject, ("[dev]",))
    # generous bound: a quadratic scan of these inputs takes minutes
    assert time.perf_counter() - started < 5.0
