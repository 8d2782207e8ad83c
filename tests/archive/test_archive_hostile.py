"""Hostile mail in the archive: HTML parts full of XSS-cheat-sheet payloads, posted through LMTP,
must not run in a reader's browser (checked in headless chromium) nor reach the page as markup."""

from __future__ import annotations

import base64
import re
from email.utils import make_msgid

import pytest

from listserv.mail.permalinks import post_token
from support.archive import http_get, start_archive_engine
from support.browser import DESKTOP, PHONE
from support.conversation import settle
from support.mail import lmtp_send

TEAM = "team@lists.example.test"
RUN = "window.pwned=1;document.title='pwned'"
PAYLOADS = (
    f"<script>{RUN}</script>",
    f'<img src=x onerror="{RUN}">',
    f'<svg onload="{RUN}"><circle r=5></circle></svg>',
    f'<body onload="{RUN}">',
    f'<a href="javascript:{RUN}" id=js>click</a>',
    f'<a href="JaVaScRiPt:{RUN}">mixed case</a>',
    f'<iframe srcdoc="<script>parent.{RUN}</script>"></iframe>',
    f'<iframe src="data:text/html;base64,{base64.b64encode(RUN.encode()).decode()}"></iframe>',
    f'<object data="javascript:{RUN}"></object><embed src="javascript:{RUN}">',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{RUN}"></style></mglyph></table></mtext></math>',
    f'<noscript><p title="</noscript><img src=x onerror={RUN}>"></noscript>',
    f'<form action="javascript:{RUN}"><button formaction="javascript:{RUN}">go</button></form>',
    f'<details open ontoggle="{RUN}">x</details>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    '<base href="https://evil.example/">',
    "<style>@import url(https://evil.example/x.css); body { background: url(https://evil.example/t.png) }</style>",
    '<p style="background:url(https://evil.example/track.png)">styled</p>',
    '<img src="https://evil.example/track.png" alt="tracker">',
    f'<div onmouseover="{RUN}" onclick="{RUN}">hover me</div>',
    f'<a href="data:text/html,<script>{RUN}</script>">data link</a>',
    f"<scr<script>ipt>{RUN}</scr</script>ipt>",
    f"<textarea></textarea><script>{RUN}</script>",
    f'<!--<img src="--><img src=x onerror={RUN}//">',
)
FORBIDDEN = re.compile(r"<script|<iframe|<object|<embed|<svg|<math|<meta|<base|<style|<form|<img|\son\w+\s*=|"
                       r"javascript:|evil\.example|data:text", re.IGNORECASE)  # fmt: skip


def hostile_post(sender: str) -> tuple[bytes, str]:
    msgid = make_msgid(domain="example.com")
    html = "<html><body><p>Welcome to my post.</p>" + "\n".join(PAYLOADS) + "<p>The end.</p></body></html>"
    raw = (f"From: Mallory <{sender}>\r\nTo: {TEAM}\r\nSubject: <script>{RUN}</script> Resources\r\n"
           f"Message-ID: {msgid}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
           f"Content-Transfer-Encoding: base64\r\n\r\n{base64.encodebytes(html.encode()).decode()}\r\n"
           "--b1\r\nContent-Type: text/html; name=\"x.html\"\r\nContent-Disposition: attachment; "
           f"filename=\"../../evil <b>.html\"\r\n\r\n<script>{RUN}</script>\r\n--b1--\r\n")  # fmt: skip
    return raw.encode(), msgid.strip("<>")


@pytest.fixture
def hostile(settings, make_list, clock):
    make_list("team", members=["mallory@example.com"], archive_access="public")
    running = start_archive_engine(settings, clock)
    raw, msgid = hostile_post("mallory@example.com")
    assert lmtp_send(running.lmtp, "mallory@example.com", [TEAM], raw)[TEAM].startswith("250")
    settle(settings)
    yield running, msgid
    running.stop()


def test_hostile_html_reaches_the_page_only_as_harmless_text(hostile):
    running, msgid = hostile
    page = http_get(running, "/team/m/" + post_token(msgid))
    assert page.status == 200 and "Welcome to my post." in page.text and "The end." in page.text
    body = page.text.split('<main id="main">', 1)[1]
    assert FORBIDDEN.findall(body.replace(f"&lt;script&gt;{RUN.replace(chr(39), '&#39;')}&lt;/script&gt;", "")) == []
    assert "&lt;script&gt;" in page.text  # the subject, shown as text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")

    (download,) = re.findall(r'href="(\.\./a/[^"]+)"', page.text)
    assert "evil_b_.html" in download and "/../" not in download.removeprefix("../")
    attachment = http_get(running, "/team/" + download.removeprefix("../"))
    assert attachment.status == 200 and attachment.headers["Content-Type"] == "application/octet-stream"
    assert attachment.headers["Content-Disposition"].startswith("attachment;")
    assert attachment.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in attachment.headers["Content-Security-Policy"]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_hostile_html_runs_no_code_in_a_real_browser(hostile, browser, size):
    running, msgid = hostile
    host, port = running.service.web.address
    for path in ("/team/m/" + post_token(msgid), "/team/", "/team/d/1"):
        browser.open(f"http://{host}:{port}{path}", size)
        assert browser.run("return window.pwned === undefined && document.title !== 'pwned'")  # as the payloads set it
        assert browser.run("return document.querySelectorAll('script, iframe, object, embed, img').length") == 0
        assert not browser.overflows(), path
    browser.open(f"http://{host}:{port}/team/m/{post_token(msgid)}", size)
    assert "Welcome to my post." in browser.text() and "hover me" in browser.text()
    browser.run("document.querySelectorAll('a, div, details').forEach(e => { try { e.click() } catch (x) {} })")
    assert browser.run("return window.pwned === undefined")
