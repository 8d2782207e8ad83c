"""Digest -> the message a reader in one delivery mode receives (jinja2 templates in templates/)."""

from __future__ import annotations

from collections.abc import Sequence

from listserv.digest.mime import build_mime_digest, build_plain_digest, build_summary
from listserv.digest.model import MIME, SUMMARY, Digest, reply_address
from listserv.mail.message import ListInfo, Role
from listserv.render import Templates


def context(lst: ListInfo, digest: Digest) -> dict[str, object]:
    return dict(digest=digest, list=lst, request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER))


def render_summary(templates: Templates, lst: ListInfo, digest: Digest) -> tuple[str, str]:
    """(text, HTML) of the summary; the HTML template is autoescaped."""
    values = context(lst, digest)
    return templates.render("digest-summary.txt.j2", **values), templates.render("digest-summary.html.j2", **values)


def render_contents(templates: Templates, lst: ListInfo, digest: Digest, mode: str) -> tuple[str, str]:
    """(table of contents, end note) of a MIME or plain digest."""
    values = context(lst, digest) | dict(
        mode=mode, reply_addresses=[reply_address(lst, p.post_id) for p in digest.posts]
    )
    return templates.render("digest-contents.txt.j2", **values), templates.render("digest-end.txt.j2", **values)


def build_message(templates: Templates, lst: ListInfo, digest: Digest, mode: str, raws: Sequence[bytes]) -> bytes:
    """The bytes for one delivery mode; `raws` are the digest's posts as distributed, in order."""
    if mode == SUMMARY:
        text, html = render_summary(templates, lst, digest)
        return build_summary(lst, digest, text, html)
    contents, end = render_contents(templates, lst, digest, mode)
    build = build_mime_digest if mode == MIME else build_plain_digest
    return build(lst, digest, contents, end, raws)
