"""GET /LIST/library: the list's resource library (library/render.py), read with the archive's access."""

from __future__ import annotations

from aiohttp import web

from listserv.archive import pages
from listserv.library.render import render_library_page
from listserv.library.store import load_library
from listserv.mail.message import ListInfo
from listserv.web.archive import PAGE_CSP, page_with_access
from listserv.web.site import Site

# the library page carries its own small style sheet inline; scripts stay forbidden
LIBRARY_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'unsafe-inline'")


async def library(site: Site, request: web.Request) -> web.StreamResponse:
    tag = request.query.get("tag", "")[:100]

    def render(lst: ListInfo, link: pages.Linker) -> str:
        with site.work.sessions() as session:
            shelf = load_library(session, lst.id)
        return render_library_page(shelf, site.work.templates, base_url=site.work.settings.public_url, tag=tag)

    response = await page_with_access(site, request, render)
    if response.status == 200:
        response.headers["Content-Security-Policy"] = LIBRARY_CSP
    return response
