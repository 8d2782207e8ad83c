"""The archive on the web: GET /LIST/ (index), /LIST/page/N, /LIST/d/ID, /LIST/m/TOKEN (a post's
permalink), /LIST/a/TOKEN/N/NAME (an attachment), /LIST/archive.css; POST /LIST/access (mail me a link).

Pages render in a thread (database and parsing); access is checked on every request (archive/access.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from listserv.archive import pages
from listserv.archive.access import AccessCheck, Verdict, check_access, mail_link
from listserv.archive.links import epoch, key_expiry
from listserv.archive.mailview import attachment_data
from listserv.archive.store import load_archived_list, load_discussion, load_index_page, load_post
from listserv.mail.message import ListInfo
from listserv.render import DEFAULT_TEMPLATES
from listserv.web.site import Site

PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
DOWNLOAD_CSP = "default-src 'none'; sandbox"
COOKIE = "listserv-archive-{}"
Render = Callable[[ListInfo, pages.Linker], "str | None"]


def _depth(request: web.Request) -> int:
    return max(0, request.path.count("/") - 2)


def html_page(text: str, status: int = 200, private: bool = False, csp: str = PAGE_CSP) -> web.Response:
    response = web.Response(status=status, text=text, content_type="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


def _opened(site: Site, name: str, key: str | None) -> tuple[ListInfo | None, AccessCheck]:
    with site.work.sessions() as session:
        lst = load_archived_list(session, name)
        if lst is None:
            return None, AccessCheck(Verdict.OFF)
        return lst, check_access(site.work, session, lst, key, site.work.now())


async def page_with_access(site: Site, request: web.Request, render: Render) -> web.StreamResponse:
    """Check access, then render in a thread; a ?key= is traded for a cookie and a redirect."""
    name = request.match_info["list"]
    offered = request.query.get("key")
    key = offered or request.cookies.get(COOKIE.format(name))
    lst, check = await asyncio.to_thread(_opened, site, name, key)
    link = pages.Linker(_depth(request))
    if lst is None or check.verdict is Verdict.OFF:
        raise web.HTTPNotFound()
    if check.verdict is not Verdict.OPEN:
        page = pages.render_denied(site.work.templates, lst, check.verdict.value, link)
        return html_page(page, 403, private=True)
    if offered:
        return _keep_key(site, request, name, offered)
    text = await asyncio.to_thread(render, lst, link)
    if text is None:
        raise web.HTTPNotFound()
    return html_page(text, private=check.email != "")


def _keep_key(site: Site, request: web.Request, name: str, key: str) -> web.Response:
    prefix = urlsplit(site.work.settings.public_url).path.rstrip("/")
    response = web.Response(status=303, headers={"Location": prefix + request.path})
    expires = key_expiry(key) - epoch(site.work.now())
    response.set_cookie(COOKIE.format(name), key, max_age=max(60, expires), path=f"{prefix}/{name}/",
                        httponly=True, samesite="Lax",
                        secure=site.work.settings.public_url.startswith("https:"))  # fmt: skip
    return response


async def index(site: Site, request: web.Request) -> web.StreamResponse:
    number = request.match_info.get("n", "1")
    if not number.isdigit() or not 0 < int(number) < 10**6:
        raise web.HTTPNotFound()

    def render(lst: ListInfo, link: pages.Linker) -> str | None:
        with site.work.sessions() as session:
            page = load_index_page(session, lst.id, int(number))
        if page.page > page.pages:
            return None
        return pages.render_index(site.work.templates, lst, page, link)

    return await page_with_access(site, request, render)


async def to_index(site: Site, request: web.Request) -> web.StreamResponse:
    prefix = urlsplit(site.work.settings.public_url).path.rstrip("/")
    raise web.HTTPMovedPermanently(location=f"{prefix}{request.path}/")


async def discussion(site: Site, request: web.Request) -> web.StreamResponse:
    ident = request.match_info["id"]
    if not ident.isdigit() or len(ident) > 12:
        raise web.HTTPNotFound()

    def render(lst: ListInfo, link: pages.Linker) -> str | None:
        with site.work.sessions() as session:
            found = load_discussion(session, lst.id, int(ident))
        return pages.render_discussion(site.work.templates, lst, *found, link) if found else None

    return await page_with_access(site, request, render)


async def post(site: Site, request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]

    def render(lst: ListInfo, link: pages.Linker) -> str | None:
        with site.work.sessions() as session:
            found = load_post(session, lst.id, token)
        return pages.render_post(site.work.templates, lst, found, token, link) if found else None

    return await page_with_access(site, request, render)


async def attachment(site: Site, request: web.Request) -> web.StreamResponse:
    token, number = request.match_info["token"], request.match_info["n"]
    found: list[tuple[str, bytes]] = []

    def render(lst: ListInfo, link: pages.Linker) -> str | None:
        with site.work.sessions() as session:
            stored = load_post(session, lst.id, token)
        data = attachment_data(stored.raw, int(number)) if stored and number.isdigit() else None
        if data is None:
            return None
        found.append((data[0].filename, data[1]))
        return ""

    response = await page_with_access(site, request, render)
    if not found:
        return response  # the access answer
    filename, body = found[0]
    download = web.Response(body=body, content_type="application/octet-stream")
    download.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    download.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    download.headers["Cache-Control"] = response.headers["Cache-Control"]
    return download


async def style(site: Site, request: web.Request) -> web.StreamResponse:
    own = Path(site.work.settings.templates_dir or "/nonexistent") / "archive.css"
    path = own if own.is_file() else DEFAULT_TEMPLATES / "archive.css"
    response = web.Response(text=await asyncio.to_thread(path.read_text, "utf-8"), content_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def ask_for_link(site: Site, request: web.Request) -> web.StreamResponse:
    name = request.match_info["list"]
    form = await request.post()
    email = str(form.get("email", ""))[:254]

    def send() -> ListInfo | None:
        with site.work.sessions() as session, session.begin():
            lst = load_archived_list(session, name)
            if lst is not None and mail_link(site.work, session, lst, email, site.work.now()):
                site.on_change()
            return lst

    lst = await asyncio.to_thread(send)
    if lst is None or lst.archive_access != "members":
        raise web.HTTPNotFound()
    return html_page(pages.render_denied(site.work.templates, lst, "sent", pages.Linker(_depth(request))), private=True)
