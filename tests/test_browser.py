"""The browser the page tests use really renders: text, layout width and an image."""

from __future__ import annotations

import base64
from pathlib import Path

from support.browser import PHONE, Browser

# a 1x1 PNG
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_a_page_renders_at_phone_width(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "pixel.png").write_bytes(PIXEL)
    page = tmp_path / "page.html"
    page.write_text('<meta name="viewport" content="width=device-width"><p>Hello readers</p><img src="pixel.png">')
    browser.open(page.as_uri(), PHONE)
    assert "Hello readers" in browser.text()
    assert browser.images_loaded()
    assert not browser.overflows()
    page.write_text('<meta name="viewport" content="width=device-width"><pre>' + "x" * 400 + "</pre>")
    browser.open(page.as_uri(), PHONE)
    assert browser.overflows()
