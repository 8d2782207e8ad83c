"""One-click unsubscribe (RFC 8058) on the web stack.

GET|HEAD /unsubscribe/LIST_ID/TOKEN   a page with a "Leave the list" button (changes nothing:
                                      link scanners and previews issue GETs)
POST     /unsubscribe/LIST_ID/TOKEN   the member leaves at once (what mail providers' one-click
                                      button does, with the body List-Unsubscribe=One-Click;
                                      the body is not needed to act and is not read)
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from aiohttp import web

from listserv.mail.message import Role
from listserv.membership.oneclick import LinkCheck, check_link, unsubscribe_by_link
from listserv.web.site import Site


def target(request: web.Request) -> tuple[int, str] | None:
    list_id, token = request.match_info["list_id"], request.match_info["token"]
    if not list_id.isdigit() or len(list_id) > 12 or not token or len(token) > 600:
        return None
    return int(list_id), token


async def unsubscribe_page(site: Site, request: web.Request) -> web.StreamResponse:
    found = target(request)
    if found is None:
        raise web.HTTPNotFound()
    check = await asyncio.to_thread(check_link, site.work, *found)
    template = "unsubscribe-confirm.html.j2" if check.was_member else "unsubscribe-done.html.j2"
    prefix = urlsplit(site.work.settings.public_url).path.rstrip("/")  # behind a proxy at https://host/lists/
    return _page(site, check, template, action=prefix + request.path)


async def unsubscribe_now(site: Site, request: web.Request) -> web.StreamResponse:
    found = target(request)
    if found is None:
        raise web.HTTPNotFound()
    check = await asyncio.to_thread(unsubscribe_by_link, site.work, *found)
    if check.was_member:
        site.on_change()  # a goodbye mail is queued
    return _page(site, check, "unsubscribe-done.html.j2")


def _page(site: Site, check: LinkCheck, template: str, **context: object) -> web.Response:
    if not check.valid or check.lst is None:
        return web.Response(status=404, text=site.work.templates.render("unsubscribe-invalid.html.j2"),
                            content_type="text/html")  # fmt: skip
    page = site.work.templates.render(template, list=check.lst, email=check.email, was_member=check.was_member,
                                      join=check.lst.service(Role.JOIN), **context)  # fmt: skip
    return web.Response(text=page, content_type="text/html")
