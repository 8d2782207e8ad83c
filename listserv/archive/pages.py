"""The archive's pages as HTML (templates/archive-*.html.j2), the same for the web and a static build.

Links are relative, so a page works wherever it is served: on the web a page's URL has no
suffix; in a static build it ends in .html (`Linker.suffix`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from listserv.archive.mailview import Attachment, MailView, view_message
from listserv.archive.search import SearchPage
from listserv.archive.store import FoundPost, IndexPage, ShownPost
from listserv.discussions.admin import Summary
from listserv.mail.message import ListInfo, Role
from listserv.mail.permalinks import post_token
from listserv.render import Templates

MAX_DEPTH = 6  # deeper replies are drawn at this indent (the text says whom they answer)


@dataclass(frozen=True)
class Linker:
    depth: int  # folders between the page and the list's archive root
    suffix: str = ""  # "" on the web, ".html" in a static build

    @property
    def root(self) -> str:
        return "../" * self.depth

    def index(self, page: int = 1) -> str:
        if page == 1:
            return (self.root or "./") if not self.suffix else self.root + "index.html"
        return f"{self.root}page/{page}{self.suffix}"

    def discussion(self, discussion_id: int) -> str:
        return f"{self.root}d/{discussion_id}{self.suffix}"

    def post(self, token: str) -> str:
        return f"{self.root}m/{token}{self.suffix}"

    def attachment(self, token: str, attachment: Attachment) -> str:
        return f"{self.root}a/{token}/{attachment.index}/{attachment.filename}"

    def css(self) -> str:
        return f"{self.root}archive.css"

    def access(self) -> str:
        return f"{self.root}access"


@dataclass(frozen=True)
class PostItem:
    view: MailView
    token: str
    date: datetime | None
    depth: int
    parent_token: str | None


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _base(lst: ListInfo, link: Linker) -> dict[str, object]:
    return dict(list=lst, link=link, when=when, request=lst.service(Role.REQUEST))


def render_index(templates: Templates, lst: ListInfo, page: IndexPage, link: Linker) -> str:
    return templates.render("archive-index.html.j2", page=page, **_base(lst, link))


def post_items(posts: list[ShownPost]) -> list[PostItem]:
    tokens = {post.entry.line.message_id: post.token for post in posts}
    return [PostItem(view_message(post.raw), post.token, post.entry.date, min(post.entry.line.depth, MAX_DEPTH),
                     tokens.get(post.entry.line.parent_id or "")) for post in posts]  # fmt: skip


def render_discussion(templates: Templates, lst: ListInfo, summary: Summary, posts: list[ShownPost],
                      link: Linker, items: list[PostItem] | None = None) -> str:  # fmt: skip
    items = post_items(posts) if items is None else items
    authors = {item.token: item.view.author for item in items}
    return templates.render("archive-discussion.html.j2", summary=summary, items=items, authors=authors,
                            **_base(lst, link))  # fmt: skip


def render_post(templates: Templates, lst: ListInfo, found: FoundPost, token: str, link: Linker) -> str:
    item = PostItem(view_message(found.raw), token, found.date, 0, None)
    return render_post_item(templates, lst, item, found.discussion_id, found.subject, link)


def render_post_item(templates: Templates, lst: ListInfo, item: PostItem, discussion_id: int, discussion_subject: str,
                     link: Linker) -> str:  # fmt: skip
    single = PostItem(item.view, item.token, item.date, 0, None)
    return templates.render("archive-post.html.j2", item=single, discussion_id=discussion_id,
                            discussion_subject=discussion_subject, **_base(lst, link))  # fmt: skip


def render_denied(templates: Templates, lst: ListInfo, reason: str, link: Linker) -> str:
    """reason: expired | invalid | needed | sent"""
    return templates.render("archive-denied.html.j2", reason=reason, **_base(lst, link))


def render_search(templates: Templates, lst: ListInfo, page: SearchPage, link: Linker, per_page: int) -> str:
    """The results of a search, each a snippet (plain pieces, the matches marked) linking to its post."""
    tokens = {hit.message_id: post_token(hit.message_id.strip("<>")) for hit in page.hits}
    return templates.render("archive-search.html.j2", page=page, tokens=tokens, per_page=per_page, **_base(lst, link))
