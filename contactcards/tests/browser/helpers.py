"""Browser-test helpers: one way to sign in, page addresses, screenshots.

``SCREENSHOTS_DIR`` (set by ``bin/screenshots``) makes the tests save full-page PNGs of the
pages they look at; the README shows them.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

from conftest import CARD_NUMBER, PASSWORD

# A tiny photo the tests serve for one made-up https host, to preview a link that loads.
PHOTO_URL = "https://photos.example.test/acme-new.svg"
PHOTO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" rx="48" '
    b'fill="#e0803a"/><circle cx="48" cy="38" r="16" fill="#fff"/><path d="M20 82c4-18 52-18 56 0" '
    b'fill="#fff"/></svg>'
)


def sign_in(page: Page, base_url: str, username: str, *, next_path: str = "/") -> None:
    """Sign in through the real login page."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def card_url(base_url: str, number: str = CARD_NUMBER, slug: str = "acme") -> str:
    return f"{base_url}/t/{slug}/numbers/{number}/"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page PNG when ``SCREENSHOTS_DIR`` is set (``bin/screenshots``)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
