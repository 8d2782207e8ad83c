"""Page titles, fetched by the library-titles job from a real local web server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from listserv.library.fetch import FetchError, fetch_page
from listserv.library.titles import run_titles
from support.digest_helpers import LIST, World
from support.library import ANN, BOB, resources

PAGES = {
    "/guide": "<html><head><title>The  Onboarding\n Guide &amp; more</title></head><body><title>no</title></body>",
    "/alias": '<html><head><link rel="canonical" href="/guide"><title>Guide (print)</title></head></html>',
    "/new": '<html><head><link rel="canonical" href="/article"><title>An article</title></head></html>',
    "/moved-here": "<title>Moved guide</title>",
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.partition("?")[0]
        if path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/moved-here")
            self.end_headers()
        elif path == "/slow":
            time.sleep(3)
        elif path == "/paper.pdf":
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.end_headers()
            self.wfile.write(b"%PDF")
        elif path in PAGES:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGES[path].encode())
        else:
            self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_titles_redirects_and_canonical_links(world: World, cli: Callable[..., str], web: str) -> None:
    cli("list", "set", LIST, "library_fetch_titles", "yes")
    world.post(ANN, "Links", f"Guide {web}/guide?utm_source=x and {web}/moved and {web}/new and "
               f"{web}/slow and {web}/paper.pdf and {web}/missing here.\n", "<l1@x>")  # fmt: skip
    world.post(BOB, "Print", f"The print version: {web}/alias is handy.\n", "<l2@x>")
    assert run_titles(world.work) == 7
    assert run_titles(world.work) == 0  # each is fetched once
    found = {r["url"]: r for r in resources(cli)}
    assert found[f"{web}/guide"]["title"] == "The Onboarding Guide & more"
    assert [s["by"] for s in found[f"{web}/guide"]["shares"]] == [ANN, BOB]  # type: ignore[union-attr]
    assert f"{web}/alias" not in found  # the same page: merged into the guide
    assert found[f"{web}/moved"]["title"] == "Moved guide"
    assert found[f"{web}/article"]["title"] == "An article"  # moved to its canonical address
    assert {found[f"{web}/{p}"]["title"] for p in ("slow", "paper.pdf", "missing")} == {""}


def test_no_fetching_unless_the_list_allows_it(world: World, cli: Callable[..., str], web: str) -> None:
    world.post(ANN, "Links", f"Guide {web}/guide here.\n", "<n1@x>")
    assert run_titles(world.work) == 0
    assert resources(cli)[0]["title"] == ""


def test_private_addresses_and_other_schemes_are_refused(web: str) -> None:
    with pytest.raises(FetchError, match="private or local address"):
        fetch_page(f"{web}/guide", 1.0)
    with pytest.raises(FetchError, match="not an http"):
        fetch_page("file:///etc/passwd", 1.0, allow_private=True)
    assert fetch_page(f"{web}/guide", 1.0, allow_private=True).html.startswith("<html>")
