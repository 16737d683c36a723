"""Labels and tags from a dashboard selection, in a real browser: tick, see the count, tag them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import PhoneNumber
from tests.support.helpers import sign_in

pytestmark = pytest.mark.browser


def test_tick_numbers_see_the_count_and_tag_them_from_the_selection(site, alice, page: Page):
    sign_in(page, site.url, "alice")
    count = page.locator("#selection-count")
    bulk = page.get_by_role("button", name="Bulk edit the selected numbers")
    labels = page.get_by_role("button", name="Set labels and tags")
    expect(bulk).to_be_disabled()  # nothing ticked yet
    expect(labels).to_be_disabled()
    page.get_by_label(f"Select {CARD_NUMBER}").check()
    expect(count).to_have_text("1 selected")
    expect(labels).to_be_enabled()
    page.get_by_label(f"Select {EMPTY_NUMBER}").check()
    expect(count).to_have_text("2 selected")
    labels.click()

    expect(page.get_by_role("heading", name="Labels and tags of 2 numbers")).to_be_visible()
    page.get_by_label("Add tags").fill("night shift")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-counts")).to_contain_text("Tag “night shift” added to 2 numbers")
    assert not PhoneNumber.objects.filter(tags__name="night shift").exists()  # a preview changes nothing
    page.get_by_role("button", name="Apply: change 2 numbers").click()

    expect(page.get_by_text("Labels and tags saved: 2 numbers changed.")).to_be_visible()
    expect(page.get_by_label(f"Select {CARD_NUMBER}")).to_be_checked()  # back with the same selection
    expect(page.get_by_label(f"Select {EMPTY_NUMBER}")).to_be_checked()
    expect(count).to_have_text("2 selected")
    tagged = PhoneNumber.objects.filter(tags__name="night shift").values_list("e164", flat=True)
    assert sorted(tagged) == [CARD_NUMBER, EMPTY_NUMBER]
    page.get_by_label(f"Select {CARD_NUMBER}").uncheck()
    page.get_by_label(f"Select {EMPTY_NUMBER}").uncheck()
    expect(count).to_have_text("")
    expect(bulk).to_be_disabled()
