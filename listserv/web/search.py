"""GET /LIST/search?q= (full text), /LIST/feed.atom and /LIST/d/ID/feed.atom, with the archive's access."""

from __future__ import annotations

from aiohttp import web

from listserv.archive import pages
from listserv.archive.feed import render_feed
from listserv.archive.feed_store import load_discussion_feed, load_list_feed
from listserv.archive.search_index import catch_up
from listserv.archive.search_store import search_posts
from listserv.mail.message import ListInfo
from listserv.web.archive import page_with_access
from listserv.web.site import Site

PER_PAGE = 20
MAX_OFFSET = 10_000  # searches count at most this many hits (archive/search.py)


async def search(site: Site, request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "")[:200]
    start = request.query.get("from", "0")
    offset = min(int(start), MAX_OFFSET) if start.isdigit() else 0

    def render(lst: ListInfo, link: pages.Linker) -> str:
        catch_up(site.work, lst.id)  # posts stored since the archive-index job last ran
        with site.work.sessions() as session:
            found = search_posts(session, lst.id, query, limit=PER_PAGE, offset=offset)
        return pages.render_search(site.work.templates, lst, found, link, PER_PAGE)

    return await page_with_access(site, request, render)


async def list_feed(site: Site, request: web.Request) -> web.StreamResponse:
    def render(lst: ListInfo, link: pages.Linker) -> str:
        with site.work.sessions() as session:
            return render_feed(load_list_feed(session, lst, site.work.settings.public_url)).decode("utf-8")

    return _atom(await page_with_access(site, request, render))


async def discussion_feed(site: Site, request: web.Request) -> web.StreamResponse:
    ident = request.match_info["id"]
    if not ident.isdigit() or len(ident) > 12:
        raise web.HTTPNotFound()

    def render(lst: ListInfo, link: pages.Linker) -> str | None:
        with site.work.sessions() as session:
            feed = load_discussion_feed(session, lst, int(ident), site.work.settings.public_url)
        return render_feed(feed).decode("utf-8") if feed else None

    return _atom(await page_with_access(site, request, render))


def _atom(response: web.StreamResponse) -> web.StreamResponse:
    if response.status == 200:
        response.content_type = "application/atom+xml"
    return response
