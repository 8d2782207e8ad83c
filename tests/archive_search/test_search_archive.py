"""Archive search through `listserv archive search --json`: FTS5 on SQLite, full-text search on
PostgreSQL, over posts imported with `archive import` and posts that arrived live."""

from __future__ import annotations

import json

import pytest
from search_posts import GARDEN, mbox, message

from listserv.archive import search_store

HOSTILE = ['"', '""', "NEAR(a b", "a AND", "*", "^", "-", "OR", "NOT", "AND OR NOT", "'; DROP TABLE posts; --",
           "col:umn", "subject:compost", "\x01compost", "((((", "compost*", "a" * 5000, "🌻", "\\", "%_"]  # fmt: skip


@pytest.fixture
def cli(cli, tmp_path):
    """The real command, with lists `corpus` (the garden posts, imported) and `other`."""
    cli("list", "create", "corpus", "--name", "Corpus")
    cli("list", "create", "other", "--name", "Other")
    cli("archive", "import", "corpus", str(mbox(GARDEN, tmp_path / "garden.mbox")))
    other = [message("elsewhere@example.com", "Compost elsewhere", "Compost on another list.\n")]
    cli("archive", "import", "other", str(mbox(other, tmp_path / "other.mbox")))
    return cli


def search(cli, query: str, *options: str, address: str = "corpus") -> dict:
    return json.loads(cli("archive", "search", "--json", *options, "--", address, query))


def ids(found: dict) -> list[str]:
    return [hit["message_id"] for hit in found["hits"]]


def highlighted(hit: dict) -> list[str]:
    return [piece["text"].lower() for piece in hit["snippet"] if piece["highlighted"]]


def test_words_find_the_lists_posts_with_highlighted_snippets(cli):
    found = search(cli, "compost")
    assert found["total"] == 2 and set(ids(found)) == {"compost@example.com", "reply@example.com"}
    for hit in found["hits"]:
        assert "compost" in highlighted(hit) and hit["discussion_id"] == found["hits"][0]["discussion_id"]
    reply = next(hit for hit in found["hits"] if hit["message_id"] == "reply@example.com")
    assert (reply["author"], reply["address"], reply["date"]) == ("Bob Builder", "bob@example.org",
                                                                  "2024-11-04T10:02:00Z")  # fmt: skip
    assert ids(search(cli, "compost", address="other")) == ["elsewhere@example.com"]


def test_an_html_only_post_is_found_by_its_text_never_by_its_script_or_style(cli):
    found = search(cli, "sunflowers beans")
    assert ids(found) == ["html@example.com"] and highlighted(found["hits"][0]) == ["sunflowers", "beans"]
    assert found["hits"][0]["author"] == "Renée Dupré"  # an RFC 2047 display name, decoded
    assert search(cli, "secretword")["total"] == 0 and search(cli, "color")["total"] == 0
    assert ids(search(cli, "Renée")) == ["html@example.com"]


def test_phrases_exclusions_and_alternatives(cli):
    assert ids(search(cli, '"tomato seeds"')) == ["seeds@example.com"]
    assert search(cli, '"seeds tomato"')["total"] == 0
    assert ids(search(cli, "compost -worms")) == ["compost@example.com"]
    assert set(ids(search(cli, "worms OR heirlooms"))) == {"reply@example.com", "seeds@example.com"}
    assert search(cli, "worms heirlooms")["total"] == 0
    assert search(cli, "gardening")["total"] >= 2  # stemmed: "Gardening" in two posts


def test_a_body_line_that_begins_with_from_is_indexed_as_written(cli):
    [hit] = search(cli, "mulch")["hits"]
    assert "From the archive at 10:30 we learned to " in "".join(p["text"] for p in hit["snippet"])


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_is_an_error(cli, query):
    found = search(cli, query)
    assert found["total"] in (0, 1, 2) and len(found["hits"]) == found["total"]


def test_an_empty_query_or_only_exclusions_finds_nothing_and_says_so(cli):
    assert cli("archive", "search", "corpus", "   ") == "no posts match '   '\n"
    assert search(cli, "-compost")["total"] == 0


def test_pages_of_hits_share_one_total(cli):
    first = search(cli, "compost OR heirlooms OR mulch", "--limit", "2")
    second = search(cli, "compost OR heirlooms OR mulch", "--limit", "2", "--offset", "2")
    assert first["total"] == second["total"] == 4 and len(first["hits"]) == 2 and len(second["hits"]) == 2
    assert set(ids(first)) | set(ids(second)) == {"compost@example.com", "reply@example.com", "seeds@example.com",
                                                   "from-line@example.com"}  # fmt: skip
    assert "no more hits (4 in all)" in cli("archive", "search", "corpus", "compost OR heirlooms OR mulch",
                                            "--offset", "10")  # fmt: skip


def test_an_unknown_list_is_one_line(cli):
    assert cli("archive", "search", "nosuch", "compost", code=1) == "Error: no list nosuch@lists.example.test\n"


def test_beyond_the_rank_limit_hits_come_newest_first(cli, monkeypatch):
    monkeypatch.setattr(search_store, "RANKED", 3)  # as if these four hits were two very common words' thousands
    found = search(cli, "compost OR heirlooms OR mulch")
    assert found["total"] == 4
    assert ids(found) == ["from-line@example.com", "reply@example.com", "compost@example.com", "seeds@example.com"]


def test_counting_stops_at_the_cap_and_says_there_are_more(cli, monkeypatch):
    monkeypatch.setattr(search_store, "COUNTED", 3)
    found = search(cli, "compost OR heirlooms OR mulch")
    assert (found["total"], found["more"], len(found["hits"])) == (3, True, 4)
    assert cli("archive", "search", "corpus", "compost OR heirlooms OR mulch").startswith("more than 3 posts match")
