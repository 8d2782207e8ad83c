"""The route table: one line per page. Handlers take the Site and the request.

Places kept for the capabilities built beside the archive (one line each when they land):
    GET /{list}/search?q=            listserv.archive.search  (full text)
    GET /{list}/feed.atom            listserv.archive.feed    (Atom, the list)
    GET /{list}/d/{id}/feed.atom     listserv.archive.feed    (Atom, one discussion)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from listserv.web import archive, library
from listserv.web.site import Site
from listserv.web.unsubscribe import unsubscribe_now, unsubscribe_page

Page = Callable[[Site, web.Request], Awaitable[web.StreamResponse]]
ROUTES: tuple[tuple[str, str, Page], ...] = (
    ("GET", "/unsubscribe/{list_id}/{token}", unsubscribe_page),
    ("POST", "/unsubscribe/{list_id}/{token}", unsubscribe_now),
    ("GET", "/{list}", archive.to_index),
    ("GET", "/{list}/", archive.index),
    ("GET", "/{list}/page/{n}", archive.index),
    ("GET", "/{list}/d/{id}", archive.discussion),
    ("GET", "/{list}/m/{token}", archive.post),
    ("GET", "/{list}/a/{token}/{n}/{name}", archive.attachment),
    ("GET", "/{list}/archive.css", archive.style),
    ("POST", "/{list}/access", archive.ask_for_link),
    # ("GET", "/{list}/search", search.page),                 # D2: full-text search, ?q=
    # ("GET", "/{list}/feed.atom", feed.list_feed),           # D2: Atom, the list
    # ("GET", "/{list}/d/{id}/feed.atom", feed.discussion_feed),  # D2: Atom, one discussion
    ("GET", "/{list}/library", library.library),
)


def add_routes(app: web.Application, site: Site) -> None:
    for method, path, page in ROUTES:
        if method == "GET":
            app.router.add_get(path, partial(page, site))  # and HEAD
        else:
            app.router.add_route(method, path, partial(page, site))
