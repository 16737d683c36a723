"""One message per problem (issue 26): a 429 says to wait once, a refused photo link says why once, and a refused
save keeps the "Current card at Linq" box. Counted on what a person sees: visible elements, at 1280 and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from tests.support.helpers import card_url, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)

# The innermost visible elements whose own text matches: each is one message a person reads.
_SAYING = """(pattern) => {
    const re = new RegExp(pattern);
    const visible = el => el.offsetParent !== null && !el.closest('.visually-hidden');
    return [...document.querySelectorAll('main *')]
        .filter(el => visible(el) && re.test(el.textContent)
                && ![...el.children].some(child => re.test(child.textContent)))
        .map(el => el.textContent.replace(/\\s+/g, ' ').trim());
}"""


def saying(page: Page, pattern: str) -> list[str]:
    return page.evaluate(_SAYING, pattern)


def open_card(page: Page, site, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "bob")
    page.goto(card_url(site.url))
    page.get_by_label("First name").wait_for()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_429_says_to_wait_once(site, bob, sandbox, page: Page, width):
    open_card(page, site, width)
    sandbox.add_fault({"kind": "error", "status": 429, "retry_after": 120, "methods": ["PATCH"], "times": 1})
    page.get_by_label("First name").fill("Too soon")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_label("First name")).to_have_value("Too soon")
    expect(page.locator("#save-button")).to_be_disabled()
    waits = saying(page, r"[Ww]ait|[Tt]ry again in|Saving is off until|next change is possible")
    assert len(waits) == 1, waits
    expect(page.locator("#budget")).to_contain_text("Your change was not sent")
    expect(page.locator("#budget")).to_contain_text("HTTP 429")  # the facts for support stay
    expect(page.locator("main")).not_to_contain_text("Internal server error")
    expect(page.get_by_text("Current card at Linq")).to_be_visible()
    screenshot(page, f"card-429-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_photo_link_says_why_once(site, bob, sandbox, page: Page, trap, width):
    open_card(page, site, width)
    page.get_by_label("Photo link").fill(f"https://{trap.host}:{trap.port}/x.png")
    expect(page.locator("#photo-check")).to_contain_text("not a public one")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#id_image_url_error")).to_contain_text("no write was spent")
    said = saying(page, "not a public one")
    assert len(said) == 1, said
    expect(page.get_by_text("Current card at Linq")).to_be_visible()
    assert sandbox.writes_for(CARD_NUMBER) == []
    screenshot(page, f"card-photo-refused-{width}")


def test_a_refused_save_keeps_the_current_card(site, bob, sandbox, page: Page):
    open_card(page, site, 1280)
    sandbox.add_fault({"kind": "error", "status": 400, "code": 1005, "methods": ["PATCH"], "times": 1})
    page.get_by_label("Last name").fill("Refused")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#error-summary")).to_contain_text("Linq refused the change.")
    status = page.locator(".card-status")
    expect(status).to_contain_text("Current card at Linq")
    expect(status).to_contain_text(re.compile(r"Acme\s+Support"))  # what Linq still has
