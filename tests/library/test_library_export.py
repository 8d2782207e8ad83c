"""The library page, its exports (Markdown, HTML, JSON) and the command line's curation."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser

from listserv.mail.permalinks import permalink_path
from support.digest_helpers import LIST, World
from support.library import ANN, BOB, CAT, resources

HOSTILE = 'Read this <script>alert(1)</script> "now" https://example.org/x?a=<b>\n'


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.links += [v or "" for k, v in attrs if k == "href"]
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def community(world: World, cli: Callable[..., str]) -> None:
    world.post(ANN, "Guides", "The best onboarding guide: https://example.org/onboard\n", "<g1@x>")
    world.post(BOB, "Hostile", HOSTILE, "<h1@x>")
    world.post(CAT, "Papers", "Wenger's paper doi:10.1234/cop.1 explains it.\n", "<p1@x>")
    world.settle()
    cli("resource", "tag", LIST, "https://example.org/onboard", "onboarding", "#Guides")
    cli("resource", "tag", LIST, "doi:10.1234/cop.1", "research")


def test_the_page_groups_by_tag_ranks_and_links_back_escaped(world: World, cli: Callable[..., str]) -> None:
    community(world, cli)
    cli("list", "set", LIST, "archive_url", "https://lists.example.test/team/")
    page = cli("resource", "export", LIST, "--format", "html")
    parsed = Page()
    parsed.feed(page)
    assert parsed.scripts == 0 and "&lt;script&gt;" in page
    assert parsed.headings == ["guides", "onboarding", "research", "untagged"]
    assert "https://lists.example.test" + permalink_path("team", "g1@x") in parsed.links
    assert "https://doi.org/10.1234/cop.1" in parsed.links


def test_markdown_and_json_exports(world: World, cli: Callable[..., str]) -> None:
    community(world, cli)
    markdown = cli("resource", "export", LIST, "--format", "md")
    assert markdown.startswith("# Team: the library\n")
    assert "- [https://example.org/onboard](<https://example.org/onboard>)" in markdown
    assert "\\<script\\>" in markdown and "<script>" not in markdown
    data = json.loads(cli("resource", "export", LIST, "--format", "json"))
    assert data["list"] == LIST and len(data["resources"]) == 3
    assert {r["kind"] for r in data["resources"]} == {"link", "doi"}


def test_cli_add_rm_and_anonymise(world: World, cli: Callable[..., str]) -> None:
    community(world, cli)
    assert "added: #" in cli("resource", "add", LIST, "ISBN 978-0-306-40615-7", "--by", CAT, "--note", "A classic")
    assert "already in the library" in cli("resource", "add", LIST, "https://example.org/onboard?utm_source=a",
                                           "--by", CAT)  # fmt: skip
    cli("resource", "add", LIST, "not a link", "--by", CAT, code=1)
    books = [r for r in resources(cli) if r["kind"] == "isbn"]
    assert books[0]["description"] == "A classic"
    assert "removed" in cli("resource", "rm", LIST, str(books[0]["id"]))
    cli("resource", "rm", LIST, str(books[0]["id"]), code=1)
    assert "anonymised 3 library entries" in cli("resource", "anonymise", LIST, CAT)
    by = {s["by"] for r in resources(cli) for s in r["shares"]}  # type: ignore[attr-defined]
    assert CAT not in by and "a former member" in by and ANN in by
