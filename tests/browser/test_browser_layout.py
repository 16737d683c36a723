"""Every page at phone width (390 px) and desktop width (1280 px): nothing wider than the screen,
no table that needs sideways scrolling, a header of at most two lines; dark mode follows the system.

The screenshots (``bin/screenshots``) of the phone-width pages, the dark card page and the preview
come from here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import make_entry, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
PAGES = {
    "dashboard": "/t/acme/",
    "card": f"/t/acme/numbers/{CARD_NUMBER}/",
    "card-setup": f"/t/acme/numbers/{EMPTY_NUMBER}/",
    "history": "/t/acme/history/",
    "number-history": f"/t/acme/numbers/{CARD_NUMBER}/history/",
    "entry": "/t/acme/history/{entry}/",
    "settings": "/t/acme/settings/",
    "photos": "/t/acme/photos/",
    "home": "/",
}


@pytest.fixture
def history(team, alice):
    """A few entries with long values, the kind that used to push the Changes column off a phone."""
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    make_entry(team, number=number, user=alice, changes={"first_name": ["Acme", "Acme Customer Support Team"],
                                                          "image_url": ["", "https://cdn.example.com/" + "x" * 80]})
    return make_entry(team, number=number, user=alice, outcome=AuditEntry.Outcome.API_ERROR, http_status=500,
                      linq_code=2022, error_message="Contact card setup failed. Please retry.",
                      trace_id="0123456789abcdef0123456789abcdef")


def overflow(page: Page) -> dict:
    return page.evaluate("""() => {
        const doc = document.documentElement;
        const scrolling = [...document.querySelectorAll('main table, main pre, main .table')]
            .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.className || el.tagName);
        return {page: doc.scrollWidth, screen: window.innerWidth, scrolling,
                header: document.querySelector('header').getBoundingClientRect().height};
    }""")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES.keys())
def test_no_page_is_wider_than_the_screen(site, alice, history, page: Page, width, name):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice")
    page.goto(site.url + PAGES[name].format(entry=history.pk))
    page.wait_for_load_state("load")
    found = overflow(page)
    assert found["page"] <= found["screen"], found
    assert found["scrolling"] == [], found
    assert found["header"] <= 96, found  # two lines at most, even on a phone
    if width == 390 and name in ("dashboard", "history", "card"):
        screenshot(page, f"phone-{name}")


def test_sign_in_page_fits_a_phone(live_server, page: Page):
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(f"{live_server.url}/accounts/login/")
    found = overflow(page)
    assert found["page"] <= found["screen"], found


def test_phone_history_rows_show_changes_and_outcome(site, alice, history, page: Page):
    page.set_viewport_size({"width": 390, "height": 860})
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/history/")
    row = page.locator("table.history > tbody > tr").first
    for label in ("Changes", "Outcome"):
        cell = row.locator(f"td[data-label='{label}']")
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
    expect(row).to_contain_text("First name")  # human field names, not first_name


def test_dark_mode_follows_the_system(site, alice, page: Page):
    page.emulate_media(color_scheme="dark")
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/numbers/{CARD_NUMBER}/")
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    text = page.evaluate("getComputedStyle(document.documentElement).color")
    assert background == "rgb(20, 23, 28)" and text == "rgb(230, 233, 239)"
    field = page.evaluate("getComputedStyle(document.querySelector('#id_first_name')).backgroundColor")
    assert field != "rgb(255, 255, 255)"  # no white boxes left on a dark page
    screenshot(page, "card-dark")
    page.set_viewport_size({"width": 390, "height": 860})
    page.goto(f"{site.url}/t/acme/")
    screenshot(page, "phone-dashboard-dark")


def test_the_preview_reads_like_the_messages_card(site, alice, page: Page):
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/numbers/{CARD_NUMBER}/")
    preview = page.locator("#card-preview")
    expect(preview.locator("#preview-name")).to_have_text("Acme Support")
    expect(preview).to_contain_text(f"iMessage · {CARD_NUMBER}")
    page.get_by_label("First name").fill("Zoë")
    expect(preview.locator("#preview-name")).to_have_text("Zoë Support")
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:  # bin/screenshots: the preview on its own, as in the README
        preview.screenshot(path=str(Path(folder) / "card-preview.png"))
