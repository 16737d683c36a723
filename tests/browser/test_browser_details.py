"""Issue 26's details in Chromium at 1280 and 390 px: the dashboard's selection count and actions, its photos and
filters at phone width, which numbers use each library photo, and the webhooks page's main button."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import Photo, SentPhoto
from tests.support.helpers import screenshot, sign_in

pytestmark = pytest.mark.browser
WIDTHS = [1280, 390]


@pytest.mark.parametrize("width", WIDTHS)
def test_ticking_numbers_shows_a_count_and_the_actions_are_off_with_none(site, alice, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/")
    bulk = page.get_by_role("button", name="Bulk edit the selected numbers")
    labels = page.get_by_role("button", name="Set labels and tags")
    count = page.locator("#selection-count")
    expect(bulk).to_be_disabled()
    expect(labels).to_be_disabled()
    expect(count).to_have_text("")

    page.get_by_label(f"Select {CARD_NUMBER}").check()
    expect(count).to_have_text("1 selected")
    expect(bulk).to_be_enabled()
    expect(labels).to_be_enabled()
    page.get_by_label(f"Select {EMPTY_NUMBER}").check()
    expect(count).to_have_text("2 selected")
    page.get_by_label(f"Select {CARD_NUMBER}").uncheck()
    page.get_by_label(f"Select {EMPTY_NUMBER}").uncheck()
    expect(count).to_have_text("")
    expect(bulk).to_be_disabled()


# Every filter's label on the same line as its box, right before it.
_FILTERS = """() => [...document.querySelectorAll('.toolbar label:not(.visually-hidden)')].map(label => {
    const box = document.getElementById(label.htmlFor).getBoundingClientRect();
    const own = label.getBoundingClientRect();
    const middle = own.top + own.height / 2;
    return {label: label.textContent, sameLine: middle > box.top && middle < box.bottom,
            gap: Math.round(box.left - own.right)};
})"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_photo_stays_and_filter_labels_sit_with_their_boxes(site, alice, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/")
    page.get_by_role("button", name="Refresh from Linq").click()  # the dashboard shows the cards it has read
    row = page.locator("#numbers tbody tr").filter(has=page.get_by_role("link", name=CARD_NUMBER))
    photo = row.locator("td.thumb img")
    expect(photo).to_be_visible()
    box, row_box = photo.bounding_box(), row.bounding_box()
    assert box and row_box and box["width"] >= 30 and box["x"] + box["width"] <= width
    assert row_box["x"] <= box["x"] and box["x"] + box["width"] <= row_box["x"] + row_box["width"] + 0.5
    # it loaded (waited for: the image arrives after the page's load event when the machine is busy)
    page.wait_for_function("() => { const img = document.querySelector('#numbers td.thumb img');"
                           " return img.complete && img.naturalWidth > 0; }")
    filters = page.evaluate(_FILTERS)
    assert [f["label"] for f in filters] == ["Status", "Sort by"]
    assert all(f["sameLine"] and 0 <= f["gap"] <= 10 for f in filters), filters
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    screenshot(page, f"dashboard-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_photo_library_says_which_numbers_use_each_photo(site, alice, team, sandbox, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/")
    page.get_by_role("button", name="Refresh from Linq").click()  # the mirror: what each card shows now
    expect(page.locator("#numbers td.thumb img")).to_have_count(1)
    shown = sandbox.cards[CARD_NUMBER]["image_url"]
    used = Photo.objects.create(team=team, source=Photo.Source.UPLOAD, url="https://photos.example/a1.jpg",
                                storage_key="", sha256="a1" * 32, width=1024, height=1024, format="JPEG",
                                size_bytes=48_000, name="logo.png", created_by=alice)
    Photo.objects.create(team=team, source=Photo.Source.UPLOAD, url="https://photos.example/b2.jpg",
                         storage_key="", sha256="b2" * 32, width=1024, height=1024, format="JPEG",
                         size_bytes=51_000, name="logo.png", created_by=alice)
    # The upload a1 was sent to the number last, and Linq still shows what it made of it.
    SentPhoto.objects.create(number=team.numbers.get(e164=CARD_NUMBER), url=used.url, linq_url=shown,
                             sent_at=timezone.now(), recorded_at=timezone.now())
    page.goto(f"{site.url}/t/acme/photos/")
    tiles = page.locator(".photo-tile")
    expect(tiles).to_have_count(2)
    first = tiles.filter(has_text="#a1a1a1a1")
    second = tiles.filter(has_text="#b2b2b2b2")
    expect(first.locator(".photo-users")).to_have_text(f"On the card of {CARD_NUMBER}")
    expect(second.locator(".photo-users")).to_have_text("On no card now")
    # size, hash and when: two files both called logo.png are told apart
    expect(first).to_contain_text("1024x1024 JPEG, 46.9 KB")
    expect(second).to_contain_text("1024x1024 JPEG, 49.8 KB")
    expect(first.locator(".photo-added")).to_contain_text("uploaded")
    expect(first.locator(".photo-added")).to_contain_text("by alice")
    first.get_by_role("link", name=CARD_NUMBER).click()
    expect(page.get_by_role("heading", name="Edit card")).to_be_visible()
    page.wait_for_load_state("load")  # measured with its stylesheets
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_subscribe_again_is_not_the_main_button_while_subscribed(site, alice, page: Page, width):
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/settings/webhooks/")
    subscribe = page.locator("#subscribe")
    expect(subscribe).to_have_text("Subscribe to card events")
    expect(subscribe).to_have_class("primary")
    subscribe.click()
    expect(page.locator("#subscription-status")).to_contain_text("Subscribed")
    expect(subscribe).to_have_text("Subscribe again (new address and secret)")
    expect(subscribe).not_to_have_class("primary")
    assert page.locator("#subscription button.primary").count() == 0
