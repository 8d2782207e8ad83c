"""The weekly report as its readers see it: the HTML part in a real browser (the inline chart
served as a file), at desktop and phone widths, and the plain-text part through w3m."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from email.message import Message
from pathlib import Path

import pytest

from support.browser import DESKTOP, PHONE, Browser
from support.digest_helpers import World, text_of
from support.engagement import a_community_with_someone_ready, the_report


def html_with_files(report: Message, folder: Path) -> Path:
    """The report's HTML with each cid: reference rewritten to a file holding that part (test only)."""
    html = text_of(report, "html")
    for part in report.walk():
        content_id = str(part.get("Content-ID", "")).strip("<>")
        payload = part.get_payload(decode=True)
        if content_id and isinstance(payload, bytes):
            image = folder / f"{content_id.partition('@')[0]}.png"
            image.write_bytes(payload)
            html = html.replace(f"cid:{content_id}", image.as_uri())
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    return page


@pytest.fixture
def report(world: World, cli: Callable[..., str]) -> Message:
    a_community_with_someone_ready(world, cli)
    return the_report(world)


def test_the_report_renders_in_a_browser_with_its_chart_at_desktop_and_phone_widths(
    report: Message, browser: Browser, tmp_path: Path
) -> None:
    page = html_with_files(report, tmp_path)
    assert "cid:" not in page.read_text(encoding="utf-8")
    for size in (DESKTOP, PHONE):
        browser.open(page.as_uri(), size)
        shown = browser.text()
        assert "Members by stage" in shown and "5 development" in shown
        assert "fay@example.com" in shown and "Ready to co-facilitate" in shown
        assert browser.run("return document.images.length") == 1
        assert browser.images_loaded()  # every image complete with naturalWidth > 0
        assert browser.run("return document.images[0].naturalWidth") == 640
        assert not browser.overflows(), f"horizontal scrolling at {size[0]} px"
    assert browser.run("return document.images[0].getBoundingClientRect().width") <= PHONE[0]


def test_the_report_reads_as_plain_text_in_w3m_and_in_its_text_part(report: Message, tmp_path: Path) -> None:
    page = html_with_files(report, tmp_path)
    dumped = subprocess.run(["w3m", "-dump", "-T", "text/html", "-cols", "80", str(page)], capture_output=True,
                            text=True, check=True, timeout=30).stdout  # fmt: skip
    assert "Members by stage" in dumped and "fay@example.com" in dumped
    assert "Ready to co-facilitate" in dumped and "invite N" in dumped
    text = text_of(report)
    assert "Members by stage (7 in all)" in text and "nudge N" in text
    assert "<" not in text.replace("<=", "")  # no markup leaks into the text part
    assert [line for line in text.splitlines() if len(line) > 78] == []
