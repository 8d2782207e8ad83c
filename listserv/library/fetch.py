"""Fetch a page's head for its title: http(s) only, public addresses only (unless the
library_fetch_private setting says otherwise), one deadline, a size cap, a few redirects.

The host is resolved once and every address checked; the connection goes to the checked
address (the name is kept for Host and TLS), so DNS cannot swap in a private one after the check.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_BYTES = 256 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "listserv-library/1 (+title fetch)"


class FetchError(Exception):
    """Why a page was not fetched (one line for the log)."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    html: str


def checked_address(host: str, port: int, allow_private: bool) -> str:
    """An address of host that is public (or any, when allowed); FetchError otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise FetchError(f"cannot resolve {host}: {error}") from error
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not allow_private and not ip.is_global:
            raise FetchError(f"{host} is a private or local address ({ip})")
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    return addresses[0]


class PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand, with the host's name for SNI and the certificate."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_page(url: str, timeout: float, allow_private: bool = False) -> Page:
    """The page at url (text/html, at most MAX_BYTES read), following up to MAX_REDIRECTS redirects."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError("timed out")
        response, connection = request(url, left, allow_private)
        try:
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status != 200:
                raise FetchError(f"HTTP {response.status}")
            kind = response.getheader("Content-Type", "")
            if "html" not in kind.lower():
                raise FetchError(f"not a web page ({kind or 'no content type'})")
            body = response.read(MAX_BYTES)
            charset = response.headers.get_content_charset() or "utf-8"
            return Page(url, body.decode(charset if charset.isascii() else "utf-8", "replace"))
        finally:
            connection.close()
    raise FetchError("too many redirects")


def request(
    url: str, timeout: float, allow_private: bool
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url[:100]}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = checked_address(parts.hostname, port, allow_private)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = PinnedHTTPS(address, parts.hostname, port, timeout)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Host": parts.netloc.rpartition("@")[2], "User-Agent": USER_AGENT,
                                                 "Accept": "text/html"})  # fmt: skip
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        connection.close()
        raise FetchError(f"{type(error).__name__}: {error}") from error
