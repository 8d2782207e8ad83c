"""Archive tests: a running engine with public_url, and plain HTTP against it (no redirects followed)."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit

from listserv.settings import Settings
from support.clock import TestClock
from support.engine import RunningEngine

PUBLIC = "https://lists.example.test/listserv"


@dataclass(frozen=True)
class Page:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def links(self, pattern: str) -> list[str]:
        return re.findall(rf'href="({pattern})"', self.text)


def start_archive_engine(settings: Settings, clock: TestClock | None = None) -> RunningEngine:
    return RunningEngine(replace(settings, public_url=PUBLIC + "/"), clock).start()


def local_path(url: str) -> str:
    """A public archive URL as the TLS proxy in front passes it on (without /listserv)."""
    parts = urlsplit(url)
    return parts.path.removeprefix("/listserv") + (f"?{parts.query}" if parts.query else "")


def http_get(engine: RunningEngine, path: str, cookie: str = "", method: str = "GET",
             form: dict[str, str] | None = None) -> Page:  # fmt: skip
    host, port = engine.service.web.address
    connection = http.client.HTTPConnection(host, port, timeout=20)
    headers = {"Host": "lists.example.test"} | ({"Cookie": cookie} if cookie else {})
    body = None
    if form is not None:
        body, method = urlencode(form).encode(), "POST"
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Page(response.status, response.headers, response.read())
    finally:
        connection.close()


def cookie_of(page: Page) -> str:
    """The name=value of the Set-Cookie a response carries."""
    return page.headers["Set-Cookie"].split(";")[0]
