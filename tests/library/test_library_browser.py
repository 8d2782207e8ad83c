"""The library page in a real browser (Debian chromium): readable at desktop and phone widths,
and a hostile post's text stays text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.browser import DESKTOP, PHONE, Browser
from support.digest_helpers import LIST, World
from support.library import ANN, BOB

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> see https://example.org/' + "x" * 300


def test_the_library_page_in_a_browser(world: World, cli: Callable[..., str], browser: Browser, tmp_path: Path) -> None:
    world.post(ANN, "Guides", "The onboarding guide everyone quotes: https://example.org/onboard\n", "<g1@x>")
    world.post(BOB, "Hostile", HOSTILE + "\n", "<h1@x>")
    world.settle()
    cli("resource", "tag", LIST, "https://example.org/onboard", "onboarding")
    page = tmp_path / "library.html"
    page.write_text(cli("resource", "export", LIST, "--format", "html"), encoding="utf-8")
    for size in (DESKTOP, PHONE):
        browser.open(page.as_uri(), size)
        text = browser.text()
        assert "Team: the library" in text and "onboarding" in text and "shared by ann@example.com" in text
        assert "window.pwned=1</script><img src=x" in text  # shown as text, not run
        assert browser.run("return window.pwned") is None
        assert not browser.overflows(), size
