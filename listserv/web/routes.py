"""The route table: one line per page. Handlers take the Site and the request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from listserv.web import archive, library, search
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
    ("GET", "/{list}/search", search.search),
    ("GET", "/{list}/feed.atom", search.list_feed),
    ("GET", "/{list}/d/{id}/feed.atom", search.discussion_feed),
    ("GET", "/{list}/library", library.library),
)


def add_routes(app: web.Application, site: Site) -> None:
    for method, path, page in ROUTES:
        if method == "GET":
            app.router.add_get(path, partial(page, site))  # and HEAD
        else:
            app.router.add_route(method, path, partial(page, site))
