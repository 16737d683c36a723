"""Tables with real data wrap at word boundaries (issue 26): in the History, a job's items and the conflict
table, at 1280 and 390 px, no word is split over two lines, and a phone number stays on one line in tabular
figures. Only links (``.wrap``) may break inside, being one long word.

Each word of each text node is measured as the browser laid it out: a Range over the word, its client rects;
a word on more than one line was broken inside.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import BASE_TIME, make_entry, screenshot, sign_in
from tests.support.rollout_helpers import many_numbers, numbers, start_bulk

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)

# Words split over lines inside ``selector`` (links in .wrap excepted), and phone numbers (.tel) not in tabular
# figures or on more than one line.
_BROKEN = """(selector) => {
    const lines = (range) => new Set([...range.getClientRects()].filter(r => r.width > 0)
                                      .map(r => Math.round(r.top))).size;
    const broken = [];
    for (const root of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest('.wrap')) continue;
            for (const word of node.textContent.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                if (lines(range) > 1) broken.push(word[0]);
            }
        }
    }
    const numbers = [...document.querySelectorAll(selector + ' .tel')];
    const spread = numbers.filter(el => { const r = document.createRange(); r.selectNodeContents(el);
                                          return lines(r) > 1; }).map(el => el.textContent);
    const figures = numbers.filter(el => getComputedStyle(el).fontVariantNumeric !== 'tabular-nums').length;
    return {broken, spread, figures, checked: numbers.length,
            page: document.documentElement.scrollWidth, screen: window.innerWidth};
}"""


def words_in(page: Page, selector: str) -> dict:
    # Laid out with its stylesheets: text can be on the page before they arrive (a busy machine), and unstyled it is
    # wider than a phone.
    page.wait_for_load_state("load")
    found = page.evaluate(_BROKEN, selector)
    assert found["page"] <= found["screen"], found  # and nothing made the page wider than the screen
    return found


@pytest.fixture
def real_data(team, alice):
    """History rows with the words that used to break: "Acme Finance", "Support", "Subscription", numbers."""
    PhoneNumber.objects.create(team=team, e164="+15550100003", label="Acme Finance Subscription")
    long_line = PhoneNumber.objects.get(e164="+15550100003")
    card = PhoneNumber.objects.get(e164=CARD_NUMBER)
    for i, number in enumerate((long_line, card, long_line)):
        make_entry(team, number=number, user=alice, at=BASE_TIME + timedelta(minutes=i),
                   changes={"first_name": ["Acme Finance", "Subscription Support"],
                            "last_name": ["Sales EMEA", "Customer Subscription Services"],
                            "image_url": ["", "https://cdn.example.com/contact-card/" + "x" * 60 + ".png"]})
    make_entry(team, user=alice, at=BASE_TIME + timedelta(minutes=5), action=AuditEntry.Action.NUMBER_ADD,
               changes={}, request_body={}, subject="+15550100003", http_status=None)


@pytest.mark.parametrize("width", WIDTHS)
def test_history_words_and_numbers_stay_whole(site, alice, real_data, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/history/")
    expect(page.locator("table.history > tbody > tr")).to_have_count(4)
    found = words_in(page, "table.history")
    assert found["broken"] == [] and found["spread"] == [] and found["figures"] == 0, found
    assert found["checked"] == 4  # the Number cells are measured
    screenshot(page, f"history-words-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_job_items_words_stay_whole(site, alice, team, sandbox, page: Page, width):
    many_numbers(team, sandbox, 3)
    job = start_bulk(team, alice, [numbers(i) for i in range(3)],
                     {"first_name": "Acme Finance", "last_name": "Customer Subscription Support Services"})
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path=f"/t/acme/jobs/{job.pk}/")
    expect(page.locator("#job-items")).to_contain_text("Subscription")
    found = words_in(page, "#job-items")
    assert found["broken"] == [], found


@pytest.mark.parametrize("width", WIDTHS)
def test_conflict_table_words_stay_whole(site, bob, sandbox, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "bob")
    page.goto(f"{site.url}/t/acme/numbers/{CARD_NUMBER}/")
    sandbox.set_card(CARD_NUMBER, first_name="Sales EMEA", last_name="Subscription Support")
    page.get_by_label("First name").fill("Acme Finance")
    page.get_by_label("Last name").fill("Customer Subscription Services")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".conflict-table")).to_contain_text("Sales EMEA")
    screenshot(page, f"conflict-words-{width}")
    found = words_in(page, ".conflict-table")
    assert found["broken"] == [], found
    screenshot(page, f"conflict-words-{width}")
