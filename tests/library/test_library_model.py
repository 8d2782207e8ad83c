"""Ranking, tag groups and the week's picks (pure), and the footer line that names LIST-library+REF."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from listserv.library.model import Entry, Library, by_tag, clean_tags, ranked, this_week
from listserv.mail.message import ListInfo
from listserv.render import Templates

NOW = datetime(2026, 12, 6, 12, 0)


def entry(number: int, tags: tuple[str, ...] = (), plus: int = 0, days: int = 0, outdated: bool = False) -> Entry:
    at = NOW - timedelta(days=days)
    return Entry(number, "link", f"https://example.org/{number}", "", "", "", tags, plus, outdated, (), at, at)


def test_ranked_by_recommendations_then_recency_outdated_last() -> None:
    entries = [
        entry(1, plus=0, days=1),
        entry(2, plus=3, days=9),
        entry(3, plus=0, days=0),
        entry(4, plus=9, outdated=True),
    ]
    assert [e.id for e in ranked(entries)] == [2, 3, 1, 4]


def test_groups_by_tag_with_the_untagged_last() -> None:
    library = Library("team@x.test", "Team", ranked([entry(1, ("b", "a")), entry(2, ("a",), plus=1), entry(3)]))
    assert [(g.tag, [e.id for e in g.entries]) for g in by_tag(library)] == [
        ("a", [2, 1]),
        ("b", [1]),
        ("untagged", [3]),
    ]
    assert [g.tag for g in by_tag(library, "b")] == ["b"]


def test_the_weeks_new_and_most_recommended() -> None:
    library = Library("team@x.test", "Team", ranked([entry(1, days=2), entry(2, plus=2, days=30), entry(3, days=8),
                                                     entry(4, plus=1, days=1, outdated=True)]))  # fmt: skip
    new, top = this_week(library, NOW - timedelta(days=7), NOW)
    assert [e.id for e in new] == [1] and [e.id for e in top] == [2]


def test_tags_are_cleaned() -> None:
    assert clean_tags(["#Onboarding", "how-to", "a b!", "onboarding", "#"]) == ("onboarding", "how-to", "ab")


def test_the_footer_names_the_posts_library_address_only_when_given() -> None:
    templates, lst = Templates(), ListInfo(1, "team@lists.example.test", "Team")
    plain = templates.render_footer(lst)
    assert "Library" not in plain.text and "Library" not in plain.html
    ref = "team-library+abc@lists.example.test"
    footer = templates.render_footer(replace(lst, library_address=ref))
    assert f"Library: mailto:{ref}?subject=add" in footer.text
    assert footer.text.startswith(plain.text.rstrip("\n"))
    assert f'href="mailto:{ref}?subject=add"' in footer.html
