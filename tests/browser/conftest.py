"""Browser-test fixtures: the app on a live server that only talks to loopback, in Chromium.

The app runs under pytest-django's ``live_server`` and calls the sandbox over HTTP; Chromium
(see the root conftest) drives the real pages.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from conftest import CARD_NUMBER
from tests.support.helpers import PHOTO, PHOTO_URL

# Anything that is not this machine: the browser must not reach out (closed network, no CDN).
_NOT_LOOPBACK = re.compile(r"^https?://(?!(?:127\.0\.0\.1|localhost)(?::\d+)?/)")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def site(live_server, sandbox_server, sandbox, team, page: Page, settings):
    """The app on a live server, the team's card with a photo the browser can load, a closed network."""
    settings.PUBLIC_URL = live_server.url  # links in emails lead to this server
    sandbox.set_card(CARD_NUMBER, image_url=f"{sandbox_server.url}/cdn/contact-card/acme.svg")
    page.route(_NOT_LOOPBACK, lambda route: route.abort("internetdisconnected"))
    page.route(PHOTO_URL, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=PHOTO))
    page.set_default_timeout(10_000)
    # The pages send a strict Content-Security-Policy: anything it blocks is a bug in our pages.
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield live_server
    assert violations == [], violations
