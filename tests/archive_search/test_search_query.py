"""What a user's query means: the FTS5 expression built from it (quoted terms only) and the
snippet pieces; pure."""

from __future__ import annotations

import pytest

from listserv.archive.search import (
    SnippetPiece,
    fts5_in_list,
    fts5_query,
    snippet_pieces,
    split_author,
    websearch_query,
)

TEXT = "{subject author body}"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("compost worms", '("compost") AND ("worms")'),
        ('"seed exchange" -tomato', '("seed exchange") NOT "tomato"'),
        ("a OR b c", '("a" OR "b") AND ("c")'),
        ('NEAR(a b) col:x "', '("NEAR(a") AND ("b)") AND ("col:x")'),
        ('say "hi', '("say") AND ("hi")'),
        ('foo"bar', '("foo bar")'),
    ],
)
def test_every_term_is_a_quoted_string_in_the_text_columns(query, expected):
    assert fts5_query(query) == f"{TEXT} : ({expected})"
    assert fts5_in_list(fts5_query(query), 7) == f'list_id : "7" AND {TEXT} : ({expected})'


@pytest.mark.parametrize("query", ["", "   ", "-only", "*", "()", '""', "- -"])
def test_a_query_that_can_match_nothing_is_empty(query):
    assert fts5_query(query) == "" and websearch_query(query) == ""


def test_snippets_are_pieces_never_markup():
    assert snippet_pieces("a <b>\x02word\x03</b>\n\n c") == (
        SnippetPiece("a <b>", False), SnippetPiece("word", True), SnippetPiece("</b> c", False))  # fmt: skip


def test_an_indexed_author_splits_into_name_and_address():
    assert split_author("Renée Dupré <renee@example.net>") == ("Renée Dupré", "renee@example.net")
    assert split_author("bob@example.org") == ("", "bob@example.org")
    assert split_author("Just A Name") == ("Just A Name", "")
