"""The history's number filter in a real browser: type part of a label, pick a suggestion, see that number's
history; a number that is not the team's is refused inline with the other filters kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import PhoneNumber
from tests.support.helpers import BASE_TIME, make_entry, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def history(team, alice, bob):
    numbers = {n.e164: n for n in PhoneNumber.objects.filter(team=team)}
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=f"+1555300{i:04d}", label=f"Night line {i}")
                                     for i in range(30)])
    return {
        "card": make_entry(team, number=numbers[CARD_NUMBER], user=alice, at=BASE_TIME,
                           changes={"last_name": ["Old", "Support"]}),
        "empty": make_entry(team, number=numbers[EMPTY_NUMBER], user=bob, at=BASE_TIME + timedelta(days=1),
                            changes={"first_name": ["", "Zebra"]}),
    }


def test_type_pick_a_suggestion_and_see_that_numbers_history(site, history, page: Page):
    sign_in(page, site.url, "alice", next_path="/t/acme/history/")
    rows = page.locator("table.history > tbody > tr")
    expect(rows).to_have_count(2)

    field = page.get_by_role("combobox", name="Number")
    field.press_sequentially("sup")
    options = page.get_by_role("listbox", name="Numbers of this team").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text(CARD_NUMBER)
    expect(options.first).to_contain_text("Support")
    options.first.click()
    expect(field).to_have_value(CARD_NUMBER)
    expect(page.get_by_role("listbox", name="Numbers of this team")).to_be_hidden()
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"[?&]number=%2B15550001001"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(CARD_NUMBER)
    expect(page.locator("#number_hint")).to_contain_text(f"{CARD_NUMBER} Support")
    screenshot(page, "history-number-filter")


def test_the_keyboard_picks_a_suggestion_and_at_most_twenty_are_shown(site, history, page: Page):
    sign_in(page, site.url, "alice", next_path="/t/acme/history/")
    field = page.get_by_role("combobox", name="Number")
    field.press_sequentially("night")
    expect(page.get_by_role("listbox", name="Numbers of this team").get_by_role("option")).to_have_count(20)
    screenshot(page, "history-number-suggestions")
    field.press("ArrowDown")
    field.press("ArrowDown")
    field.press("Enter")  # picks the second, does not submit
    expect(field).to_have_value("+15553000001")
    field.press("Enter")  # now submits the form
    expect(page).to_have_url(re.compile(r"[?&]number=%2B15553000001"))
    expect(page.get_by_text("No entries match.")).to_be_visible()


def test_a_number_that_is_not_the_teams_is_refused_inline(site, history, page: Page):
    sign_in(page, site.url, "alice", next_path="/t/acme/history/")
    page.get_by_label("Outcome").select_option("success")
    field = page.get_by_role("combobox", name="Number")
    field.fill("+15550009999")
    expect(page.get_by_text("No number of this team matches.")).to_be_visible()
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("That number is not one of this team's numbers.")).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("+15550009999")
    expect(page.get_by_label("Outcome")).to_have_value("success")  # the other filters are kept


@pytest.mark.parametrize("width", [390, 1280])
def test_restore_reads_as_a_card_page_and_the_history_marks_it(site, bob, sandbox, page: Page, width):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    version = make_entry(number.team, number=number, user=bob, at=BASE_TIME,
                         changes={"last_name": ["Support", "Sales EMEA"]})
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "bob")
    page.goto(f"{site.url}/t/acme/history/{version.pk}/restore/")
    box = page.locator("section.card-box")
    expect(box.locator("#restore-what")).to_contain_text("The whole card comes back as it was after the change of")
    expect(box.locator("#restore-what time")).to_have_attribute("datetime", re.compile(r"^2026-06-01T"))
    expect(page.locator("#restore-diff")).to_contain_text("Last name")
    expect(page.locator("main")).not_to_contain_text("last_name")
    expect(page.locator("main")).not_to_contain_text("entry 1")
    screenshot(page, f"restore-{width}")
    page.get_by_role("button", name="Restore this version").click()
    expect(page.get_by_text("The card is back as it was on")).to_be_visible()
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Sales EMEA"
    page.goto(f"{site.url}/t/acme/history/")
    newest = page.locator("table.history > tbody > tr").first
    expect(newest.locator(".restored")).to_contain_text("Restore of 2026-06-01")
