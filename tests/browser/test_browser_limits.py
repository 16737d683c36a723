"""Write safety in a real browser: a double click sends one PATCH, the wait counts down, conflicts read well.

Uses the browser package's ``site`` fixture (live server, sandbox, closed network).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import card_url, screenshot, sign_in

pytestmark = pytest.mark.browser


def open_card(page: Page, site, username: str) -> None:
    sign_in(page, site.url, username)
    page.goto(card_url(site.url))
    page.get_by_label("First name").wait_for()


def test_a_double_click_on_save_sends_one_patch(site, bob, sandbox, page: Page):
    sandbox.add_fault({"kind": "latency", "seconds": 0.4, "methods": ["PATCH"]})  # a slow Linq invites clicks
    open_card(page, site, "bob")
    page.get_by_label("First name").fill("Clicked twice")
    page.locator("#save-button").dblclick()
    expect(page.get_by_label("First name")).to_have_value("Clicked twice")
    page.wait_for_load_state("load")
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Clicked twice"}]


def test_save_is_off_while_the_budget_is_spent_and_comes_back_on(site, bob, team, page: Page):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    for _ in range(3):
        AuditEntry.objects.create(team=team, number=number, user=bob, action="update", outcome="success")
    page.clock.install()  # the page's clock is ours to move: nothing here waits for real time
    open_card(page, site, "bob")
    save = page.locator("#save-button")
    expect(save).to_be_disabled()
    reason = page.locator("#save-closed")
    expect(reason).to_contain_text("Saving is off until")
    expect(reason).to_contain_text("this number has used its 3 Linq writes")
    expect(reason).to_have_text(re.compile(r"\(in (\d+ min( \d+ s)?|\d+ s)\)"))  # one format: "9 min 55 s"
    countdown = page.locator("[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^in (\d+ min( \d+ s)?|\d+ s)$"))
    screenshot(page, "card-budget-spent")
    page.clock.run_for("01:00")
    expect(countdown).to_have_text(re.compile(r"^in \d+ min( \d+ s)?$"))
    expect(save).to_be_disabled()
    page.clock.run_for("10:00")
    expect(countdown).to_have_text("now: you can save again")
    expect(save).to_be_enabled()
    expect(reason).to_be_hidden()


def test_the_conflict_view(site, bob, sandbox, page: Page):
    open_card(page, site, "bob")
    sandbox.set_card(CARD_NUMBER, first_name="Remote")
    page.get_by_label("First name").fill("Mine")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Someone else changed this card at Linq")).to_be_visible()
    screenshot(page, "card-conflict")
    page.get_by_role("button", name="Save my version").click()
    expect(page.get_by_text("Saved. Linq updated: first name.")).to_be_visible()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Mine"}]


def test_retry_now_after_2022(site, bob, sandbox, page: Page):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    open_card(page, site, "bob")
    page.get_by_label("Last name").fill("Retried")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Linq could not complete the change to this card.")).to_be_visible()
    expect(page.get_by_text("could not complete the card setup")).to_have_count(0)  # an edit is not a setup
    screenshot(page, "card-retry-2022")
    page.get_by_role("button", name="Retry now").click()
    expect(page.get_by_text("Saved. Linq updated: last name.")).to_be_visible()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Retried"}] * 2
