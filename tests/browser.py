"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright (never a
browser Playwright downloads). One browser per test session; each test opens its own context.
Screenshots go to test-artifacts/<name>/ (gitignored) for a person to look at."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def artifacts_dir(name: str) -> Path:
    path = Path(settings.BASE_DIR) / "test-artifacts" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
