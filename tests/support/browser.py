"""A real browser for page tests: Debian's chromium, headless, driven by Selenium through
/usr/bin/chromedriver (nothing is downloaded). Without chromium the tests skip, except in CI
(CI=true), where a missing browser is a failure: .ci/run installs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (375, 740)


def _require_browser() -> None:
    if shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER):
        return
    message = f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Browser:
    """One headless chromium; `width` sets the window to a desktop or phone width."""

    driver: object  # selenium.webdriver.Chrome (selenium has no type hints worth importing here)

    def open(self, url: str, size: tuple[int, int] = DESKTOP) -> None:
        self.driver.set_window_size(*size)  # type: ignore[attr-defined]
        self.driver.get(url)  # type: ignore[attr-defined]

    def run(self, script: str) -> object:
        return self.driver.execute_script(script)  # type: ignore[attr-defined]

    def text(self) -> str:
        return str(self.run("return document.body.innerText"))

    def overflows(self) -> bool:
        """True when the page is wider than the window (a horizontal scroll bar on a phone)."""
        return bool(self.run("return document.documentElement.scrollWidth > window.innerWidth + 1"))

    def images_loaded(self) -> bool:
        return bool(self.run("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
