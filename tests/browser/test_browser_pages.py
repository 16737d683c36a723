"""Signing in, the keyboard alone, and phone-width layout, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, PASSWORD
from tests.support.helpers import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_sign_in(site, alice, page: Page):
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error-summary")).to_be_focused()
    screenshot(page, "login")
    assets = page.evaluate("() => [...document.querySelectorAll('link[href], script[src]')].map(e => e.href || e.src)")
    # Same origin only (no CDN, no external font): static files and the JavaScript word catalogue.
    assert assets and all(url.startswith(f"{site.url}/static/") or url == f"{site.url}/jsi18n/" for url in assets)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Acme: numbers")).to_be_visible()
    expect(page.get_by_role("link", name=CARD_NUMBER)).to_be_visible()
    screenshot(page, "dashboard")


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focus_outline(page: Page) -> str:
    return page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")


def test_editing_with_the_keyboard_alone(site, alice, sandbox, page: Page):
    page.goto(f"{site.url}/accounts/login/")
    tab_to(page, "a.skip")
    assert focus_outline(page) != "none"
    tab_to(page, "#id_auth-username")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Acme: numbers")).to_be_visible()

    tab_to(page, f'a[href$="/numbers/{CARD_NUMBER}/"]')
    assert focus_outline(page) != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Edit card")).to_be_visible()
    tab_to(page, "a.skip")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()  # the skip link jumps past the header

    tab_to(page, "#id_last_name")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Help Desk")
    expect(page.locator("#change-summary")).to_have_text("1 field will change: last name.")
    tab_to(page, "#save-button")
    assert focus_outline(page) != "none"
    page.keyboard.press("Enter")

    expect(page.get_by_text("Saved. Linq updated: last name.")).to_be_visible()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Help Desk"}]


def test_owner_tests_the_connection_on_the_settings_page(site, alice, page: Page):
    sign_in(page, site.url, "alice")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("2 numbers")).to_be_visible()
    screenshot(page, "settings")


def test_the_dashboard_shows_a_flagged_line(site, alice, sandbox, page: Page):
    """Issue 23: a line Linq flagged stands out on the dashboard, counted in the header (README screenshot)."""
    from contactcards.models import Team
    from contactcards.sync.reconcile import reconcile_team

    sandbox.set_line(CARD_NUMBER, status="FLAGGED", reputation="AT_RISK")
    reconcile_team(team=Team.objects.get(slug="acme"))  # what the refresh button does
    sign_in(page, site.url, "alice")
    expect(page.locator("#lines-attention")).to_contain_text("1 line needs attention")
    expect(page.locator("#numbers .pill-line-flagged")).to_have_text("flagged")
    screenshot(page, "dashboard-line-health")
    page.get_by_role("link", name=CARD_NUMBER).click()
    expect(page.locator("#line-health")).to_contain_text("Flagged")
    expect(page.locator("#line-doc-link")).to_have_attribute("href", "https://docs.linqapp.com/reputation/at_risk")
