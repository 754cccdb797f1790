"""Helpers for the console's browser tests (the browser itself: tests/browser.py)."""

from pathlib import Path

from tests.browser import DESKTOP, PHONE, artifacts_dir

__all__ = ["DESKTOP", "PHONE", "no_horizontal_scroll", "shot", "sign_in_with_password"]

PASSWORD = "correct-horse-battery-staple"


def shot(page, name: str, *, doc: str | None = None) -> Path:
    """A full-page screenshot in test-artifacts/console/ for a person to look at; with `doc`,
    also the first screenful as doc-<doc>.png: what README's docs/screenshots/ are copied from."""
    directory = artifacts_dir("console")
    path = directory / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if doc:
        page.screenshot(path=directory / f"doc-{doc}.png")
    return path


def sign_in_with_password(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
