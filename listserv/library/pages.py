"""What a fetched page says about itself: its <title> and its <link rel=canonical>. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

MAX_TITLE = 300


@dataclass(frozen=True)
class PageFacts:
    title: str
    canonical: str  # absolute, "" when the page names none


class Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.canonical = ""
        self.in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "title" and not self.title:
            self.in_title = True
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and not self.canonical:
            self.canonical = values.get("href", "").strip()
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title and not self.done:
            self.title.append(data)


def page_facts(html: str, base_url: str) -> PageFacts:
    head = Head()
    head.feed(html)
    title = " ".join("".join(head.title).split())[:MAX_TITLE]
    canonical = urljoin(base_url, head.canonical) if head.canonical else ""
    return PageFacts(title, canonical if canonical.startswith(("http://", "https://")) else "")
