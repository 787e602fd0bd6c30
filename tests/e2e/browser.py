"""Headless Chromium helper for the end-to-end (real browser) tests.

Uses the Debian ``chromium`` / ``chromium-driver`` packages. Selenium is
always given an explicit chromedriver path and browser binary, so Selenium
Manager never tries to download anything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from selenium.webdriver.remote.webdriver import WebDriver

CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # Containers often have a tiny /dev/shm; Debian's launcher only adds this
    # itself when its (fragile) free-space check works.
    "--disable-dev-shm-usage",
)

PAGE_LOAD_TIMEOUT_S = 30


def _find_exe(name: str) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    candidate = os.path.join("/usr/bin", name)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return None


def find_chromium() -> tuple[str, str] | None:
    """Return ``(chromium_path, chromedriver_path)``, or None if either is missing."""
    chromium = _find_exe("chromium")
    driver = _find_exe("chromedriver")
    if chromium is None or driver is None:
        return None
    return chromium, driver


@contextlib.contextmanager
def headless_chrome(width: int = 1400, height: int = 1000) -> Iterator[WebDriver]:
    """Yield a headless Chromium selenium webdriver; always quit it afterwards.

    Raises RuntimeError if Chromium/chromedriver are not installed and
    ImportError if selenium is not installed.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("Chromium/chromedriver not installed: apt-get install chromium chromium-driver")
    chromium, chromedriver = found

    with tempfile.TemporaryDirectory(prefix="chaossim-chrome-", ignore_cleanup_errors=True) as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in CHROME_ARGS:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")

        service = Service(executable_path=chromedriver)
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
            yield driver
        finally:
            driver.quit()
