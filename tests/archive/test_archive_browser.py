"""The archive's pages in headless chromium at desktop and phone widths: they read without
scripts, fit the screen, and carry the structure a screen reader needs."""

from __future__ import annotations

import pytest

from support.archive import start_archive_engine
from support.browser import DESKTOP, PHONE
from support.conversation import send, settle

TEAM = "team@lists.example.test"
LONG_LINE = "https://example.org/" + "a-very-long-unbroken-path-segment" * 8


@pytest.fixture
def archive(settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    running = start_archive_engine(settings, clock)
    first = send(running.lmtp, "Alice Example <alice@example.com>", TEAM, "Seed swap in spring",
                 f"Who brings tomatoes?\nSee {LONG_LINE}\n", mail_from="alice@example.com")  # fmt: skip
    reply = send(running.lmtp, "bob@example.com", TEAM, "Re: Seed swap in spring",
                 "I will.\n\nAlice wrote:\n> Who brings tomatoes?\n", extra=f"In-Reply-To: {first}\r\n")  # fmt: skip
    send(running.lmtp, "alice@example.com", TEAM, "Re: Seed swap in spring", "Thanks!\n",
         extra=f"In-Reply-To: {reply}\r\nReferences: {first} {reply}\r\n")  # fmt: skip
    settle(settings)
    yield running
    running.stop()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_archive_pages_read_well_at_desktop_and_phone_widths(archive, browser, size):
    host, port = archive.service.web.address
    browser.open(f"http://{host}:{port}/team/", size)
    assert "Seed swap in spring" in browser.text() and "3 posts, 2 participants" in browser.text()
    assert browser.run("return document.documentElement.lang") == "en"
    assert browser.run("return document.querySelectorAll('main, header nav, footer, h1').length") == 4
    assert browser.run("return getComputedStyle(document.body).fontFamily").startswith("system-ui")  # our CSS loaded
    assert not browser.overflows()

    browser.run("document.querySelector('ol.discussions a').click()")
    assert browser.run("return location.pathname") == "/team/d/1"
    text = browser.text()
    assert text.index("Who brings tomatoes?") < text.index("I will.") < text.index("Thanks!")
    assert "Quoted text (2 lines)" in text and "> Who brings tomatoes?" not in text  # folded until opened
    assert browser.run("return document.querySelectorAll('article h2').length") == 3
    assert browser.run("return document.querySelectorAll('article.depth-2').length") == 1
    assert not browser.overflows()
    browser.run("document.querySelector('details summary').click()")
    assert "> Who brings tomatoes?" in browser.text()

    browser.run("document.querySelector('article a[href^=\"../m/\"]').click()")
    assert browser.run("return location.pathname").startswith("/team/m/")
    assert "Who brings tomatoes?" in browser.text() and "Alice Example" in browser.text()
    assert not browser.overflows()
