"""Fixtures for the end-to-end browser tests."""

from __future__ import annotations

import importlib.util

import pytest

from .browser import find_chromium, headless_chrome

NO_CHROMIUM = (
    "Chromium/chromedriver not installed: apt-get install chromium chromium-driver (done by .ci/run)"
)
NO_SELENIUM = "selenium not installed: pip install selenium (part of the [test] extra)"


@pytest.fixture
def browser():
    """A headless Chromium selenium webdriver, quit after the test."""
    if importlib.util.find_spec("selenium") is None:
        pytest.skip(NO_SELENIUM)
    if find_chromium() is None:
        pytest.skip(NO_CHROMIUM)
    with headless_chrome() as driver:
        yield driver
